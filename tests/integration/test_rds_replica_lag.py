"""rds_replica_lag on the twin's real PostgreSQL, run as a user runs it: `ansible localhost -m ...`.

One estate for the whole module: a primary, two replicas beside it and one in us-west-2.
Lag is made for real, by pausing replay on a standby while the primary keeps writing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from ansible_collections.wedsync.platform.plugins.module_utils.replica_lag import lsn_diff

from twin.client import TwinClient

pytestmark = pytest.mark.twin

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EAST, WEST = "us-east-1", "us-west-2"
PRIMARY, R1, R2, DR = "lagcheck", "lagcheck-r1", "lagcheck-r2", "lagcheck-dr"
PASSWORD = "lag-check-password"  # a throwaway instance on loopback
WRITE_SECONDS = 3.0


@dataclass
class Lagging:
    """A replica paused while the primary wrote for `seconds`, `lag_bytes` of WAL."""

    seconds: float
    lag_bytes: int


def ansible_env() -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_NOCOLOR": "1",
    }


def check(**args: Any) -> dict[str, Any]:
    """One run of the module through `ansible localhost -m`, its result as the json callback reports it."""
    args.setdefault("db_instance_identifier", PRIMARY)
    completed = subprocess.run(
        [BIN / "ansible", "localhost", "-m", "wedsync.platform.rds_replica_lag", "-a", json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=ansible_env(),
        timeout=300,
        check=False,
    )
    try:
        result = json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, LookupError):
        pytest.fail(f"ansible gave no result (rc {completed.returncode}): {completed.stdout}{completed.stderr}")
    assert bool(completed.returncode) == bool(result.get("failed")), result
    return result


def by_id(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {replica["db_instance_identifier"]: replica for replica in result["replicas"]}


def primary_lsn(twin: TwinClient) -> str:
    return twin.sql(PRIMARY, "SELECT pg_current_wal_lsn()::text")[0][0]


def write_for(twin: TwinClient, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        twin.sql(PRIMARY, "INSERT INTO ticks (pad) SELECT repeat('x', 200) FROM generate_series(1, 50)")
        time.sleep(0.1)


def wait_caught_up(twin: TwinClient, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    pending = [(R1, EAST), (R2, EAST), (DR, WEST)]
    while pending:
        pending = [(name, region) for name, region in pending if twin.replica_lag(name, region)["bytes"] != 0]
        if pending and time.monotonic() > deadline:
            pytest.fail(f"replicas never caught up: {pending}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def estate(clean_twin: TwinClient) -> TwinClient:
    east, west = boto3.client("rds", region_name=EAST), boto3.client("rds", region_name=WEST)
    source = east.create_db_instance(
        DBInstanceIdentifier=PRIMARY,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="wedsync",
        MasterUserPassword=PASSWORD,
    )["DBInstance"]
    for replica in (R1, R2):
        east.create_db_instance_read_replica(DBInstanceIdentifier=replica, SourceDBInstanceIdentifier=PRIMARY)
    west.create_db_instance_read_replica(
        DBInstanceIdentifier=DR, SourceDBInstanceIdentifier=source["DBInstanceArn"], SourceRegion=EAST
    )
    clean_twin.sql(PRIMARY, "CREATE TABLE ticks (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), pad text)")
    clean_twin.sql(PRIMARY, "INSERT INTO ticks (pad) VALUES ('first')")
    wait_caught_up(clean_twin)
    return clean_twin


def lag_replica(twin: TwinClient, replica: str, seconds: float) -> Lagging:
    wait_caught_up(twin)
    twin.pause_replay(replica)
    before = primary_lsn(twin)
    write_for(twin, seconds)
    return Lagging(seconds, lsn_diff(primary_lsn(twin), before))


@pytest.fixture
def r1_lagging(estate: TwinClient) -> Iterator[Lagging]:
    lagging = lag_replica(estate, R1, WRITE_SECONDS)
    yield lagging
    estate.resume_replay(R1)
    wait_caught_up(estate)


# -- real lag --------------------------------------------------------------------------------


def test_paused_replica_lags_at_least_the_write_time_and_fails_a_one_second_gate(r1_lagging: Lagging) -> None:
    result = check(source="postgres", login_password=PASSWORD, max_lag_seconds=1)
    assert result["failed"] and result["breached"]
    lagging = by_id(result)[R1]
    assert lagging["status"] == "breached"
    assert lagging["lag_seconds"] >= r1_lagging.seconds
    assert lagging["lag_bytes"] >= r1_lagging.lag_bytes > 0
    assert lagging["replay_paused"] is True
    assert lagging["receive_lag_bytes"] < lagging["lag_bytes"]  # received, not replayed
    assert f"{R1} (us-east-1) lag {lagging['lag_seconds']:.1f} s is" in result["msg"]
    assert {by_id(result)[name]["status"] for name in (R2, DR)} == {"ok"}
    assert result["worst_lag_seconds"] == lagging["lag_seconds"]


def test_cloudwatch_agrees_with_postgres(estate: TwinClient, r1_lagging: Lagging) -> None:
    published_at = {p["db_instance_identifier"]: p["measured_at"] for p in estate.publish_metrics()}[R1]
    by_cloudwatch = by_id(check(source="cloudwatch", fail_on_breach=False, max_lag_seconds=3600))
    read_by = time.time()
    by_postgres = by_id(check(source="postgres", login_password=PASSWORD, max_lag_seconds=3600))
    assert {r["measured_by"] for r in by_cloudwatch.values()} == {"cloudwatch"}
    # Paused replay ages with the clock, so the postgres reading says what the lag was at any moment
    # before it. The datapoint CloudWatch returned was published between our publish and its read.
    postgres_measured_at = datetime.fromisoformat(by_postgres[R1]["measured_at"]).timestamp()
    at_publish = by_postgres[R1]["lag_seconds"] - (postgres_measured_at - published_at)
    at_read = by_postgres[R1]["lag_seconds"] - (postgres_measured_at - read_by)
    assert by_cloudwatch[R1]["lag_seconds"] >= r1_lagging.seconds
    assert at_publish - 1.0 <= by_cloudwatch[R1]["lag_seconds"] <= at_read + 1.0


def resume_while_the_module_waits(twin: TwinClient, replica: str) -> None:
    """Resume replay two seconds after the module first measured the paused replica: between its polls."""
    measured = (
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'wedsync.platform.rds_replica_lag' "
        "AND query LIKE '%pg_last_wal_replay_lsn%'"
    )
    deadline = time.monotonic() + 120
    while not twin.sql(replica, measured)[0][0] and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.0)
    twin.resume_replay(replica)


def test_wait_returns_once_replay_resumes(estate: TwinClient) -> None:
    lag_replica(estate, R2, 2.0)
    resume = threading.Thread(target=resume_while_the_module_waits, args=(estate, R2))
    resume.start()
    try:
        result = check(source="postgres", login_password=PASSWORD, max_lag_seconds=1, wait=True, wait_timeout=60)
    finally:
        resume.join()
    assert not result.get("failed"), result["msg"]
    assert result["attempts"] >= 2  # it found R2 behind, then polled until it caught up
    assert result["worst_lag_seconds"] <= 1
    assert by_id(result)[R2]["replay_paused"] is False


def test_idle_primary_is_no_breach(estate: TwinClient) -> None:
    wait_caught_up(estate)
    time.sleep(3.0)  # write nothing for longer than the threshold below
    age = estate.sql(R1, "SELECT EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8")[0][0]
    assert age > 2, "the last replayed transaction must be older than the threshold for this to test anything"
    result = check(source="postgres", login_password=PASSWORD, max_lag_seconds=2)
    assert not result.get("failed"), result["msg"]
    assert {r["status"] for r in result["replicas"]} == {"ok"}


# -- discovery and sources -------------------------------------------------------------------


def test_cross_region_replica_found_through_the_sources_arn_list(estate: TwinClient) -> None:
    listed = boto3.client("rds", region_name=EAST).describe_db_instances(DBInstanceIdentifier=PRIMARY)
    assert f"arn:aws:rds:us-west-2:123456789012:db:{DR}" in listed["DBInstances"][0]["ReadReplicaDBInstanceIdentifiers"]
    result = check(login_password=PASSWORD)
    assert [(r["region"], r["db_instance_identifier"]) for r in result["replicas"]] == [
        (EAST, R1),
        (EAST, R2),
        (WEST, DR),
    ]
    dr = by_id(result)[DR]
    assert (dr["measured_by"], dr["source_region"], dr["wal_receiver_status"]) == ("postgres", EAST, "streaming")


def test_auto_without_credentials_measures_by_cloudwatch_and_says_so(estate: TwinClient) -> None:
    estate.publish_metrics()
    # One-minute maximums still hold the lag the tests above made: the threshold is not the point here.
    result = check(max_lag_seconds=3600)
    assert not result.get("failed"), result["msg"]
    assert {r["measured_by"] for r in result["replicas"]} == {"cloudwatch"}
    assert "no database credentials" in by_id(result)[DR]["message"]
    assert "measured by CloudWatch instead" in json.dumps(result["warnings"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"db_instance_identifier": "lagcheck-nope"}, "DB instance lagcheck-nope (us-east-1) not found"),
        (
            {"replicas": [PRIMARY]},
            f"DB instance {PRIMARY} (us-east-1) is not a read replica: it has no source instance",
        ),
        ({"login_password": "wrong"}, 'password authentication failed for user "wedsync"'),
    ],
    ids=["unknown instance", "non-replica as replica", "wrong password"],
)
def test_bad_input_fails_clearly(estate: TwinClient, args: dict[str, Any], message: str) -> None:
    result = check(**{"source": "postgres", "login_password": PASSWORD, **args})
    assert result["failed"]
    assert message in result["msg"]


# -- the runbook -----------------------------------------------------------------------------


def playbook(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """playbooks/replica_lag_check.yml as a user runs it, and the report.json it left."""
    env = {**ansible_env(), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default", "WEDSYNC_REPORT_DIR": str(tmp_path)}
    run = subprocess.run(
        [
            BIN / "ansible-playbook",
            "playbooks/replica_lag_check.yml",
            "-e",
            f"replica_lag_db_instance_identifier={PRIMARY}",
            "-e",
            f"replica_lag_login_password={PASSWORD}",
            *extra,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )
    reports = list(tmp_path.glob("*/report.json"))
    assert len(reports) == 1, run.stdout + run.stderr
    return run, json.loads(reports[0].read_text())


def test_runbook_reports_every_replica_and_passes_in_check_mode(estate: TwinClient, tmp_path: Path) -> None:
    run, report = playbook(tmp_path, "--check")
    assert run.returncode == 0, run.stdout + run.stderr
    assert report["outcome"] == "SUCCEEDED"
    assert report["summary"].startswith("PASS: all 3 replicas within 5.0 s")
    measured = {m["name"]: m for m in report["measurements"]}
    assert set(measured) == {f"lag of {name} ({region})" for name, region in ((R1, EAST), (R2, EAST), (DR, WEST))}
    assert all(m["met"] for m in measured.values())
    assert report["inputs"]["replica_lag_login_password"] == "********"
    assert PASSWORD not in run.stdout + run.stderr
    assert "changed=0" in run.stdout


def test_runbook_gate_refuses_with_the_reason(estate: TwinClient, tmp_path: Path) -> None:
    run, report = playbook(tmp_path, "-e", json.dumps({"replica_lag_replicas": ["lagcheck-nope"]}))
    assert run.returncode != 0
    assert report["outcome"] == "REFUSED"
    gate = next(g for g in report["gates"] if g["name"] == "replica lag")
    assert gate["passed"] is False
    assert gate["reason"] == "DB instance lagcheck-nope (us-east-1) not found"
