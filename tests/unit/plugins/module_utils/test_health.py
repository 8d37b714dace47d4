"""The deep health check's verdicts: each check's findings and severities, from what the role read."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from ansible_collections.wedsync.platform.plugins.module_utils.health import deep_health_findings, failing, worst

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
BLUE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/p-blue/1"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/5f2a9a51-0c6e-4cc4-9a6c-3f6f0e9e1a2b"
GREEN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/p-green/2"


def _targets(*states: str) -> list[dict[str, Any]]:
    return [
        {"target": {"id": f"i-{n}"}, "target_health": {"state": state, "reason": None if state == "healthy" else "X"}}
        for n, state in enumerate(states)
    ]


def _replica(name: str, region: str, lag: float | None, status: str = "ok", **more: Any) -> dict[str, Any]:
    return {"db_instance_identifier": name, "region": region, "lag_seconds": lag, "status": status, **more}


def healthy() -> dict[str, Any]:
    forward = {"type": "forward", "forward_config": {"target_groups": [{"target_group_arn": BLUE, "weight": 100}]}}
    return {
        "serving": {"url": "https://wedsync.test/api/health", "status": 200, "json": {"version": "1.2.3"}},
        "primary_estate": {
            "load_balancer": {
                "load_balancer": {"listeners": [{"port": 443, "default_actions": [forward]}]},
                "target_groups": {
                    "blue": {"target_group_arn": BLUE, "targets_health_description": _targets("healthy", "healthy")},
                    "green": {"target_group_arn": GREEN, "targets_health_description": []},
                },
            },
            "database": {"primary": {"db_instance_identifier": "p-db", "db_instance_status": "available"}},
            "cache": {"replication_group": {"replication_group_id": "p-redis", "status": "available"}},
            "alerting": {"alarms": [{"alarm_name": "p-alb-5xx-critical", "state_value": "OK"}]},
        },
        "replica_lag": {
            "replicas": [
                _replica("p-db-replica-1", "us-east-1", 0.2),
                _replica("p-db-replica-2", "us-east-1", 0.4),
                _replica("p-db-dr", "us-west-2", 1.5),
            ]
        },
        "deep": {
            "certificates": [
                {
                    "certificate_arn": CERTIFICATE,
                    "domain_name": "wedsync.test",
                    "status": "ISSUED",
                    "not_after": "2027-06-01T00:00:00Z",
                    "in_use_by": ["arn:alb"],
                }
            ],
            "secrets": [{"name": "wedsync/local/redis", "replication": [{"region": "us-west-2", "status": "InSync"}]}],
            "cache": {"reachable": True, "ping_seconds": 0.0012, "role": "master", "connected_slaves": 2},
        },
        "primary_region": "us-east-1",
        "dr_region": "us-west-2",
        "limits": {
            "listener_port": 443,
            "database_replicas": 2,
            "cache_replicas": 2,
            "replica_max_seconds": 5.0,
            "certificate_min_days": 30,
        },
    }


def graded(read: dict[str, Any], check: str) -> list[tuple[str | None, str]]:
    return [(f["severity"], f["finding"]) for f in deep_health_findings(read, NOW) if f["check"] == check]


def test_a_healthy_estate_has_a_finding_per_check_and_no_severity() -> None:
    findings = deep_health_findings(healthy(), NOW)
    assert {f["check"] for f in findings} == {
        "serving",
        "targets",
        "database",
        "replicas",
        "dr replica",
        "cache",
        "alarms",
        "certificates",
        "secrets",
    }
    assert worst(findings) is None
    assert graded(healthy(), "serving") == [(None, "https://wedsync.test/api/health answers 200, release 1.2.3")]


@pytest.mark.parametrize(
    ("serving", "why"), [({"status": 503}, "status 503"), ({"status": -1, "msg": "Connection refused"}, "refused")]
)
def test_the_live_site_not_answering_200_is_p0(serving: dict[str, Any], why: str) -> None:
    read = healthy()
    read["serving"] = {"url": "https://wedsync.test/api/health", **serving}
    found = [f for f in deep_health_findings(read, NOW) if f["check"] == "serving"]
    assert found[0]["severity"] == "P0" and why in found[0]["detail"]


def test_targets_no_healthy_live_target_is_p0_some_p1_idle_p3() -> None:
    read = healthy()
    groups = read["primary_estate"]["load_balancer"]["target_groups"]
    groups["blue"]["targets_health_description"] = _targets("unhealthy", "unhealthy")
    groups["green"]["targets_health_description"] = _targets("unhealthy")
    assert graded(read, "targets") == [
        ("P0", "0 of 2 targets of the live colour blue healthy"),
        ("P3", "0 of 1 targets of the idle colour green healthy"),
    ]
    groups["blue"]["targets_health_description"] = _targets("healthy", "draining")
    assert graded(read, "targets")[0] == ("P1", "1 of 2 targets of the live colour blue healthy")


def test_a_live_colour_without_targets_is_p0_an_idle_one_is_fine() -> None:
    read = healthy()
    read["primary_estate"]["load_balancer"]["target_groups"]["blue"]["targets_health_description"] = []
    assert graded(read, "targets") == [
        ("P0", "no target in the live colour blue"),
        (None, "no target in the idle colour green"),
    ]


def test_a_canary_makes_both_colours_live() -> None:
    read = healthy()
    listener = read["primary_estate"]["load_balancer"]["load_balancer"]["listeners"][0]
    listener["default_actions"][0]["forward_config"]["target_groups"].append({"target_group_arn": GREEN, "weight": 10})
    read["primary_estate"]["load_balancer"]["target_groups"]["green"]["targets_health_description"] = _targets(
        "unhealthy"
    )
    assert ("P0", "0 of 1 targets of the live colour green healthy") in graded(read, "targets")


@pytest.mark.parametrize(("status", "severity"), [("backing-up", "P2"), ("rebooting", "P0"), ("stopped", "P0")])
def test_a_primary_not_available_is_p0_unless_it_still_serves(status: str, severity: str) -> None:
    read = healthy()
    read["primary_estate"]["database"]["primary"]["db_instance_status"] = status
    assert graded(read, "database") == [(severity, f"primary p-db is {status}")]
    read["primary_estate"]["database"]["primary"] = None
    assert graded(read, "database") == [("P0", "no primary database instance")]


def test_a_lagging_or_missing_read_replica() -> None:
    read = healthy()
    read["replica_lag"]["replicas"][0] = _replica("p-db-replica-1", "us-east-1", 9.0, "breached")
    read["replica_lag"]["replicas"].pop(1)
    assert graded(read, "replicas") == [
        ("P1", "p-db-replica-1 (us-east-1) lags 9 s"),
        ("P2", "1 read replicas in us-east-1, 2 expected"),
    ]


@pytest.mark.parametrize(
    ("replica", "expected"),
    [
        (_replica("p-db-dr", "us-west-2", 12.0, "breached"), ("P2", "p-db-dr (us-west-2) lags 12 s")),
        (_replica("p-db-dr", "us-west-2", 4000.0, "breached"), ("P1", "p-db-dr (us-west-2) lags 4000 s")),
        (_replica("p-db-dr", "us-west-2", None, "unmeasurable"), ("P1", "p-db-dr (us-west-2) cannot be measured")),
        (
            _replica("p-db-dr", "us-west-2", 0.5, "breached", replication_status="error"),
            ("P1", "p-db-dr (us-west-2) lags 0.5 s"),
        ),
    ],
)
def test_the_dr_replica_against_the_threshold_and_the_rpo(replica: dict[str, Any], expected: tuple[str, str]) -> None:
    read = healthy()
    read["replica_lag"]["replicas"][2] = replica
    assert graded(read, "dr replica") == [expected]


def test_no_dr_replica_is_p1() -> None:
    read = healthy()
    read["replica_lag"]["replicas"].pop(2)
    assert graded(read, "dr replica") == [("P1", "no replica of the primary in us-west-2")]


def test_the_cache_unreachable_is_p1_and_a_missing_replica_p2() -> None:
    read = healthy()
    read["deep"]["cache"]["connected_slaves"] = 1
    assert graded(read, "cache")[0] == ("P2", "p-redis has 1 replicas connected, 2 expected")
    read["deep"]["cache"] = {"reachable": False, "error": "WRONGPASS invalid username-password pair"}
    found = [f for f in deep_health_findings(read, NOW) if f["check"] == "cache"]
    assert [(f["severity"], f["detail"]) for f in found] == [("P1", "WRONGPASS invalid username-password pair")]


def test_alarms_in_alarm_critical_p1_warning_p2() -> None:
    read = healthy()
    read["primary_estate"]["alerting"]["alarms"] = [
        {"alarm_name": "p-alb-5xx-critical", "state_value": "ALARM"},
        {"alarm_name": "p-alb-latency-warning", "state_value": "ALARM"},
        {"alarm_name": "p-db-cpu-warning", "state_value": "OK"},
    ]
    assert graded(read, "alarms") == [
        ("P1", "p-alb-5xx-critical in ALARM"),
        ("P2", "p-alb-latency-warning in ALARM"),
    ]


@pytest.mark.parametrize(
    ("not_after", "severity"),
    [("2026-12-30T00:00:00Z", "P2"), ("2026-12-10T00:00:00Z", "P1"), ("2026-12-01T00:00:00Z", "P0")],
)
def test_certificates_expiring(not_after: str, severity: str) -> None:
    read = healthy()
    read["deep"]["certificates"][0]["not_after"] = not_after
    assert graded(read, "certificates")[0][0] == severity


def test_a_certificate_in_use_but_not_issued_is_p1() -> None:
    read = healthy()
    read["deep"]["certificates"][0]["status"] = "PENDING_VALIDATION"
    assert graded(read, "certificates") == [("P1", "wedsync.test (…0e9e1a2b) is PENDING_VALIDATION")]


def test_secrets_not_in_sync_in_the_dr_region_are_p2() -> None:
    read = healthy()
    read["deep"]["secrets"] = [
        {"name": "wedsync/local/app", "replication": []},
        {"name": "wedsync/local/redis", "replication": [{"region": "us-west-2", "status": "Failed"}]},
    ]
    assert graded(read, "secrets") == [
        ("P2", "wedsync/local/app is not replicated to us-west-2"),
        ("P2", "wedsync/local/redis is Failed in us-west-2"),
    ]


def test_findings_come_worst_first_and_fail_on_the_levels_asked() -> None:
    read = copy.deepcopy(healthy())
    read["deep"]["secrets"][0]["replication"] = []
    read["serving"]["status"] = 502
    findings = deep_health_findings(read, NOW)
    assert [f["severity"] for f in findings[:2]] == ["P0", "P2"]
    assert worst(findings) == "P0"
    assert [f["check"] for f in failing(findings, ["P0", "P1"])] == ["serving"]
    assert failing(findings, ["P3"]) == []
