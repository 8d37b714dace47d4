"""Example runs for the run report tests: report calls played as a play would, and a whole deploy.

Not a test module: test_run_report.py, test_run_report_markdown.py and test_run_report_svg.py import it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_record import kind_of, record

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
    "play": "Blue/green deploy",
    "target": "production-us-east-1",
    "collection_version": "0.1.0",
}
BEGIN = {
    "begin": {
        "runbook": "blue_green",
        "action": "deploy",
        "inputs": {"blue_green_version": "1.2.3", "blue_green_steps": [10, 50, 100]},
        "secret_inputs": [],
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
    """A blue/green deploy of 1.2.3 to production in three steps, as the blue_green runbook's deploy records it.

    Green (empty, on launch template version 13) gets version 14 with six instances, is smoke-tested through
    the test listener, then takes 10%, 50% and 100% of the traffic from blue (release 1.2.2), each step
    watched 300 s on the rollback alarms; blue keeps running for playbooks/rollback.yml.
    """
    listener = (
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/wedsync-production-alb/"
        "50dc6c495c0c9188/f2f7dc8efc522ab2"
    )
    blue, green = "wedsync-production-blue", "wedsync-production-green"

    def shift(seconds: float, step: int, before: dict[str, int], observed: float) -> list[tuple[float, dict[str, Any]]]:
        """A canary step: its phase, then the listener's new weights and the alarms watched once it is over."""
        after = {green: step, blue: 100 - step}
        resource = {"id": listener, "type": "AWS::ElasticLoadBalancingV2::Listener", "change": "modified"}
        watched = {
            "measurement": f"alarms watched at {step}%",
            "value": observed,
            "unit": "s",
            "objective": 300,
            "objective_kind": "min",
            "detail": "OK throughout",
        }
        end = seconds + observed + 2.7
        return [
            (seconds, {"phase": f"shift {step}% to green"}),
            (end, {"resource": {**resource, "before": before, "after": after}}),
            (end + 0.1, watched),
        ]

    results = play(
        (0, BEGIN),
        (0.3, {"gate": "input", "passed": True, "reason": "release 1.2.3, steps 10,50,100"}),
        (0.4, {"phase": "discover"}),
        (
            4.6,
            {
                "gate": "estate",
                "passed": True,
                "reason": "load balancer, listeners, target groups and Auto Scaling groups found",
            },
        ),
        (4.8, {"gate": "clean state", "passed": True, "reason": "deploy from blue"}),
        (5.9, {"gate": "journal", "passed": True, "reason": "held by this run"}),
        (
            6.0,
            {
                "journal": {
                    "bucket": "wedsync-production-runbooks-us-east-1",
                    "key": "journal/production/blue_green.json",
                    "resumed_from": None,
                    "completed_steps": [],
                    "took_over": None,
                }
            },
        ),
        (6.4, {"phase": "stage green", "detail": "release 1.2.3, 6 instances"}),
        (
            24.7,
            {
                "gate": "target color takes no traffic",
                "passed": True,
                "reason": "wedsync-production-app-green needs no instance replaced",
            },
        ),
        (
            27.3,
            {
                "resource": {
                    "id": "wedsync-production-app-green",
                    "type": "AWS::AutoScaling::AutoScalingGroup",
                    "change": "modified",
                    "before": {"launch_template_version": "13", "desired_capacity": 0},
                    "after": {"launch_template_version": "14", "desired_capacity": 6},
                }
            },
        ),
        (
            268.9,
            {
                "measurement": "time to a healthy green",
                "value": 241.3,
                "unit": "s",
                "objective": 900,
                "detail": (
                    "6/6 instances in service on launch template version 14, 6/6 healthy in wedsync-production-green"
                ),
            },
        ),
        (269.3, {"phase": "smoke test green", "detail": "/api/health through port 8443"}),
        (
            269.4,
            {
                "gate": "smoke URL",
                "passed": True,
                "reason": "https://wedsync-production-alb-123.us-east-1.elb.amazonaws.com:8443",
            },
        ),
        *shift(276.1, 10, {blue: 100}, 300.2),
        *shift(579.2, 50, {green: 10, blue: 90}, 300.4),
        *shift(882.5, 100, {green: 50, blue: 50}, 300.1),
        (
            1185.6,
            {
                "measurement": "time to full shift",
                "value": 909.6,
                "unit": "s",
                "detail": "10%, 50%, 100% to green, each watched 300 s",
            },
        ),
        (
            1186.4,
            {
                "end": True,
                "summary": (
                    "Release 1.2.3 serves all traffic from green; "
                    "blue (release 1.2.2) kept running for playbooks/rollback.yml."
                ),
            },
        ),
    )
    events = results[-1]["ansible_facts"]["wedsync_report_events"]
    return [{**event, "run_id": "20261207T030000Z-4f9c2e"} for event in events]
