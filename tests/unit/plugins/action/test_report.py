"""wedsync.platform.report: a run's events through the facts from task to task, gates that refuse, the end's report."""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import jsonschema
import pytest
from ansible.errors import AnsibleActionFail
from ansible_collections.wedsync.platform.plugins.action.report import ActionModule
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_events import spool_path, spool_read
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_text import REDACTED
from ansible_collections.wedsync.platform.plugins.module_utils.version import COLLECTION_VERSION

ROOT = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((ROOT / "meta" / "run_report.schema.json").read_text())
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture(autouse=True)
def spool_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs' spools under the test's own temporary directory."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def action(args: dict[str, Any], check_mode: bool = False) -> ActionModule:
    """The action as the task executor makes it: the task, a connection it never uses, the play context."""
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    task.action = "wedsync.platform.report"
    play_context = MagicMock()
    play_context.check_mode = check_mode
    connection = MagicMock()
    connection._shell.tmpdir = None
    return ActionModule(task, connection, play_context, loader=MagicMock(), templar=MagicMock(), shared_loader_obj=None)


class Host:
    """The variables of one host through a play: facts that ok results leave, what a rescue sees."""

    def __init__(self, **variables: Any) -> None:
        self.vars: dict[str, Any] = {
            "inventory_hostname": "production-us-east-1",
            "ansible_play_name": "Blue/green deploy",
            "ansible_facts": {},
            **variables,
        }

    def run(self, args: dict[str, Any], check_mode: bool = False, rescued: bool = True) -> dict[str, Any]:
        result = action(args, check_mode).run(task_vars=json.loads(json.dumps(self.vars)))
        self.keep(result, rescued)
        return result

    def loop(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Loop items: each sees the variables from before the loop; the strategy then keeps each one's facts."""
        task_vars = json.dumps(self.vars)
        results = [action(args).run(task_vars=json.loads(task_vars)) for args in items]
        for result in results:
            self.keep(result, rescued=False)
        return results

    def keep(self, result: dict[str, Any], rescued: bool) -> None:
        if result.get("failed"):
            if rescued:
                self.vars["ansible_failed_result"] = result
        elif "ansible_facts" in result:
            self.vars["ansible_facts"] = {**self.vars["ansible_facts"], **result["ansible_facts"]}


BEGIN = {
    "begin": {
        "runbook": "blue_green",
        "action": "deploy",
        "inputs": {"blue_green_version": "1.2.3", "webhook": "https://hooks/x", "db": {"master_password": "p"}},
        "secret_inputs": ["webhook"],
        "environment": "production",
        "region": "us-east-1",
    }
}


class TestBegin:
    def test_a_run_begins_with_who_started_it_from_where(self):
        host = Host(awx_job_id=812, awx_job_template_name="Deploy production", awx_user_name="jo")
        result = host.run(BEGIN)
        run = result["run"]
        assert result["changed"] is False
        assert "failed" not in result
        assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run["run_id"])
        assert TIME.match(run["started"])
        assert (run["runbook"], run["action"], run["environment"], run["region"]) == (
            "blue_green",
            "deploy",
            "production",
            "us-east-1",
        )
        assert run["target"] == "production-us-east-1"
        assert run["check_mode"] is False
        assert run["collection_version"] == COLLECTION_VERSION
        assert run["started_by"] == {
            "user": run["started_by"]["user"],
            "controller": socket.gethostname(),
            "pid": os.getppid(),
            "awx_job_id": 812,
            "awx_job_template_name": "Deploy production",
            "awx_schedule_name": None,
            "awx_user_name": "jo",
        }
        event = result["wedsync_report_event"]
        assert event["kind"] == "begin"
        assert event["inputs"] == {
            "blue_green_version": "1.2.3",
            "webhook": REDACTED,
            "db": {"master_password": REDACTED},
        }
        assert event["play"] == "Blue/green deploy"
        assert result["ansible_facts"] == {"wedsync_report_events": [event]}

    def test_tower_variables_and_check_mode(self):
        result = Host(tower_job_id=7).run(BEGIN, check_mode=True)
        assert result["run"]["started_by"]["awx_job_id"] == 7
        assert result["run"]["check_mode"] is True

    def test_begin_starts_over(self):
        host = Host()
        first = host.run(BEGIN)
        host.run({"phase": "discover"})
        second = host.run(BEGIN)
        assert host.vars["ansible_facts"]["wedsync_report_events"] == [second["wedsync_report_event"]]
        end = host.run({"end": True})
        assert end["report"]["run_id"] == second["run"]["run_id"] != first["run"]["run_id"]
        assert end["report"]["phases"] == []


class TestArguments:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ({"phase": "a", "gate": "b", "passed": True, "reason": "r"}, "phase and gate were both given"),
            ({"phase": "a", "passed": True}, "passed is not an option of phase"),
            ({"gate": "healthy", "passed": True}, "reason"),
            ({"measurement": "m", "objective_kind": "most"}, "objective_kind"),
            ({"resource": {"id": "i", "type": "t", "change": "touched"}}, "change"),
            ({"begin": {"action": "deploy"}}, "runbook"),
            ({"outcome": "DONE", "end": True}, "outcome"),
            ({"colour": "blue"}, "colour"),
            ({}, "give one of"),
            ({"end": False}, "end must be true"),
            ({"measurement": "m", "value": "fast"}, "value must be a number"),
        ],
    )
    def test_a_bad_call_fails_naming_the_option(self, args, message):
        with pytest.raises(AnsibleActionFail, match=message):
            Host().run(args)

    def test_an_option_left_out_with_null_is_not_given(self):
        host = Host()
        host.run(BEGIN)
        result = host.run({"phase": "stage", "passed": None, "detail": None})
        assert result["wedsync_report_event"]["name"] == "stage"


class TestRun:
    def test_a_deploy_from_begin_to_end(self):
        host = Host(awx_job_id=812)
        run_id = host.run(BEGIN)["run"]["run_id"]
        phase = host.run({"phase": "discover", "detail": "read both colors"})
        host.run({"gate": "live color healthy", "passed": True, "reason": "blue: 6 of 6 healthy"})
        host.run({"phase": "shift 100%"})
        host.run({"measurement": "time to full shift", "value": "31.5", "objective": 300})
        host.run({"resource": {"id": "p-alb:443", "type": "listener", "change": "modified", "after": {"green": 100}}})
        host.run({"journal": {"bucket": "b", "key": "k"}, "resumed": {"run_id": "20261207T010000Z-abcdef"}})
        host.run({"follow_up": "scale blue down tomorrow"})
        end = host.run({"end": True, "summary": "1.2.3 is live on green."})

        assert phase["wedsync_report_event"] == {
            "kind": "phase",
            "at": phase["wedsync_report_event"]["at"],
            "run_id": run_id,
            "name": "discover",
            "detail": "read both colors",
        }
        assert TIME.match(phase["wedsync_report_event"]["at"])
        events = host.vars["ansible_facts"]["wedsync_report_events"]
        assert [e["kind"] for e in events] == [
            "begin",
            "phase",
            "gate",
            "phase",
            "measurement",
            "resource",
            "journal",
            "follow_up",
            "end",
        ]
        assert {e["run_id"] for e in events} == {run_id}
        report = end["report"]
        jsonschema.Draft202012Validator(SCHEMA).validate(report)
        assert report["outcome"] == "SUCCEEDED"
        assert report["summary"] == "1.2.3 is live on green."
        assert [p["name"] for p in report["phases"]] == ["discover", "shift 100%"]
        assert report["measurements"][0]["value"] == 31.5
        assert report["measurements"][0]["met"] is True
        assert report["resumed"] is True
        assert report["started_by"]["awx_job_id"] == 812
        assert end["wedsync_report_event"]["outcome"] == "SUCCEEDED"
        stats = end["ansible_stats"]
        assert stats["per_host"] is False
        assert stats["aggregate"] is True
        summary = stats["data"]["wedsync_run_report"]
        assert (summary["run_id"], summary["outcome"], summary["follow_ups"]) == (
            run_id,
            "SUCCEEDED",
            ["scale blue down tomorrow"],
        )
        assert [p["name"] for p in summary["phases"]] == ["discover", "shift 100%"]
        assert stats["data"]["wedsync_run_reports"] == {run_id: summary}

    def test_a_refusing_gate_fails_the_task_and_a_rescue_ends_the_run_refused(self):
        host = Host()
        host.run(BEGIN)
        host.run({"phase": "discover"})
        refused = host.run({"gate": "live color healthy", "passed": False, "reason": "blue: 2 of 6 targets healthy"})
        assert refused["failed"] is True
        assert refused["msg"] == "Refusing to deploy, nothing changed: blue: 2 of 6 targets healthy"
        assert refused["wedsync_report_event"]["passed"] is False
        assert refused["changed"] is False
        # The failed task left no facts: the rescue's end finds the gate in ansible_failed_result.
        assert len(host.vars["ansible_facts"]["wedsync_report_events"]) == 2
        end = host.run({"end": True, "failure": {"task": "Gate", "message": refused["msg"]}})
        report = end["report"]
        assert report["outcome"] == "REFUSED"
        assert [(g["name"], g["stopped"]) for g in report["gates"]] == [("live color healthy", True)]
        assert report["phases"][0]["status"] == "failed"
        jsonschema.Draft202012Validator(SCHEMA).validate(report)

    def test_a_gate_that_fails_after_changes_stops(self):
        host = Host()
        host.run(BEGIN)
        result = host.run({"gate": "alarms quiet", "passed": False, "reason": "5xx alarm", "changed_anything": True})
        assert result["msg"] == "Stopping: 5xx alarm"

    def test_an_overridden_gate_passes_and_says_why(self):
        host = Host()
        host.run(BEGIN)
        result = host.run({"gate": "lag", "passed": True, "reason": "7.8 s", "override": "forced with -e force=true"})
        assert "failed" not in result
        assert result["wedsync_report_event"]["override"] == "forced with -e force=true"

    def test_a_failed_result_of_another_run_is_not_merged(self):
        host = Host()
        host.run(BEGIN)
        host.run({"gate": "g", "passed": False, "reason": "no"})
        host.run(BEGIN)
        end = host.run({"end": True})
        assert end["report"]["gates"] == []
        assert end["report"]["outcome"] == "SUCCEEDED"

    def test_failed_and_rolled_back(self):
        host = Host()
        host.run(BEGIN)
        host.run({"phase": "shift 50%"})
        end = host.run({"end": True, "outcome": "ROLLED_BACK", "failure": {"task": "Shift", "message": "alarm"}})
        assert end["report"]["outcome"] == "ROLLED_BACK"
        assert end["report"]["failure"] == {"task": "Shift", "message": "alarm"}

    def test_the_items_of_a_loop_all_reach_the_report(self):
        host = Host()
        host.run(BEGIN)
        host.loop([{"measurement": f"lag replica {n}", "value": n / 10, "objective": 5} for n in (1, 2, 3)])
        # Each item saw the facts from before the loop, and the items before it in the spool.
        assert [e["kind"] for e in host.vars["ansible_facts"]["wedsync_report_events"]] == ["begin"] + [
            "measurement"
        ] * 3
        end = host.run({"end": True})
        assert [m["name"] for m in end["report"]["measurements"]] == ["lag replica 1", "lag replica 2", "lag replica 3"]

    def test_a_gate_whose_failure_was_ignored_reaches_the_report_and_the_spool_goes_at_the_end(self):
        host = Host()
        run_id = host.run(BEGIN)["run"]["run_id"]
        gate = {"gate": "alarms quiet", "passed": False, "reason": "5xx alarm", "changed_anything": True}
        assert host.run(gate, rescued=False)["failed"] is True
        assert "ansible_failed_result" not in host.vars
        assert [e["kind"] for e in spool_read(run_id)] == ["begin", "gate"]
        end = host.run({"end": True, "outcome": "ROLLED_BACK"})
        assert [g["name"] for g in end["report"]["gates"]] == ["alarms quiet"]
        assert not Path(spool_path(run_id)).exists()

    def test_the_journal_as_runbook_journal_returns_it(self):
        host = Host()
        host.run(BEGIN)
        took_over = {
            "run_id": "20261207T020000Z-1234ab",
            "entry_point": "deploy",
            "holder": {"user": "ops", "controller": "bastion-1", "pid": 80001, "awx_job_id": None},
            "since": "2026-12-07T02:00:00Z",
            "lease_expires": "2026-12-07T03:00:00Z",
            "reason": "holder process 80001 on bastion-1 is gone",
        }
        journal = {"bucket": "b", "key": "journal/production/blue_green.json", "resumed_from": None}
        host.run({"journal": {**journal, "completed_steps": [], "took_over": None}})
        host.run(
            {
                "journal": {
                    **journal,
                    "resumed_from": took_over["run_id"],
                    "completed_steps": ["build"],
                    "took_over": took_over,
                }
            }
        )
        report = host.run({"end": True})["report"]
        jsonschema.Draft202012Validator(SCHEMA).validate(report)
        assert report["journal"] == {
            "bucket": "b",
            "key": "journal/production/blue_green.json",
            "resumed_from": "20261207T020000Z-1234ab",
            "completed_steps": ["build"],
            "took_over": took_over,
        }
        assert report["resumed"] is True

    def test_end_without_begin_fails(self):
        with pytest.raises(AnsibleActionFail, match="no run to end"):
            Host().run({"end": True})

    def test_check_mode_runs(self):
        host = Host()
        host.run(BEGIN, check_mode=True)
        end = host.run({"end": True}, check_mode=True)
        assert end["report"]["check_mode"] is True
