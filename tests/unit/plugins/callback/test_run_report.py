"""wedsync.platform.run_report: every run leaves its report, whether it reached its end task or not."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from ansible import constants as C
from ansible_collections.wedsync.platform.plugins.callback.run_report import (
    DOCUMENTATION,
    ENDED_EARLY,
    CallbackModule,
)
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_events import spool_append, spool_path
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_record import kind_of, record

ROOT = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((ROOT / "meta" / "run_report.schema.json").read_text())
NAME = "wedsync.platform.run_report"
T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


class Display:
    """What the callback shows: lines and warnings."""

    verbosity = 0

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.warnings: list[str] = []

    def display(self, msg: str, color: str | None = None, **_: Any) -> None:
        self.lines.append(msg)

    def warning(self, msg: str, **_: Any) -> None:
        self.warnings.append(msg)


class Named:
    def __init__(self, name: str) -> None:
        self.name = name

    def get_name(self) -> str:
        return self.name


class Result:
    """A task result as callbacks get it."""

    def __init__(self, host: str, task: str, data: dict[str, Any]) -> None:
        self._host = Named(host)
        self._task = Named(task)
        self._result = data


class Host:
    """One host's report calls, each seeing the events the facts of the calls before it left."""

    def __init__(self, name: str = "production-us-east-1") -> None:
        self.name = name
        self.events: list[dict[str, Any]] = []

    def call(self, seconds: float, args: dict[str, Any], task: str = "Report") -> Result:
        at = T0 + timedelta(seconds=seconds)
        stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
        context = {"target": self.name, "user": "sre", "controller": "ops-bastion-1", "pid": 4242}
        data = record(kind_of(args), args, self.events, context, at=stamp)
        if not data.get("failed") and "ansible_facts" in data:
            self.events = data["ansible_facts"]["wedsync_report_events"]
        return Result(self.name, task, {"changed": False, **data})


BEGIN = {"begin": {"runbook": "blue_green", "action": "deploy", "environment": "production"}}


@pytest.fixture
def display() -> Display:
    return Display()


@pytest.fixture
def callback(display: Display, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CallbackModule:
    """The callback with its options resolved as the plugin loader would, its directory under tmp_path."""
    monkeypatch.delenv("WEDSYNC_REPORT_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    C.config.initialize_plugin_configuration_definitions("callback", NAME, yaml.safe_load(DOCUMENTATION)["options"])
    plugin = CallbackModule(display=display)
    plugin._load_name = NAME
    plugin.set_options()
    return plugin


def reports(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "reports").iterdir()) if (tmp_path / "reports").exists() else []


def report_json(directory: Path) -> dict[str, Any]:
    report = json.loads((directory / "report.json").read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    return report


class TestOptions:
    def test_documented_for_ansible_doc_and_the_env_and_ini(self):
        options = yaml.safe_load(DOCUMENTATION)["options"]
        assert options["report_dir"]["default"] == "reports"
        assert options["report_dir"]["env"] == [{"name": "WEDSYNC_REPORT_DIR"}]
        assert options["report_dir"]["ini"] == [{"section": "wedsync_run_report", "key": "report_dir"}]
        assert CallbackModule.CALLBACK_TYPE == "aggregate"
        assert CallbackModule.CALLBACK_NEEDS_ENABLED is True

    def test_the_directory_from_the_environment(self, callback, display, tmp_path, monkeypatch):
        monkeypatch.setenv("WEDSYNC_REPORT_DIR", str(tmp_path / "elsewhere"))
        callback.set_options()
        host = Host()
        callback.v2_runner_on_ok(host.call(0, BEGIN))
        callback.v2_runner_on_ok(host.call(1, {"end": True}))
        (directory,) = (tmp_path / "elsewhere").iterdir()
        assert (directory / "report.md").is_file()


class TestEnd:
    def test_the_end_task_writes_the_report_at_once_and_the_stats_name_it(self, callback, display, tmp_path):
        host = Host()
        begin = host.call(0, BEGIN)
        run_id = begin._result["run"]["run_id"]
        for result in (
            begin,
            host.call(1, {"phase": "discover"}),
            host.call(3, {"gate": "healthy", "passed": True, "reason": "6 of 6"}),
            host.call(4, {"phase": "shift 100%"}),
            host.call(9, {"measurement": "time to full shift", "value": 5, "objective": 300}),
        ):
            callback.v2_runner_on_ok(result)
        assert reports(tmp_path) == []
        callback.v2_runner_on_ok(host.call(10, {"end": True, "summary": "1.2.3 is live."}))

        (directory,) = reports(tmp_path)
        assert directory.name == f"blue_green-deploy-{run_id}"
        assert sorted(p.name for p in directory.iterdir()) == ["report.json", "report.md", "timeline.svg"]
        report = report_json(directory)
        assert report["outcome"] == "SUCCEEDED"
        assert report["summary"] == "1.2.3 is live."
        assert "![timeline](timeline.svg)" in (directory / "report.md").read_text()
        assert display.lines == []

        callback.v2_playbook_on_stats(None)
        assert display.lines == [f"Run report (SUCCEEDED): {directory}/report.md"]
        assert display.warnings == []

    def test_a_gate_whose_failure_was_ignored_is_in_the_report(self, callback, tmp_path):
        host = Host()
        callback.v2_runner_on_ok(host.call(0, BEGIN))
        gate = host.call(1, {"gate": "lag", "passed": False, "reason": "7.8 s", "changed_anything": True})
        callback.v2_runner_on_failed(gate, ignore_errors=True)
        callback.v2_runner_on_ok(host.call(2, {"end": True, "outcome": "ROLLED_BACK"}))
        (directory,) = reports(tmp_path)
        report = report_json(directory)
        assert [(g["name"], g["stopped"]) for g in report["gates"]] == [("lag", True)]
        assert report["outcome"] == "ROLLED_BACK"
        assert report["failure"] is None

    def test_events_of_loop_items(self, callback, tmp_path):
        host = Host()
        callback.v2_runner_on_ok(host.call(0, BEGIN))
        for seconds, name in ((1, "lag replica 1"), (2, "lag replica 2")):
            callback.v2_runner_item_on_ok(host.call(seconds, {"measurement": name, "value": 0.2, "objective": 5}))
        callback.v2_runner_on_ok(Result(host.name, "Measure", {"changed": False, "results": []}))
        callback.v2_runner_on_ok(host.call(3, {"end": True}))
        (directory,) = reports(tmp_path)
        assert [m["name"] for m in report_json(directory)["measurements"]] == ["lag replica 1", "lag replica 2"]


class TestRunsWithoutEnd:
    def test_a_failure_before_the_end_task_is_reported_failed(self, callback, display, tmp_path):
        host = Host()
        for result in (host.call(0, BEGIN), host.call(1, {"phase": "discover"}), host.call(2, {"phase": "stage"})):
            callback.v2_runner_on_ok(result)
        failed = Result(host.name, "Create the launch template version", {"failed": True, "msg": "AccessDenied"})
        callback.v2_runner_on_failed(failed)
        callback.v2_runner_on_failed(Result(host.name, "Later", {"failed": True, "msg": "second"}))
        assert reports(tmp_path) == []

        callback.v2_playbook_on_stats(None)
        (directory,) = reports(tmp_path)
        report = report_json(directory)
        assert report["outcome"] == "FAILED"
        assert report["failure"] == {"task": "Create the launch template version", "message": "AccessDenied"}
        assert report["follow_ups"] == [ENDED_EARLY]
        assert [(p["name"], p["status"]) for p in report["phases"]] == [("discover", "succeeded"), ("stage", "failed")]
        assert display.lines == [f"Run report (FAILED): {directory}/report.md"]

    def test_the_spool_of_a_run_it_reports_goes(self, callback, tmp_path):
        host = Host()
        begin = host.call(0, BEGIN)
        spool_append(begin._result["wedsync_report_event"])
        spool = Path(spool_path(begin._result["run"]["run_id"]))
        assert spool.is_file()
        callback.v2_runner_on_ok(begin)
        callback.v2_playbook_on_stats(None)
        assert not spool.exists()

    def test_a_gate_that_refused_with_nothing_to_rescue_it_is_a_refusal(self, callback, display, tmp_path):
        host = Host()
        callback.v2_runner_on_ok(host.call(0, BEGIN))
        gate = host.call(1, {"gate": "live color healthy", "passed": False, "reason": "blue: 2 of 6"}, task="Gate")
        callback.v2_runner_on_failed(gate)
        callback.v2_playbook_on_stats(None)
        (directory,) = reports(tmp_path)
        report = report_json(directory)
        assert report["outcome"] == "REFUSED"
        assert report["failure"] == {"task": "Gate", "message": "Refusing to deploy, nothing changed: blue: 2 of 6"}
        assert report["follow_ups"] == []
        assert display.lines == [f"Run report (REFUSED): {directory}/report.md"]

    def test_ignored_failures_are_not_the_failure(self, callback, tmp_path):
        host = Host()
        callback.v2_runner_on_ok(host.call(0, BEGIN))
        callback.v2_runner_on_failed(Result(host.name, "Probe", {"failed": True, "msg": "meh"}), ignore_errors=True)
        callback.v2_playbook_on_stats(None)
        (directory,) = reports(tmp_path)
        report = report_json(directory)
        assert report["outcome"] == "FAILED"
        assert report["failure"] is None
        assert report["follow_ups"] == [ENDED_EARLY]

    def test_an_unreachable_host_and_a_loop_item_failure(self, callback, tmp_path):
        east, west = Host("production-us-east-1"), Host("production-us-west-2")
        callback.v2_runner_on_ok(east.call(0, BEGIN))
        callback.v2_runner_on_ok(west.call(0, BEGIN))
        callback.v2_runner_on_unreachable(Result(east.name, "Ping", {"unreachable": True, "msg": "timed out"}))
        items = {"failed": True, "msg": "One or more items failed", "results": [{"failed": True, "msg": "no such key"}]}
        callback.v2_runner_on_failed(Result(west.name, "Read", items))
        callback.v2_playbook_on_stats(None)
        failures = sorted(report_json(directory)["failure"]["message"] for directory in reports(tmp_path))
        assert failures == ["no such key", "production-us-east-1 unreachable: timed out"]

    def test_a_host_with_an_ended_run_and_a_host_without(self, callback, display, tmp_path):
        east, west = Host("production-us-east-1"), Host("production-us-west-2")
        for result in (east.call(0, BEGIN), west.call(0, BEGIN), east.call(5, {"end": True})):
            callback.v2_runner_on_ok(result)
        callback.v2_runner_on_failed(Result(east.name, "After the end", {"failed": True, "msg": "late"}))
        callback.v2_playbook_on_stats(None)
        outcomes = {report_json(d)["target"]: report_json(d)["outcome"] for d in reports(tmp_path)}
        assert outcomes == {"production-us-east-1": "SUCCEEDED", "production-us-west-2": "FAILED"}
        assert [line.split(":")[0] for line in display.lines] == ["Run report (SUCCEEDED)", "Run report (FAILED)"]
        callback.v2_playbook_on_stats(None)
        assert len(display.lines) == 2

    def test_results_of_tasks_outside_a_run_are_left_alone(self, callback, display, tmp_path):
        callback.v2_runner_on_ok(Result("localhost", "Gather", {"changed": False}))
        callback.v2_runner_on_failed(Result("localhost", "Fail", {"failed": True, "msg": "x"}))
        callback.v2_runner_on_ok(Host("localhost").call(0, {"phase": "outside a run"}))
        callback.v2_playbook_on_stats(None)
        assert reports(tmp_path) == []
        assert display.lines == []


class TestErrors:
    def test_a_report_that_cannot_be_written_is_a_warning_naming_the_directory(self, callback, display, tmp_path):
        (tmp_path / "reports").write_text("a file where the directory should be")
        host = Host()
        callback.v2_runner_on_ok(host.call(0, BEGIN))
        callback.v2_runner_on_ok(host.call(1, {"end": True}))
        callback.v2_playbook_on_stats(None)
        (warning,) = display.warnings
        assert f"into {tmp_path / 'reports'}/blue_green-deploy-" in warning
        assert display.lines == []

    def test_a_result_it_cannot_read_is_a_warning(self, callback, display):
        callback.v2_runner_on_ok(object())
        assert display.warnings and "could not record a result" in display.warnings[0]
