# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""wedsync.platform.report: marks an event of a runbook run for its run report.

Runs on the controller. The events of a host's run ride in its facts (wedsync_report_events), since
each task runs in a worker process of its own, and in a spool file of the run on the controller for
what facts cannot carry (loop items, failed tasks); the call with ``end`` builds the whole report from
them. The wedsync.platform.run_report callback writes the files. Everything but reading the task's
options and context is in module_utils/run_report_record.py and the run_report_* modules it uses.
"""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_events import (
    OUTCOMES,
    ReportError,
    current_run,
    merge_events,
    spool_append,
    spool_read,
    spool_remove,
)
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_record import (
    OBJECTIVE_KINDS,
    RESOURCE_CHANGES,
    kind_of,
    record,
)
from ansible_collections.wedsync.platform.plugins.module_utils.severity import SEVERITIES
from ansible_collections.wedsync.platform.plugins.module_utils.version import COLLECTION_VERSION

ARGUMENT_SPEC: dict[str, Any] = {
    "begin": {
        "type": "dict",
        "options": {
            "runbook": {"type": "str", "required": True},
            "action": {"type": "str", "required": True},
            "inputs": {"type": "dict", "default": {}},
            "secret_inputs": {"type": "list", "elements": "str", "default": [], "no_log": False},
            "environment": {"type": "str"},
            "region": {"type": "str"},
        },
    },
    "phase": {"type": "str"},
    "detail": {"type": "str"},
    "gate": {"type": "str"},
    "passed": {"type": "bool"},
    "reason": {"type": "str"},
    "override": {"type": "str"},
    "refuse": {"type": "bool", "default": True},
    "changed_anything": {"type": "bool", "default": False},
    "measurement": {"type": "str"},
    "value": {"type": "raw"},
    "unit": {"type": "str", "default": "s"},
    "objective": {"type": "float"},
    "objective_kind": {"type": "str", "choices": list(OBJECTIVE_KINDS), "default": "max"},
    "finding": {"type": "str"},
    "check": {"type": "str"},
    "severity": {"type": "str", "choices": list(SEVERITIES)},
    "resource": {
        "type": "dict",
        "options": {
            "id": {"type": "str", "required": True},
            "type": {"type": "str", "required": True},
            "change": {"type": "str", "required": True, "choices": list(RESOURCE_CHANGES)},
            "before": {"type": "raw"},
            "after": {"type": "raw"},
        },
    },
    "follow_up": {"type": "str"},
    "journal": {
        "type": "dict",
        "options": {
            "bucket": {"type": "str"},
            "key": {"type": "str", "no_log": False},
            "resumed_from": {"type": "str"},
            "completed_steps": {"type": "list", "elements": "raw"},
            "took_over": {"type": "dict"},
        },
    },
    "resumed": {
        "type": "dict",
        "options": {
            "run_id": {"type": "str", "required": True},
            "completed_steps": {"type": "list", "elements": "raw", "default": []},
        },
    },
    # As runbook_journal returns it: holder and reason, and the run_id, since and lease of the run taken over.
    "took_over": {"type": "dict"},
    "end": {"type": "bool"},
    "outcome": {"type": "str", "choices": list(OUTCOMES)},
    "summary": {"type": "str"},
    "failure": {
        "type": "dict",
        "options": {"task": {"type": "str"}, "message": {"type": "str", "required": True}},
    },
}
REQUIRED_BY = {"gate": ["passed", "reason"]}
AWX_VARS = {
    "awx_job_id": ("awx_job_id", "tower_job_id"),
    "awx_job_template_name": ("awx_job_template_name", "tower_job_template_name"),
    "awx_schedule_name": ("awx_schedule_name", "tower_schedule_name"),
    "awx_user_name": ("awx_user_name", "tower_user_name"),
}


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def run_context(task_vars: Mapping[str, Any], check_mode: bool) -> dict[str, Any]:
    """Who starts a run from where: the controller's user and host, the ansible-playbook process, AWX's job."""
    context: dict[str, Any] = {
        "user": _user(),
        "controller": socket.gethostname(),
        # Actions run in a worker forked from ansible-playbook: its parent is the run's process.
        "pid": os.getppid(),
        "check_mode": check_mode,
        "play": task_vars.get("ansible_play_name"),
        "target": task_vars.get("inventory_hostname"),
        "collection_version": COLLECTION_VERSION,
    }
    for key, names in AWX_VARS.items():
        context[key] = next((task_vars[name] for name in names if task_vars.get(name) is not None), None)
    return context


def previous_events(task_vars: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events of the host's run so far: the facts, and what they cannot carry.

    A failed task's facts are not kept, and the items of a loop each see the facts from before the
    loop: the run's spool on the controller has those events, and a rescue sees a failed report call's
    event in ansible_failed_result.
    """
    facts = task_vars.get("ansible_facts") or {}
    events = current_run(list(facts.get("wedsync_report_events") or []))
    if not events:
        return events
    failed = (task_vars.get("ansible_failed_result") or {}).get("wedsync_report_event")
    more = [*spool_read(events[0]["run_id"]), *([failed] if isinstance(failed, Mapping) else [])]
    return merge_events(events, more)


def spool(event: Mapping[str, Any]) -> None:
    """Keeps the event in its run's spool; the end of a run removes the spool."""
    if event["kind"] == "end":
        spool_remove(event["run_id"])
    else:
        spool_append(event)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp

        _validation, args = self.validate_argument_spec(ARGUMENT_SPEC, required_by=REQUIRED_BY)
        given = [name for name, value in self._task.args.items() if value is not None]
        check_mode = bool(self._task.check_mode or getattr(self._play_context, "check_mode", False))
        try:
            kind = kind_of(given)
            if kind == "end" and args["end"] is not True:
                raise ReportError("end must be true: it ends the run")
            recorded = record(kind, args, previous_events(task_vars), run_context(task_vars, check_mode))
        except ReportError as error:
            raise AnsibleActionFail(str(error)) from error

        spool(recorded["wedsync_report_event"])
        result.update(recorded)
        result["changed"] = False
        return result
