"""Example runs for the run report tests: report calls played as a play would, and a whole deploy.

Not a test module: test_run_report.py, test_run_report_markdown.py and test_run_report_svg.py import it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
from ansible_collections.wedsync.platform.plugins.module_utils.run_report import kind_of, record

ROOT = Path(__file__).resolve().parents[4]
SCHEMA = json.loads((ROOT / "meta" / "run_report.schema.json").read_text())
T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
CONTEXT = {
    "user": "sre",
    "controller": "ops-bastion-1",
    "pid": 4242,
    "awx_job_id": None,
    "awx_job_template_name": None,
    "awx_schedule_name": None,
    "awx_user_name": None,
    "check_mode": False,
    "play": "Deploy a release blue/green",
    "target": "production-us-east-1",
    "collection_version": "0.1.0",
}
BEGIN = {
    "begin": {
        "runbook": "deploy_blue_green",
        "action": "deploy",
        "inputs": {"version": "1.2.3", "deploy_steps": [10, 50, 100]},
        "environment": "production",
        "region": "us-east-1",
    }
}


def at(seconds: float) -> str:
    moment = T0 + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def play(*calls: tuple[float, dict[str, Any]], context: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The result of every report call, each seeing the events the facts of the calls before it left.

    As in a play, a failed call's facts are not kept.
    """
    events: list[dict[str, Any]] = []
    results = []
    for seconds, args in calls:
        result = record(kind_of(args), args, events, context or CONTEXT, at=at(seconds))
        results.append(result)
        if not result.get("failed") and "ansible_facts" in result:
            events = result["ansible_facts"]["wedsync_report_events"]
    return results


def validate(report: dict[str, Any]) -> dict[str, Any]:
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(json.dumps(report)))
    return report


def deploy_events() -> list[dict[str, Any]]:
    """A blue/green deploy of 1.2.3 to production in three steps, as its events would be."""
    begin = {
        "begin": {
            **BEGIN["begin"],
            "inputs": {"version": "1.2.3", "deploy_steps": [10, 50, 100], "slack_token": "xoxb-1"},
        }
    }
    alarms = "0 of 4 rollback alarms in ALARM for 60 s"
    results = play(
        (0, begin),
        (0.2, {"journal": {"bucket": "wedsync-production-deployments-us-east-1", "key": "journal/deploy.json"}}),
        (0.3, {"phase": "preflight", "detail": "read both colors"}),
        (3.1, {"gate": "release bundle exists", "passed": True, "reason": "app-v1.2.3.zip is in the bucket"}),
        (5.4, {"gate": "live color healthy", "passed": True, "reason": "blue: 6 of 6 targets healthy"}),
        (
            6.0,
            {
                "gate": "replica lag under 5 s",
                "passed": True,
                "reason": "replica 2 at 7.8 s",
                "override": "forced with -e deploy_force=true during the nightly vacuum",
            },
        ),
        (8.2, {"phase": "stage", "detail": "green: launch template version 14, 6 instances"}),
        (9.0, {"resource": {"id": "lt-0a1b2c/14", "type": "launch template version", "change": "created"}}),
        (
            10.5,
            {
                "resource": {
                    "id": "wedsync-production-app-green",
                    "type": "Auto Scaling group",
                    "change": "modified",
                    "before": {"desired": 0},
                    "after": {"desired": 6},
                }
            },
        ),
        (231.8, {"gate": "green healthy", "passed": True, "reason": "6 of 6 targets healthy"}),
        (232.0, {"measurement": "time to healthy", "value": 221.5, "objective": 600}),
        (232.1, {"phase": "smoke", "detail": "through the test listener on 8443"}),
        (259.6, {"gate": "smoke test", "passed": True, "reason": "12 of 12 checks, GET /api/health 200"}),
        (259.7, {"measurement": "smoke p99 latency", "value": 84, "unit": "ms", "objective": 500}),
        (259.8, {"phase": "shift 10%"}),
        (322.0, {"gate": "alarms quiet at 10%", "passed": True, "reason": alarms}),
        (322.1, {"phase": "shift 50%"}),
        (384.3, {"gate": "alarms quiet at 50%", "passed": True, "reason": alarms}),
        (384.4, {"phase": "shift 100%"}),
        (
            390.9,
            {
                "resource": {
                    "id": "wedsync-production-alb:443",
                    "type": "listener",
                    "change": "modified",
                    "before": {"blue": 100, "green": 0},
                    "after": {"blue": 0, "green": 100},
                }
            },
        ),
        (391.0, {"measurement": "time to full shift", "value": 131.2, "objective": 300, "detail": "10% to 100%"}),
        (452.5, {"gate": "alarms quiet at 100%", "passed": True, "reason": alarms}),
        (452.6, {"phase": "finish", "detail": "record the switch for rollback.yml"}),
        (
            453.9,
            {"resource": {"id": "/wedsync/production/deploy/us-east-1", "type": "SSM parameter", "change": "modified"}},
        ),
        (454.0, {"follow_up": "blue keeps 1.2.2 for a rollback: scale it down once 1.2.3 has been quiet for a day"}),
        (455.2, {"end": True, "summary": "Release 1.2.3 is live on green; blue keeps 1.2.2 for a rollback."}),
    )
    events = results[-1]["ansible_facts"]["wedsync_report_events"]
    return [{**event, "run_id": "20261207T030000Z-4f9c2e"} for event in events]
