"""The deep health check end to end on the shared estate: every check graded, and the faults it must catch."""

from __future__ import annotations

import json
from typing import Any

import boto3
from harness import PREFIX, Runbooks, replica_behind

from twin.client import TwinClient

CHECKS = {"serving", "targets", "database", "replicas", "dr replica", "cache", "alarms", "certificates", "secrets"}

elb = boto3.client("elbv2", region_name="us-east-1")


def findings(report: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["check"] == check]


def live_target_group() -> str:
    """The target group of the colour the HTTPS listener forwards to (the most weight)."""
    balancer = elb.describe_load_balancers(Names=[f"{PREFIX}-alb"])["LoadBalancers"][0]
    listener = next(
        li
        for li in elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
        if li["Port"] == 443
    )
    action = listener["DefaultActions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": action["TargetGroupArn"]}]
    return max(groups, key=lambda g: g.get("Weight", 1))["TargetGroupArn"]


def redis_token() -> str:
    secret = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(SecretId="wedsync/local/redis")
    return json.loads(secret["SecretString"])["auth_token"]


def test_a_healthy_estate_reports_every_check_and_succeeds(runbooks: Runbooks, serving: str) -> None:
    run = runbooks.run("health_check.yml", "-vvv")
    assert run.rc == 0, run.tail()
    assert redis_token() not in run.output + json.dumps(run.report), "the AUTH token the PING used is never shown"
    report = run.report
    assert (report["runbook"], report["action"], report["outcome"]) == ("health_check", "deep", "SUCCEEDED")
    assert {f["check"] for f in report["findings"]} == CHECKS
    assert not [f for f in report["findings"] if f["severity"] in ("P0", "P1")], report["findings"]
    assert [(f["severity"], "answers 200" in f["name"]) for f in findings(report, "serving")] == [(None, True)]
    assert any("answers PING" in f["name"] for f in findings(report, "cache"))
    assert not [f for f in findings(report, "cache") if f["severity"]], "the twin's Redis replicas are real"
    assert report["journal"] is None, "a read-only check takes no journal"
    assert report["summary"].startswith("HEALTHY")


def test_a_replica_paused_past_the_threshold_fails_the_run_with_a_p1(
    runbooks: Runbooks, twin: TwinClient, serving: str
) -> None:
    replica = f"{PREFIX}-db-replica-1"
    with replica_behind(twin, replica):
        run = runbooks.run("health_check.yml", "-e", "health_check_replica_max_seconds=1")
    assert run.rc != 0
    report = run.report
    assert report["outcome"] == "FAILED", "production is unhealthy: the check failed, it refused nothing"
    lagging = [f for f in findings(report, "replicas") if replica in f["name"]]
    assert [(f["severity"], f["response_time"]) for f in lagging] == [("P1", "1 hour")]
    assert report["findings"][0]["severity"] == "P1", "the worst finding comes first"
    assert replica in run.gate("deep health")["reason"]
    assert {f["check"] for f in report["findings"]} == CHECKS, "a failing run still reports every check"


def test_a_live_colour_without_a_healthy_target_is_p0(
    runbooks: Runbooks, twin: TwinClient, serving: str, clean_overrides: None
) -> None:
    arn = live_target_group()
    targets = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert targets, "the live colour has targets to make unhealthy"
    for target in targets:
        twin.set_target_health(arn, target["Target"]["Id"], "unhealthy", "Target.FailedHealthChecks")
    run = runbooks.run("health_check.yml")
    assert run.rc != 0
    p0 = {f["check"] for f in run.report["findings"] if f["severity"] == "P0"}
    assert p0 == {"targets", "serving"}, run.report["findings"]
    assert all(f["response_time"] == "15 minutes" for f in run.report["findings"] if f["severity"] == "P0")


def test_only_the_severities_asked_fail_the_run(runbooks: Runbooks, twin: TwinClient, serving: str) -> None:
    with replica_behind(twin, f"{PREFIX}-db-replica-1"):
        run = runbooks.run(
            "health_check.yml", "-e", "health_check_replica_max_seconds=1", "-e", '{"health_check_fail_on": ["P0"]}'
        )
    assert run.rc == 0, run.tail()
    assert any(f["severity"] == "P1" for f in run.report["findings"])
    assert run.report["summary"].startswith("DEGRADED (worst P1)")
