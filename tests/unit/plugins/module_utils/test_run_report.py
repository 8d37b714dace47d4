"""The run report: events a run marks, the report built from them, and its files.

Run as a script, this module redraws the example in docs/runbooks.md, docs/images/run-report-timeline.svg:
PYTHONPATH=.cache/collections .venv/bin/python tests/unit/plugins/module_utils/test_run_report.py
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_builder import build_report, summarize
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_events import (
    ReportError,
    current_run,
    merge_events,
)
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_files import report_directory, write_report
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_markdown import render_markdown
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_record import as_number, kind_of, record
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_svg import render_svg
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_text import (
    REDACTED,
    clock,
    human_duration,
    redact,
)
from run_report_examples import BEGIN, CONTEXT, ROOT, at, deploy_events, play, validate

EXAMPLE_SVG = ROOT / "docs" / "images" / "run-report-timeline.svg"


class TestEvents:
    def test_begin_starts_a_run_with_who_where_and_redacted_inputs(self):
        begin = {"begin": {**BEGIN["begin"], "inputs": {"blue_green_version": "1.2.3", "db_password": "x"}}}
        (result,) = play((0, begin), context={**CONTEXT, "awx_job_id": 812, "check_mode": True})
        event = result["wedsync_report_event"]
        assert event["kind"] == "begin"
        assert event["at"] == "2026-12-07T03:00:00.000Z"
        assert event["run_id"].startswith("20261207T030000Z-")
        assert len(event["run_id"]) == len("20261207T030000Z-") + 6
        assert event["inputs"] == {"blue_green_version": "1.2.3", "db_password": REDACTED}
        assert result["ansible_facts"] == {"wedsync_report_events": [event]}
        assert result["run"]["run_id"] == event["run_id"]
        assert result["run"]["started"] == event["at"]
        assert result["run"]["target"] == "production-us-east-1"
        assert result["run"]["check_mode"] is True
        assert result["run"]["started_by"]["awx_job_id"] == 812
        assert result["run"]["started_by"]["pid"] == 4242

    def test_events_accumulate_and_a_new_begin_starts_over(self):
        results = play((0, BEGIN), (1, {"phase": "discover"}), (2, {"follow_up": "x"}), (3, BEGIN))
        assert [e["kind"] for e in results[2]["ansible_facts"]["wedsync_report_events"]] == [
            "begin",
            "phase",
            "follow_up",
        ]
        assert results[2]["wedsync_report_event"]["run_id"] == results[0]["run"]["run_id"]
        assert results[3]["ansible_facts"]["wedsync_report_events"] == [results[3]["wedsync_report_event"]]

    def test_an_event_without_a_run_is_returned_but_not_kept(self):
        (result,) = play((0, {"phase": "discover"}))
        assert result["wedsync_report_event"]["run_id"] is None
        assert "ansible_facts" not in result

    def test_end_without_a_run_fails(self):
        with pytest.raises(ReportError, match="no run to end"):
            play((0, {"end": True}))

    def test_a_refusing_gate_fails_the_call_saying_nothing_changed(self):
        results = play((0, BEGIN), (1, {"gate": "live color healthy", "passed": False, "reason": "blue: 2 of 6"}))
        assert results[1]["failed"] is True
        assert results[1]["msg"] == "Refusing to deploy, nothing changed: blue: 2 of 6"
        assert results[1]["wedsync_report_event"]["passed"] is False

    def test_a_gate_after_changes_says_stopping(self):
        gate = {"gate": "alarms quiet", "passed": False, "reason": "5xx alarm", "changed_anything": True}
        results = play((0, BEGIN), (1, gate))
        assert results[1]["msg"] == "Stopping: 5xx alarm"

    def test_a_failed_gate_that_does_not_refuse_only_records(self):
        results = play((0, BEGIN), (1, {"gate": "cost", "passed": False, "reason": "over", "refuse": False}))
        assert "failed" not in results[1]
        assert len(results[1]["ansible_facts"]["wedsync_report_events"]) == 2

    @pytest.mark.parametrize(
        ("given", "message"),
        [
            ([], "give one of"),
            (["phase", "gate"], "phase and gate were both given"),
            (["phase", "passed"], "passed is not an option of phase"),
            (["end", "detail"], "detail is not an option of end"),
        ],
    )
    def test_one_kind_per_call_with_its_own_options(self, given, message):
        with pytest.raises(ReportError, match=message):
            kind_of(given)

    def test_resumed_and_took_over_are_one_journal_event(self):
        assert kind_of(["resumed", "took_over", "journal"]) == "journal"

    @pytest.mark.parametrize(
        ("value", "expected"), [(31, 31), (31.5, 31.5), ("18.25", 18.25), (None, None), ("", None)]
    )
    def test_measured_values(self, value, expected):
        assert as_number(value) == expected

    @pytest.mark.parametrize("value", [True, "fast", float("nan")])
    def test_measured_values_that_are_not_numbers_fail_naming_the_option(self, value):
        with pytest.raises(ReportError, match=r"^value must be"):
            as_number(value)

    def test_merge_adds_only_new_events_of_the_same_run_in_time_order(self):
        begin, phase, gate = (
            r["wedsync_report_event"] for r in play((0, BEGIN), (1, {"phase": "p"}), (2, {"follow_up": "f"}))
        )
        other = {**gate, "run_id": "20261207T000000Z-000000"}
        merged = merge_events([begin, gate], [phase, gate, other])
        assert merged == [begin, phase, gate]


class TestRedaction:
    def test_secret_inputs_by_list_and_by_name_at_any_depth(self):
        inputs = {
            "version": "1.2.3",
            "db": {"host": "p-db", "password": "hunter2", "replicas": [{"api_key": "k", "name": "r1"}]},
            "slack_webhook": "https://hooks",
            "GitHub_Token": "t",
            "private_key_path": "/k",
            "aws_credentials": {"id": "a"},
        }
        assert redact(inputs, ["slack_webhook"]) == {
            "version": "1.2.3",
            "db": {"host": "p-db", "password": REDACTED, "replicas": [{"api_key": REDACTED, "name": "r1"}]},
            "slack_webhook": REDACTED,
            "GitHub_Token": REDACTED,
            "private_key_path": REDACTED,
            "aws_credentials": REDACTED,
        }


class TestBuildReport:
    def test_a_deploy_that_succeeded(self):
        report = validate(build_report(deploy_events()))
        assert report["outcome"] == "SUCCEEDED"
        assert report["run_id"] == "20261207T030000Z-4f9c2e"
        assert (report["runbook"], report["action"]) == ("blue_green", "deploy")
        assert report["play"] == "Blue/green deploy"
        assert report["started"] == "2026-12-07T03:00:00.000Z"
        assert report["ended"] == "2026-12-07T03:19:46.400Z"
        assert report["duration_seconds"] == 1186.4
        assert [(p["name"], p["detail"]) for p in report["phases"]] == [
            ("discover", None),
            ("stage green", "release 1.2.3, 6 instances"),
            ("smoke test green", "/api/health through port 8443"),
            ("shift 10% to green", None),
            ("shift 50% to green", None),
            ("shift 100% to green", None),
        ]
        assert [p["duration_seconds"] for p in report["phases"]] == [6.0, 262.9, 6.8, 303.1, 303.3, 303.9]
        assert {p["status"] for p in report["phases"]} == {"succeeded"}
        assert report["phases"][-1]["ended"] == report["ended"]
        assert report["inputs"] == {"blue_green_version": "1.2.3", "blue_green_steps": [10, 50, 100]}
        assert [g["name"] for g in report["gates"]] == [
            "input",
            "estate",
            "clean state",
            "journal",
            "target color takes no traffic",
            "smoke URL",
        ]
        assert report["gates"][0]["reason"] == "release 1.2.3, steps 10,50,100"
        assert all(g["passed"] and g["override"] is None and not g["stopped"] for g in report["gates"])
        fields = ("name", "value", "objective", "objective_kind", "met")
        measured = [tuple(m[field] for field in fields) for m in report["measurements"]]
        assert measured == [
            ("time to a healthy green", 241.3, 900, "max", True),
            ("alarms watched at 10%", 300.2, 300, "min", True),
            ("alarms watched at 50%", 300.4, 300, "min", True),
            ("alarms watched at 100%", 300.1, 300, "min", True),
            ("time to full shift", 909.6, None, "max", None),
        ]
        group, *steps = report["resources"]
        assert (group["id"], group["type"], group["change"]) == (
            "wedsync-production-app-green",
            "AWS::AutoScaling::AutoScalingGroup",
            "modified",
        )
        assert group["after"] == {"launch_template_version": "14", "desired_capacity": 6}
        assert {(r["type"], r["change"]) for r in steps} == {("AWS::ElasticLoadBalancingV2::Listener", "modified")}
        assert [r["after"]["wedsync-production-green"] for r in steps] == [10, 50, 100]
        assert all(sum(r["after"].values()) == 100 for r in steps)
        assert [r["before"] for r in steps[1:]] == [r["after"] for r in steps[:-1]]
        assert report["journal"] == {
            "bucket": "wedsync-production-runbooks-us-east-1",
            "key": "journal/production/blue_green.json",
            "resumed_from": None,
            "completed_steps": [],
            "took_over": None,
        }
        assert report["resumed"] is False
        assert report["failure"] is None
        assert report["summary"] == (
            "Release 1.2.3 serves all traffic from green; blue (release 1.2.2) kept running for playbooks/rollback.yml."
        )
        assert report["follow_ups"] == []

    def test_refused_by_a_gate(self):
        results = play(
            (0, BEGIN),
            (0.5, {"phase": "discover"}),
            (4, {"gate": "live color healthy", "passed": False, "reason": "blue: 2 of 6 targets healthy"}),
        )
        events = [*results[0]["ansible_facts"]["wedsync_report_events"], results[1]["wedsync_report_event"]]
        events.append(results[2]["wedsync_report_event"])
        report = validate(build_report(events))
        assert report["outcome"] == "REFUSED"
        assert report["gates"][0]["stopped"] is True
        assert report["phases"][0]["status"] == "failed"
        assert report["duration_seconds"] == 4.0
        assert report["summary"] == "blue_green deploy refused, nothing changed: blue: 2 of 6 targets healthy."

    def test_refused_then_ended_by_a_rescue(self):
        gate = {"gate": "live color healthy", "passed": False, "reason": "blue: 2 of 6 targets healthy"}
        results = play((0, BEGIN), (1, {"phase": "discover"}), (2, gate))
        events = merge_events(
            results[1]["ansible_facts"]["wedsync_report_events"], [results[2]["wedsync_report_event"]]
        )
        end = record("end", {"end": True}, events, CONTEXT, at=at(3))
        assert end["report"]["outcome"] == "REFUSED"
        assert end["wedsync_report_event"]["outcome"] == "REFUSED"
        assert end["wedsync_report_event"]["summary"] == end["report"]["summary"]
        validate(end["report"])

    def test_failed_with_the_failing_task(self):
        failure = {"task": "Shift 50% of the traffic", "message": "ELB throttled the request"}
        results = play(
            (0, BEGIN),
            (1, {"phase": "shift 10%"}),
            (30, {"phase": "shift 50%"}),
            (41, {"end": True, "failure": failure}),
        )
        report = validate(results[-1]["report"])
        assert report["outcome"] == "FAILED"
        assert report["failure"] == failure
        assert [p["status"] for p in report["phases"]] == ["succeeded", "failed"]
        assert report["phases"][-1]["duration_seconds"] == 11.0
        assert report["summary"] == "blue_green deploy failed after 41s in shift 50%: ELB throttled the request."

    def test_rolled_back_fails_the_phase_a_gate_stopped_in_not_the_rollback(self):
        stop = {"gate": "alarms quiet at 50%", "passed": False, "reason": "5xx alarm fired", "changed_anything": True}
        results = play(
            (0, BEGIN),
            (1, {"phase": "shift 50%"}),
            (20, stop),
            (21, {"phase": "roll back"}),
            (25, {"end": True, "outcome": "ROLLED_BACK", "failure": {"task": "Shift", "message": "5xx alarm fired"}}),
        )
        events = merge_events(
            results[1]["ansible_facts"]["wedsync_report_events"], [results[2]["wedsync_report_event"]]
        )
        report = validate(build_report([*events, *(r["wedsync_report_event"] for r in results[3:])]))
        assert report["outcome"] == "ROLLED_BACK"
        assert [p["status"] for p in report["phases"]] == ["failed", "succeeded"]
        assert report["summary"] == "blue_green deploy rolled back after 25s: 5xx alarm fired."
        assert results[-1]["report"]["outcome"] == "ROLLED_BACK"

    def test_rolled_back_without_a_gate_fails_the_last_phase(self):
        results = play(
            (0, BEGIN),
            (1, {"phase": "shift 10%"}),
            (2, {"phase": "shift 50%"}),
            (3, {"end": True, "outcome": "ROLLED_BACK"}),
        )
        assert [p["status"] for p in results[-1]["report"]["phases"]] == ["succeeded", "failed"]

    def test_stopping_after_changes_without_an_outcome_is_failed(self):
        stop = {"gate": "alarms quiet", "passed": False, "reason": "5xx", "changed_anything": True}
        results = play((0, BEGIN), (1, stop))
        events = [results[0]["wedsync_report_event"], results[1]["wedsync_report_event"]]
        assert build_report(events)["outcome"] == "FAILED"

    def test_measurements_against_objectives(self):
        results = play(
            (0, BEGIN),
            (1, {"measurement": "time to full shift", "value": 31, "objective": 300}),
            (2, {"measurement": "rto", "value": 5400, "objective": 3600}),
            (
                3,
                {
                    "measurement": "healthy targets",
                    "value": 6,
                    "unit": "targets",
                    "objective": 4,
                    "objective_kind": "min",
                },
            ),
            (4, {"measurement": "replica lag", "value": None, "objective": 5}),
            (5, {"measurement": "requests", "value": 1200, "unit": "req/min"}),
            (6, {"end": True}),
        )
        report = validate(results[-1]["report"])
        assert [m["met"] for m in report["measurements"]] == [True, False, True, None, None]
        assert report["measurements"][0]["unit"] == "s"
        assert report["measurements"][0]["objective_kind"] == "max"

    def test_findings_carry_the_seed_response_time_and_come_worst_first(self):
        results = play(
            (0, BEGIN),
            (1, {"finding": "every target of blue healthy", "check": "targets"}),
            (2, {"finding": "certificate expires in 12 days", "check": "certificates", "severity": "P2"}),
            (3, {"finding": "no healthy target in the live colour", "check": "targets", "severity": "P0"}),
            (4, {"finding": "replica lags 9 s", "severity": "P1", "detail": "objective 5 s"}),
            (5, {"end": True}),
        )
        report = validate(results[-1]["report"])
        assert [(f["severity"], f["response_time"]) for f in report["findings"]] == [
            ("P0", "15 minutes"),
            ("P1", "1 hour"),
            ("P2", "4 hours"),
            (None, None),
        ]
        assert report["findings"][1]["check"] == "replica lags 9 s"
        assert "| P0 | targets | no healthy target in the live colour |" in render_markdown(report)

    def test_a_severity_outside_the_seed_levels_is_refused(self):
        with pytest.raises(ReportError, match="severity must be one of P0, P1, P2, P3"):
            play((0, BEGIN), (1, {"finding": "odd", "severity": "P5"}))

    def test_a_run_without_an_end_lasts_until_its_last_event(self):
        results = play((0, BEGIN), (2, {"phase": "stage"}), (9.5, {"follow_up": "look at green"}))
        report = validate(build_report(results[-1]["ansible_facts"]["wedsync_report_events"], outcome="FAILED"))
        assert report["ended"] == at(9.5)
        assert report["phases"][0]["duration_seconds"] == 7.5
        assert report["phases"][0]["status"] == "failed"

    def test_events_after_the_end_are_not_the_run(self):
        results = play((0, BEGIN), (1, {"end": True}), (2, {"phase": "late"}))
        report = build_report(results[-1]["ansible_facts"]["wedsync_report_events"])
        assert report["phases"] == []
        assert report["ended"] == at(1)

    def test_only_the_latest_run_is_reported(self):
        first = play((0, BEGIN), (1, {"phase": "one"}))[-1]["ansible_facts"]["wedsync_report_events"]
        second = play((5, BEGIN), (6, {"phase": "two"}))[-1]["ansible_facts"]["wedsync_report_events"]
        assert current_run([*first, *second]) == second
        assert [p["name"] for p in build_report([*first, *second])["phases"]] == ["two"]

    def test_a_report_needs_a_begin(self):
        with pytest.raises(ReportError, match="begin"):
            build_report([])

    def test_a_resumed_run_that_took_over(self):
        journal = {
            "journal": {"bucket": "b", "key": "journal/deploy.json"},
            "resumed": {"run_id": "20261207T010000Z-abcdef", "completed_steps": ["stage", "smoke"]},
            "took_over": {"run_id": "20261207T010000Z-abcdef", "holder": {"pid": 99}, "reason": "holder gone"},
        }
        results = play((0, BEGIN), (1, journal), (2, {"end": True}))
        report = validate(results[-1]["report"])
        assert report["resumed"] is True
        assert report["journal"]["completed_steps"] == ["stage", "smoke"]
        assert report["journal"]["took_over"]["reason"] == "holder gone"
        page = render_markdown(report)
        assert "- Kept in `s3://b/journal/deploy.json`." in page
        assert "- Resumed run `20261207T010000Z-abcdef`; steps it had completed: stage, smoke." in page
        assert '- Took the lock over from run `20261207T010000Z-abcdef` of {"pid": 99}: holder gone.' in page

    def test_check_mode_says_so_in_the_summary(self):
        results = play((0, BEGIN), (1, {"end": True}), context={**CONTEXT, "check_mode": True})
        assert results[-1]["report"]["check_mode"] is True
        assert results[-1]["report"]["summary"].startswith("Dry run (check mode): ")

    def test_end_hands_aws_the_summary_as_stats(self):
        result = play(
            (0, BEGIN), (1, {"phase": "p"}), (2, {"measurement": "m", "value": 1, "objective": 2}), (3, {"end": True})
        )[-1]
        stats = result["ansible_stats"]
        assert stats["per_host"] is False
        assert stats["aggregate"] is True
        summary = stats["data"]["wedsync_run_report"]
        assert summary == summarize(result["report"])
        assert stats["data"]["wedsync_run_reports"] == {summary["run_id"]: summary}
        assert summary["outcome"] == "SUCCEEDED"
        assert summary["phases"] == [{"name": "p", "duration_seconds": 2.0, "status": "succeeded"}]
        assert summary["measurements"][0]["met"] is True


class TestTime:
    @pytest.mark.parametrize(
        ("seconds", "text"),
        [
            (None, "—"),
            (0, "0s"),
            (4.25, "4.2s"),
            (31.4, "31s"),
            (326, "5m 26s"),
            (1080, "18m"),
            (14400, "4h"),
            (3900, "1h 05m"),
        ],
    )
    def test_durations(self, seconds, text):
        assert human_duration(seconds) == text

    def test_offsets(self):
        assert clock(259.8) == "+04:19"
        assert clock(3725) == "+1:02:05"


class TestFiles:
    def test_write_leaves_the_three_files(self, tmp_path):
        report = build_report(deploy_events())
        directory = report_directory(str(tmp_path / "reports"), report)
        assert directory == str(tmp_path / "reports" / "blue_green-deploy-20261207T030000Z-4f9c2e")
        paths = write_report(report, directory)
        assert sorted(Path(path).name for path in paths.values()) == ["report.json", "report.md", "timeline.svg"]
        assert validate(json.loads(Path(paths["json"]).read_text())) == report
        assert Path(paths["markdown"]).read_text() == render_markdown(report)
        ET.parse(paths["svg"])
        assert sorted(p.name for p in Path(directory).iterdir()) == ["report.json", "report.md", "timeline.svg"]

    def test_directory_names_are_safe(self):
        report = {"runbook": "../etc", "action": "fail over", "run_id": "20261207T030000Z-4f9c2e"}
        assert report_directory("/r", report) == "/r/etc-fail_over-20261207T030000Z-4f9c2e"

    def test_the_docs_example_is_what_the_renderer_draws(self):
        assert EXAMPLE_SVG.read_text() == render_svg(build_report(deploy_events())), (
            f"redraw it: PYTHONPATH=.cache/collections .venv/bin/python {Path(__file__).relative_to(ROOT)}"
        )


if __name__ == "__main__":
    EXAMPLE_SVG.parent.mkdir(parents=True, exist_ok=True)
    EXAMPLE_SVG.write_text(render_svg(build_report(deploy_events())))
    sys.stdout.write(render_markdown(build_report(deploy_events())))
