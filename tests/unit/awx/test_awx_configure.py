"""playbooks/awx_configure.yml (the awx_configure role), run as a user runs it, with every awx.awx module
answered by a recorder instead of a controller: what each task would send is checked against that
module's own argument spec (the awx.awx release the ansible package ships), and the surveys against the
runbook roles' argument specs they are made from."""

from __future__ import annotations

import importlib
import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import awx_controller
import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.wedsync.platform.plugins.module_utils.awx_survey import SET_BY_PLAYBOOK, leave_out_reason
from unit.playbook_runs import ROOT, failures, task_results

PLAYBOOK = ROOT / "playbooks" / "awx_configure.yml"
TASKS = ROOT / "roles" / "awx_configure" / "tasks" / "configure.yml"
INVENTORIES = ("-i", "inventories/production")
AWX = {
    name: yaml.safe_load((ROOT / "awx" / f"{name}.yml").read_text())
    for name in ("organization", "job_templates", "workflows")
}
NOTIFICATIONS = yaml.safe_load((ROOT / "awx" / "notifications.yml").read_text().replace("!unsafe ", ""))
SECRET_VARIABLES = awx_controller.secret_variables()
SECRETS = awx_controller.placeholder_secrets()


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
    return awx_controller.recorder_collections(tmp_path_factory.mktemp("collections"))


def awx_modules_used() -> set[str]:
    tasks = yaml.safe_load(TASKS.read_text())
    return {key.split(".")[-1] for task in tasks for key in task if key.startswith("awx.awx.")}


def apply(recorder: Path, records: Path, *inventories: str, **env: str | None) -> dict[str, Any]:
    return awx_controller.apply(recorder, records, *(inventories or INVENTORIES), env={**SECRETS, **env})


@pytest.fixture(scope="module")
def applied(recorder: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    records = tmp_path_factory.mktemp("applied") / "records"
    run = apply(recorder, records)
    assert failures(run, "localhost") == []
    return run, awx_controller.sent(records)


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
    template = next(call["args"] for call in calls if call["module"].endswith(".job_template"))
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
    notifications = {
        call["args"]["name"]: call["args"] for call in calls if call["module"].endswith(".notification_template")
    }
    for template in NOTIFICATIONS["awx_notification_templates"]:
        configuration = notifications[template["name"]]["notification_configuration"]
        assert {key: configuration[key] for key in template["configuration_from_env"]} == {
            key: SECRETS[variable] for key, variable in template["configuration_from_env"].items()
        }
    output = json.dumps(run)
    assert [variable for variable, secret in SECRETS.items() if secret in output] == []


def test_a_missing_secret_is_refused_before_any_change(recorder: Path, tmp_path: Path) -> None:
    missing = SECRET_VARIABLES[0]
    run = apply(recorder, tmp_path / "records", **{missing: None})
    (message,) = failures(run, "localhost")
    assert missing in message
    # Role tasks are named "<role> : <task>"; the role's input is checked, its configuration read, then refused.
    ran = [name.split(" : ")[-1] for name, _ in task_results(run, "localhost")]
    assert [
        name for name in ran if not name.startswith(("Validating arguments", "Load the configuration", "Refuse"))
    ] == []
    assert awx_controller.sent(tmp_path / "records") == []


def test_several_inventories_are_refused_before_any_change(recorder: Path, tmp_path: Path) -> None:
    """The group_vars/all of each would mix, and the surveys would start from another environment's values."""
    run = apply(recorder, tmp_path / "records", "-i", "inventories/production", "-i", "inventories/staging")
    (message,) = failures(run, "localhost")
    assert "inventories/staging" in message
    assert awx_controller.sent(tmp_path / "records") == []


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
    assert awx_controller.sent(tmp_path / "records") == []


def test_a_multiselect_defaults_to_its_choices_one_per_line(
    applied: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    """AWX validates a multiselect's default as choices separated by newlines, not as a list."""
    health = job_templates(applied[1])["wedsync deep health check"]
    questions = {question["variable"]: question for question in health["survey_spec"]["spec"]}
    fail_on = questions["health_check_fail_on"]
    assert (fail_on["type"], fail_on["default"]) == ("multiselect", "P0\nP1")
    assert set(fail_on["default"].split("\n")) <= set(fail_on["choices"])


def workflows(calls: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {call["args"]["name"]: call["args"] for call in calls if call["module"].endswith(".workflow_job_template")}


def documented_spec(options: dict[str, Any]) -> dict[str, Any]:
    """An argument spec from a module's DOCUMENTATION options, suboptions included."""
    keys = ("type", "elements", "choices", "required", "default", "aliases")
    return {
        name: {key: doc[key] for key in keys if key in doc}
        | ({"options": documented_spec(doc["suboptions"])} if "suboptions" in doc else {})
        for name, doc in options.items()
    }


def node_validator() -> ArgumentSpecValidator:
    """awx.awx.workflow_job_template checks a node only as a dict; its DOCUMENTATION says what a node may hold."""
    documentation = yaml.safe_load(awx_module("workflow_job_template").DOCUMENTATION)
    return ArgumentSpecValidator(documented_spec(documentation["options"]["workflow_nodes"]["suboptions"]))


def test_every_workflow_node_is_what_awx_awx_documents(applied: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    recorded = workflows(applied[1])
    assert set(recorded) == {workflow["name"] for workflow in AWX["workflows"]["awx_workflows"]}
    validator, problems = node_validator(), []
    for name, workflow in recorded.items():
        for node in workflow["workflow_nodes"]:
            problems += [f"{name} {node['identifier']}: {error}" for error in validator.validate(node).error_messages]
            # What the module reads by key, without a default: a node lacking it fails on the controller.
            template = node["unified_job_template"]
            assert template["name"] and template["type"] in {"job_template", "workflow_approval"}, node
            if template["type"] == "job_template":
                assert template["organization"] == {"name": workflow["organization"]}, node
    assert problems == []
    node = recorded["wedsync blue/green deploy with approval"]["workflow_nodes"][0]
    assert validator.validate({**node, "success_nodes": []}).error_messages
    assert validator.validate({**node, "unified_job_template": {"name": "x", "timeout": "4h"}}).error_messages


def approval_paths(workflow: dict[str, Any], target: str) -> list[list[dict[str, Any]]]:
    """Every path of nodes from the workflow's start to the node ``target``, as the controller received them."""
    nodes = {node["identifier"]: node for node in workflow["workflow_nodes"]}
    children = {
        identifier: [child["identifier"] for links in node["related"].values() for child in links]
        for identifier, node in nodes.items()
    }
    starts = set(nodes) - {child for linked in children.values() for child in linked}
    paths, stack = [], [[start] for start in starts]
    while stack:
        path = stack.pop()
        if path[-1] == target:
            paths.append([nodes[identifier] for identifier in path])
        stack += [[*path, child] for child in children[path[-1]]]
    return paths


def test_the_approval_sits_before_the_retire_template(applied: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    """The old color goes only once a person approved, after the deploy and the health check succeeded;
    an approval denied or timed out leads nowhere."""
    workflow = workflows(applied[1])["wedsync blue/green deploy with approval"]
    retire = next(
        node["identifier"]
        for node in workflow["workflow_nodes"]
        if node["unified_job_template"]["name"] == "wedsync blue/green retire old color"
    )
    (path,) = approval_paths(workflow, retire)
    kinds = [(node["unified_job_template"]["type"], node["unified_job_template"]["name"]) for node in path]
    assert kinds == [
        ("job_template", "wedsync blue/green deploy"),
        ("job_template", "wedsync deep health check"),
        ("workflow_approval", "Scale the old color down?"),
        ("job_template", "wedsync blue/green retire old color"),
    ]
    for parent, child in pairwise(path):
        assert [link["identifier"] for link in parent["related"]["success_nodes"]] == [child["identifier"]]
    approval = path[2]
    assert approval["related"]["failure_nodes"] == approval["related"]["always_nodes"] == []
    assert approval["unified_job_template"]["timeout"] == 4 * 3600
    assert workflow["allow_simultaneous"] is False


def test_the_deploy_in_the_workflow_keeps_the_old_color(applied: tuple[dict[str, Any], list[dict[str, Any]]]) -> None:
    """The node pins blue_green_scale_down_old, and the workflow's survey, which would override a node's
    value, does not ask it; otherwise it asks what the deploy template asks."""
    calls = applied[1]
    workflow = workflows(calls)["wedsync blue/green deploy with approval"]
    deploy = job_templates(calls)["wedsync blue/green deploy"]
    (node,) = [node for node in workflow["workflow_nodes"] if node["identifier"] == "deploy"]
    assert node["extra_data"] == {"blue_green_scale_down_old": "false"}
    asked = [question["variable"] for question in workflow["survey_spec"]["spec"]]
    assert asked == [
        question["variable"]
        for question in deploy["survey_spec"]["spec"]
        if question["variable"] != "blue_green_scale_down_old"
    ]
    assert "blue_green_version" in asked and workflow["survey_enabled"] is True


def test_workflows_notify_on_failure_and_on_approval_requests(
    applied: tuple[dict[str, Any], list[dict[str, Any]]],
) -> None:
    channels = [template["name"] for template in NOTIFICATIONS["awx_notification_templates"]]
    for workflow in workflows(applied[1]).values():
        assert workflow["notification_templates_error"] == channels
        assert workflow["notification_templates_approvals"] == channels


def test_a_workflow_of_an_unknown_template_is_refused_before_any_change(recorder: Path, tmp_path: Path) -> None:
    stray = [{"name": "stray", "nodes": [{"id": "one", "job_template": "wedsync nothing", "on_success": ["two"]}]}]
    run = apply(recorder, tmp_path / "records", *INVENTORIES, "-e", json.dumps({"awx_workflows": stray}))
    (message,) = failures(run, "localhost")
    assert "wedsync nothing" in message and "leads to two" in message
    assert awx_controller.sent(tmp_path / "records") == []


def test_a_template_behind_approval_on_a_clock_is_refused_before_any_change(recorder: Path, tmp_path: Path) -> None:
    schedules = [
        {
            "name": "nightly retire",
            "description": "",
            "job_template": "wedsync blue/green retire old color",
            "rrule": "",
        }
    ]
    run = apply(recorder, tmp_path / "records", *INVENTORIES, "-e", json.dumps({"awx_schedules": schedules}))
    (message,) = failures(run, "localhost")
    assert "nightly retire" in message
    assert awx_controller.sent(tmp_path / "records") == []


@pytest.mark.parametrize(
    ("default", "asked"),
    [
        ("{{ wedsync_region }}", False),
        (["{{ blue_green_name_prefix }}-alb-error-rate-critical"], False),
        (["alb-error-rate-critical"], True),
        ("us-east-1", True),
    ],
)
def test_a_default_made_from_the_inventory_gets_no_question_even_inside_a_list(default: Any, asked: bool) -> None:
    # A survey default of "{{ prefix }}-alarm" would reach the job as that literal text, over the inventory's.
    option = {"type": "list" if isinstance(default, list) else "str", "elements": "str", "default": default}
    assert (leave_out_reason(option) is None) is asked
