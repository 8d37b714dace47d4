"""playbooks/awx_configure.yml, run as a user runs it, with every awx.awx module answered by a recorder
instead of a controller: what each task would send is checked against that module's own argument spec
(the awx.awx release the ansible package ships), and the surveys against the runbook roles' argument
specs they are made from."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.wedsync.platform.plugins.module_utils.awx_survey import SET_BY_PLAYBOOK, leave_out_reason
from unit.playbook_runs import ROOT, failures, run_playbook, task_results

PLAYBOOK = ROOT / "playbooks" / "awx_configure.yml"
INVENTORIES = ("-i", "inventories/production")
AWX = {name: yaml.safe_load((ROOT / "awx" / f"{name}.yml").read_text()) for name in ("organization", "job_templates")}
NOTIFICATIONS = yaml.safe_load((ROOT / "awx" / "notifications.yml").read_text().replace("!unsafe ", ""))
SECRET_VARIABLES = sorted(
    {
        variable
        for credential in AWX["organization"]["awx_credentials"]
        for variable in credential["inputs_from_env"].values()
    }
    | {
        variable
        for template in NOTIFICATIONS["awx_notification_templates"]
        for variable in template["configuration_from_env"].values()
    }
)
SECRETS = {variable: f"secret-of-{variable.lower()}" for variable in SECRET_VARIABLES}

# Each awx.awx module the playbook calls records the arguments it was given, templated, into a file of
# its own, instead of calling a controller; no_log hides them from the output, not from the recorder.
RECORDER = """
import json, os, uuid
from ansible.plugins.action import ActionBase

class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        record = {"module": self._task.resolved_action or self._task.action, "args": self._task.args}
        path = os.path.join(os.environ["AWX_RECORDS"], uuid.uuid4().hex + ".json")
        with open(path, "w") as out:
            json.dump(record, out)
        result["changed"] = False
        return result
"""


def awx_module(name: str) -> Any:
    return importlib.import_module(f"ansible_collections.awx.awx.plugins.modules.{name}")


class _Captured(Exception):
    def __init__(self, argument_spec: dict[str, Any], **kwargs: Any) -> None:
        super().__init__("captured")
        self.argument_spec, self.kwargs = argument_spec, kwargs


def argument_spec(name: str) -> ArgumentSpecValidator:
    """The validator the awx.awx module builds in main(), its spec and constraints, without a controller."""
    module = awx_module(name)
    base = module.ControllerAPIModule

    class Capture(base):  # type: ignore[misc,valid-type]
        def __init__(self, argument_spec: dict[str, Any], **kwargs: Any) -> None:
            raise _Captured({**base.AUTH_ARGSPEC, **argument_spec}, **kwargs)

    module.ControllerAPIModule = Capture
    try:
        module.main()
    except _Captured as captured:
        constraints = ("mutually_exclusive", "required_together", "required_one_of", "required_if", "required_by")
        return ArgumentSpecValidator(
            captured.argument_spec, **{key: captured.kwargs[key] for key in constraints if key in captured.kwargs}
        )
    finally:
        module.ControllerAPIModule = base
    raise AssertionError(f"awx.awx.{name} built no module")


@pytest.fixture(scope="module")
def recorder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    collections = tmp_path_factory.mktemp("collections")
    actions = collections / "ansible_collections" / "awx" / "awx" / "plugins" / "action"
    actions.mkdir(parents=True)
    for module in awx_modules_used():
        (actions / f"{module}.py").write_text(RECORDER)
    return collections


def awx_modules_used() -> set[str]:
    tasks = yaml.safe_load(PLAYBOOK.read_text())[0]["tasks"]
    return {key.split(".")[-1] for task in tasks for key in task if key.startswith("awx.awx.")}


def apply(recorder: Path, records: Path, *inventories: str, **env: str | None) -> dict[str, Any]:
    records.mkdir()
    return run_playbook(
        PLAYBOOK,
        *(inventories or INVENTORIES),
        env={
            "ANSIBLE_COLLECTIONS_PATH": f"{recorder}:{ROOT / '.cache' / 'collections'}",
            "AWX_RECORDS": str(records),
            **SECRETS,
            **env,
        },
    )


def sent(records: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(records.iterdir())]


@pytest.fixture(scope="module")
def applied(recorder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    records = tmp_path_factory.mktemp("applied") / "records"
    run = apply(recorder, records)
    assert failures(run, "localhost") == []
    return run, sent(records)


def test_every_object_is_what_its_awx_module_accepts(applied: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    _, calls = applied
    assert {call["module"].split(".")[-1] for call in calls} == awx_modules_used()
    validators = {name: argument_spec(name) for name in awx_modules_used()}
    problems = []
    for call in calls:
        name = call["module"].split(".")[-1]
        result = validators[name].validate(call["args"])
        problems += [f"{name} {call['args'].get('name')}: {error}" for error in result.error_messages]
    assert problems == []


def test_the_validation_refuses_what_awx_would(applied: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    """The check above can fail: a field the module does not know, or a value outside its choices."""
    _, calls = applied
    template = next(call["args"] for call in calls if call["module"].endswith("job_template"))
    validator = argument_spec("job_template")
    assert validator.validate({**template, "allow_parallel": True}).error_messages
    assert validator.validate({**template, "job_type": "deploy"}).error_messages


def job_templates(calls: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {call["args"]["name"]: call["args"] for call in calls if call["module"].endswith(".job_template")}


def role_options(role: str, entry_point: str) -> dict[str, Any]:
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"][entry_point].get("options", {})


def test_one_template_per_runbook_entry_point_each_with_its_survey(
    applied: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    """Every option a form can answer is a question of the right type, required or not as the spec says;
    every other option is left out for a stated reason: the survey cannot drift from the argument spec."""
    templates = job_templates(applied[1])
    runbook = {name: option for name, option in role_options("runbook", "main").items() if name not in SET_BY_PLAYBOOK}
    kinds = {"str": {"text", "password", "multiplechoice"}, "int": {"integer"}, "float": {"float"}}
    kinds |= {"bool": {"multiplechoice"}, "list": {"text", "multiselect"}}
    for entry in AWX["job_templates"]["awx_job_templates"]:
        template = templates[entry["name"]]
        options = {**role_options(entry["runbook"], entry["entry_point"]), **runbook}
        questions = {question["variable"]: question for question in template["survey_spec"]["spec"]}
        asked = {name for name, option in options.items() if leave_out_reason(option) is None}
        assert set(questions) == asked, entry["name"]
        assert template["survey_enabled"] is bool(questions)
        for name, question in questions.items():
            option = options[name]
            assert question["type"] in kinds[option.get("type", "str")], name
            assert question["required"] is bool(option.get("required", False)), name
            if option.get("choices"):
                assert question["choices"] == [str(choice) for choice in option["choices"]], name
            assert (question["type"] == "password") is bool(option.get("no_log")), name


def test_a_question_the_inventory_answers_defaults_to_the_inventory(
    applied: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    """A survey answer is an extra var and overrides the inventory: the form must start from production's
    canary steps (inventories/production), not the role's default of all at once."""
    deploy = job_templates(applied[1])["wedsync blue/green deploy"]
    questions = {question["variable"]: question for question in deploy["survey_spec"]["spec"]}
    production = yaml.safe_load((ROOT / "inventories/production/group_vars/all/deploy.yml").read_text())
    assert questions["blue_green_steps"]["default"] == ",".join(map(str, production["blue_green_steps"]))
    assert role_options("blue_green", "deploy")["blue_green_steps"]["default"] != production["blue_green_steps"]
    assert questions["blue_green_version"]["required"] is True
    assert "blue_green_region" not in questions  # from the inventory: an answer would override it


def test_templates_that_change_production_run_one_at_a_time(
    applied: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    templates = job_templates(applied[1])
    for entry in AWX["job_templates"]["awx_job_templates"]:
        assert templates[entry["name"]]["allow_simultaneous"] is (not entry["changes_production"]), entry["name"]
    assert any(entry["changes_production"] for entry in AWX["job_templates"]["awx_job_templates"])


def test_every_runbook_playbook_has_a_template() -> None:
    runbook_playbooks = {
        f"playbooks/{path.name}"
        for path in (ROOT / "playbooks").glob("*.yml")
        if "wedsync.platform.runbook" in path.read_text()
    }
    assert runbook_playbooks == {entry["playbook"] for entry in AWX["job_templates"]["awx_job_templates"]}


def test_secrets_reach_the_controller_and_nothing_else(applied: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    run, calls = applied
    credentials = {call["args"]["name"]: call["args"] for call in calls if call["module"].endswith(".credential")}
    for credential in AWX["organization"]["awx_credentials"]:
        inputs = credentials[credential["name"]]["inputs"]
        assert inputs == {key: SECRETS[variable] for key, variable in credential["inputs_from_env"].items()}
    output = json.dumps(run)
    assert [variable for variable, secret in SECRETS.items() if secret in output] == []


def test_a_missing_secret_is_refused_before_any_change(recorder: Path, tmp_path: Path) -> None:
    missing = SECRET_VARIABLES[0]
    run = apply(recorder, tmp_path / "records", **{missing: None})
    (message,) = failures(run, "localhost")
    assert missing in message
    assert [name for name, _ in task_results(run, "localhost") if not name.startswith("Refuse")] == []
    assert sent(tmp_path / "records") == []


def test_several_inventories_are_refused_before_any_change(recorder: Path, tmp_path: Path) -> None:
    """The group_vars/all of each would mix, and the surveys would start from another environment's values."""
    run = apply(recorder, tmp_path / "records", "-i", "inventories/production", "-i", "inventories/staging")
    (message,) = failures(run, "localhost")
    assert "inventories/staging" in message
    assert sent(tmp_path / "records") == []


def test_the_surveys_start_from_the_inventory_given(applied: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    deploy = job_templates(applied[1])["wedsync blue/green deploy"]
    questions = {question["variable"]: question for question in deploy["survey_spec"]["spec"]}
    production = yaml.safe_load((ROOT / "inventories/production/group_vars/all/deploy.yml").read_text())
    assert questions["blue_green_observe_seconds"]["default"] == production["blue_green_observe_seconds"]


def test_every_schedule_reaches_the_controller_in_utc(applied: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    schedules = {call["args"]["name"]: call["args"] for call in applied[1] if call["module"].endswith(".schedule")}
    declared = yaml.safe_load((ROOT / "awx" / "schedules.yml").read_text())["awx_schedules"]
    assert set(schedules) == {schedule["name"] for schedule in declared}
    assert all(args["rrule"].startswith("DTSTART;TZID=UTC:") and args["enabled"] for args in schedules.values())


def test_a_schedule_of_an_unknown_template_is_refused_before_any_change(recorder: Path, tmp_path: Path) -> None:
    stray = [{"name": "stray", "description": "", "job_template": "wedsync nothing", "rrule": "RRULE:FREQ=DAILY"}]
    run = apply(recorder, tmp_path / "records", *INVENTORIES, "-e", json.dumps({"awx_schedules": stray}))
    (message,) = failures(run, "localhost")
    assert "wedsync nothing" in message
    assert sent(tmp_path / "records") == []


def test_a_multiselect_defaults_to_its_choices_one_per_line(
    applied: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    """AWX validates a multiselect's default as choices separated by newlines, not as a list."""
    health = job_templates(applied[1])["wedsync deep health check"]
    questions = {question["variable"]: question for question in health["survey_spec"]["spec"]}
    fail_on = questions["health_check_fail_on"]
    assert (fail_on["type"], fail_on["default"]) == ("multiselect", "P0\nP1")
    assert set(fail_on["default"].split("\n")) <= set(fail_on["choices"])
