"""The end-to-end check on the shared estate: a probe written through the edge, the ALB and a real app host
into the primary database and Redis, read back and deleted; a failing release fails it; a dry run writes
nothing. Response times are reported, not judged here: the twin's data plane is not production's."""

from __future__ import annotations

import json
from typing import Any

import boto3
import psycopg2
from harness import PREFIX, Runbooks

from twin.client import TwinClient

JOURNEY_CHECKS = {"journey", "write", "read", "cache", "cleanup"}


def probes_in_the_primary() -> int:
    """The rows the journeys left in e2e_probes, read as the application's database user."""
    db = boto3.client("rds", region_name="us-east-1").describe_db_instances(DBInstanceIdentifier=f"{PREFIX}-db")
    instance = db["DBInstances"][0]
    secret = boto3.client("secretsmanager", region_name="us-east-1").get_secret_value(SecretId="wedsync/local/database")
    login = json.loads(secret["SecretString"])
    connection = psycopg2.connect(
        host=instance["Endpoint"]["Address"],
        port=instance["Endpoint"]["Port"],
        user=login["username"],
        password=login["password"],
        dbname=instance["DBName"],
        connect_timeout=5,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('e2e_probes') IS NOT NULL")
            if not cursor.fetchone()[0]:
                return 0
            cursor.execute("SELECT count(*) FROM e2e_probes")
            return cursor.fetchone()[0]
    finally:
        connection.close()


def failing(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["severity"] in ("P0", "P1")]


def test_the_journey_writes_through_the_public_path_reads_back_and_leaves_nothing(
    runbooks: Runbooks, serving: str
) -> None:
    run = runbooks.run("e2e_check.yml")
    report = run.report
    assert (report["runbook"], report["action"]) == ("health_check", "e2e")
    # The p95 is the twin's, reported against the seed's target; only a slow twin may fail the run.
    assert all(f["check"] == "response time" for f in failing(report)), report["findings"]
    assert report["outcome"] == ("SUCCEEDED" if not failing(report) else "FAILED")
    journey = [f for f in report["findings"] if f["check"] in JOURNEY_CHECKS]
    assert [(f["check"], f["severity"]) for f in journey] == [("journey", None)]
    assert journey[0]["name"].startswith("wrote, read back 20 times and deleted a probe through")
    (p95,) = [m for m in report["measurements"] if m["name"] == "p95 response time"]
    assert (p95["unit"], p95["objective"]) == ("ms", 200)
    assert p95["value"] > 0
    assert report["journal"] is None, "a read-only check takes no journal"
    assert probes_in_the_primary() == 0


def test_a_release_answering_500_to_users_is_the_service_down_p0(
    runbooks: Runbooks, twin: TwinClient, serving: str, clean_overrides: None
) -> None:
    """Its health checks pass, so the load balancer keeps it: only a journey sees users failing."""
    twin.set_app_response(serving, 500)
    run = runbooks.run("e2e_check.yml", "-e", "health_check_e2e_reads=2")
    assert run.rc != 0
    report = run.report
    assert report["outcome"] == "FAILED"
    assert [(f["check"], f["severity"]) for f in failing(report) if f["check"] != "response time"] == [
        ("journey", "P0")
    ]
    assert "status 500" in failing(report)[0]["detail"]
    assert report["summary"].startswith("UNHEALTHY (worst P0)")
    twin.clear_app_responses()
    assert probes_in_the_primary() == 0, "the write failed before the database, and nothing was left"


def test_a_dry_run_writes_nothing(runbooks: Runbooks, serving: str) -> None:
    run = runbooks.run("e2e_check.yml", "--check", "-e", "health_check_e2e_reads=3")
    assert all(f["check"] == "response time" for f in failing(run.report)), run.report["findings"]
    journey = [f for f in run.report["findings"] if f["check"] == "journey"]
    assert journey[0]["name"].startswith("read 3 times (dry run) through")
    assert probes_in_the_primary() == 0
