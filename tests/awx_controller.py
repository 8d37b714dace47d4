"""A stand-in for the AWX controller's two sides the tests need, without a server.

- Applying: playbooks/awx_configure.yml runs as a user runs it, with every awx.awx module answered by a
  recorder action that writes down the arguments it was given (templated) instead of calling a controller.
- Launching: the extra vars a job gets from its template's survey, as AWX computes them
  (awx/main/models/mixins.py, SurveyJobTemplateMixin): a question's default is used only when it passes
  the question's own validation, and the answers given at launch override it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ansible_collections.awx.awx as awx_collection
import yaml

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "playbooks" / "awx_configure.yml"
AWX_MODULES = sorted(
    path.stem for path in (Path(next(iter(awx_collection.__path__))) / "plugins" / "modules").glob("[a-z]*.py")
)

# Records the arguments of the task it stands for into a file of its own; no_log hides them from the
# output, not from the recorder.
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


def recorder_collections(directory: Path) -> Path:
    """A collections path whose awx.awx answers every module of the real one with the recorder."""
    actions = directory / "ansible_collections" / "awx" / "awx" / "plugins" / "action"
    actions.mkdir(parents=True, exist_ok=True)
    for module in AWX_MODULES:
        (actions / f"{module}.py").write_text(RECORDER)
    return directory


def apply(collections: Path, records: Path, *args: str, env: Mapping[str, str | None] | None = None) -> dict[str, Any]:
    """Run awx_configure.yml with the recorder; returns the JSON callback's account of the run."""
    records.mkdir(parents=True, exist_ok=True)
    changes = {
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_COLLECTIONS_PATH": f"{collections}:{ROOT / '.cache' / 'collections'}",
        "AWX_RECORDS": str(records),
        **(env or {}),
    }
    environment = {**os.environ, **{name: value for name, value in changes.items() if value is not None}}
    environment = {name: value for name, value in environment.items() if changes.get(name, "") is not None}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(PLAYBOOK), *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible-playbook gave no JSON (rc {done.returncode}): {done.stderr[-2000:]}") from None


def secret_variables() -> list[str]:
    """The environment variables awx/ takes its credentials' and notification templates' secrets from."""
    organization = yaml.safe_load((ROOT / "awx" / "organization.yml").read_text())
    # !unsafe marks AWX's own templating in the messages; its value does not matter here.
    notifications = yaml.safe_load((ROOT / "awx" / "notifications.yml").read_text().replace("!unsafe ", ""))
    sources = [credential["inputs_from_env"] for credential in organization["awx_credentials"]] + [
        template["configuration_from_env"] for template in notifications["awx_notification_templates"]
    ]
    return sorted({variable for source in sources for variable in source.values()})


def placeholder_secrets() -> dict[str, str]:
    return {variable: f"secret-of-{variable.lower()}" for variable in secret_variables()}


def sent(records: Path) -> list[dict[str, Any]]:
    """Every call the recorder received: ``module`` (its full name) and ``args``."""
    return [json.loads(path.read_text()) for path in sorted(records.iterdir())]


def _type_error(question: Mapping[str, Any], value: Any) -> bool:
    kind = question["type"]
    if kind in ("text", "textarea", "password"):
        return not isinstance(value, str) or not int(question.get("min") or 0) <= len(value) <= int(
            question.get("max") or sys.maxsize
        )
    if kind == "integer":
        return type(value) is not int
    if kind == "float":
        return type(value) not in (int, float)
    if kind == "multiselect":
        return type(value) is not list or any(choice not in question["choices"] for choice in value)
    if kind == "multiplechoice":
        return value not in question["choices"]
    return False


def launch_extra_vars(survey_spec: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The survey's part of a job's extra vars: each valid default, then the answers given at launch.

    Raises ValueError, as AWX refuses the launch, when a required question has neither.
    """
    questions = survey_spec.get("spec") or []
    defaults = {
        question["variable"]: question["default"]
        for question in questions
        if question.get("default") is not None and not _type_error(question, question["default"])
    }
    extra_vars = {**defaults, **answers}
    missing = [q["variable"] for q in questions if q.get("required") and q["variable"] not in extra_vars]
    if missing:
        raise ValueError(f"AWX refuses the launch: no answer for {', '.join(missing)}")
    return extra_vars


def applied_configuration(
    directory: Path, *args: str, env: Mapping[str, str | None] | None = None
) -> list[dict[str, Any]]:
    """Apply awx_configure.yml with ``args`` (its inventory, extra vars) and return what reached the controller.

    The secrets awx/ names are given placeholder values: they matter here only as being set.
    """
    collections = recorder_collections(directory / "collections")
    records = directory / "records"
    run = apply(collections, records, *args, env={**placeholder_secrets(), **(env or {})})
    failed = [
        str(host.get("msg"))
        for play in run["plays"]
        for task in play["tasks"]
        for host in task["hosts"].values()
        if host.get("failed")
    ]
    assert failed == [], failed
    return sent(records)
