"""rds_replica_lag against moto: discovery, bad input, the CloudWatch path, the gate and its fallbacks.

PostgreSQL is faked here only to decide what a connection error means and how rows become a
measurement; real lag on real PostgreSQL is the integration tests' job.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import psycopg2
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.module_utils import replica_lag_probes
from ansible_collections.wedsync.platform.plugins.module_utils.replica_lag import InstanceRef
from ansible_collections.wedsync.platform.plugins.modules import rds_replica_lag
from moto import mock_aws

EAST, WEST = "us-east-1", "us-west-2"
PASSWORD = "Tr0ub4dor-and-3"


@pytest.fixture
def aws(monkeypatch):
    """A source with two replicas here and one in the DR region, a second source, a standalone instance."""
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        east = boto3.client("rds", region_name=EAST)
        for source in ("db1", "db2", "standalone"):
            east.create_db_instance(
                DBInstanceIdentifier=source,
                Engine="postgres",
                DBInstanceClass="db.t3.micro",
                MasterUsername="wedsync",
                MasterUserPassword=PASSWORD,
                AllocatedStorage=20,
            )
        for replica, source in (("db1-r1", "db1"), ("db1-r2", "db1"), ("db2-r1", "db2")):
            east.create_db_instance_read_replica(DBInstanceIdentifier=replica, SourceDBInstanceIdentifier=source)
        boto3.client("rds", region_name=WEST).create_db_instance_read_replica(
            DBInstanceIdentifier="db1-dr", SourceDBInstanceIdentifier=arn("db1"), SourceRegion=EAST
        )
        yield


class FakeClock:
    """The module's and the probes' `time`: sleeping records the delay and moves the clock on, at once."""

    def __init__(self, on_sleep: Callable[[], None] | None = None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep:
            self.on_sleep()


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(rds_replica_lag, "time", fake)
    monkeypatch.setattr(replica_lag_probes, "time", fake)
    return fake


def arn(identifier: str, region: str = EAST) -> str:
    return f"arn:aws:rds:{region}:123456789012:db:{identifier}"


def put(metric: str, identifier: str, value: float, region: str = EAST, age: float = 0.0) -> None:
    boto3.client("cloudwatch", region_name=region).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": metric,
                "Value": value,
                "Unit": "Seconds" if metric == "ReplicaLag" else "Bytes",
                "Timestamp": datetime.now(UTC) - timedelta(seconds=age),
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": identifier}],
            }
        ],
    )


def put_all_lags(r1: float = 0.0, r2: float = 0.0, dr: float = 0.0) -> None:
    put("ReplicaLag", "db1-r1", r1)
    put("ReplicaLag", "db1-r2", r2)
    put("ReplicaLag", "db1-dr", dr, region=WEST)


def run(capsys, **args: Any) -> dict[str, Any]:
    args.setdefault("region", EAST)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        rds_replica_lag.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def by_id(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["db_instance_identifier"]: r for r in result["replicas"]}


# -- bad input -------------------------------------------------------------------------------


def test_unknown_instance(aws, capsys) -> None:
    result = run(capsys, db_instance_identifier="nope", source="cloudwatch")
    assert result["failed"]
    assert result["msg"] == "DB instance nope (us-east-1) not found"


def test_unknown_replica(aws, capsys) -> None:
    result = run(capsys, replicas=["db1-r9"], source="cloudwatch")
    assert result["msg"] == "DB instance db1-r9 (us-east-1) not found"


def test_non_replica_passed_as_replica(aws, capsys) -> None:
    result = run(capsys, replicas=["db1-r1", "standalone"], source="cloudwatch")
    assert result["failed"]
    assert result["msg"] == "DB instance standalone (us-east-1) is not a read replica: it has no source instance"


def test_replica_of_another_source(aws, capsys) -> None:
    result = run(capsys, db_instance_identifier="db1", replicas=["db2-r1"], source="cloudwatch")
    assert result["msg"] == "DB instance db2-r1 (us-east-1) replicates from db2 (us-east-1), not from db1 (us-east-1)"


def test_source_without_replicas(aws, capsys) -> None:
    result = run(capsys, db_instance_identifier="standalone", source="cloudwatch")
    assert result["msg"] == "DB instance standalone (us-east-1) has no read replicas"


def test_arn_of_something_else(aws, capsys) -> None:
    result = run(capsys, replicas=["arn:aws:rds:us-east-1:123456789012:snapshot:nightly"], source="cloudwatch")
    assert "is not the ARN of an RDS DB instance" in result["msg"]


def test_needs_a_source_or_replicas(aws, capsys) -> None:
    assert "one of the following is required: db_instance_identifier, replicas" in run(capsys)["msg"]


def test_byte_threshold_with_cloudwatch_is_refused_before_anything_is_read(aws, capsys) -> None:
    result = run(capsys, db_instance_identifier="nope", source="cloudwatch", max_lag_bytes=1024)
    assert result["msg"] == "max_lag_bytes needs a byte measurement: use source=postgres or source=auto"


def test_postgres_without_credentials_is_refused(aws, capsys) -> None:
    result = run(capsys, db_instance_identifier="db1", source="postgres")
    assert result["msg"] == "source=postgres needs database credentials: set login_password or login_secret_id"


def test_missing_secret(aws, capsys) -> None:
    result = run(capsys, db_instance_identifier="db1", source="postgres", login_secret_id="wedsync/nope")
    assert result["msg"] == "Secrets Manager secret wedsync/nope not found in us-east-1"


# -- discovery and the CloudWatch path -------------------------------------------------------


def test_finds_same_region_and_cross_region_replicas(aws, capsys) -> None:
    put_all_lags(r1=0.4, r2=1.2, dr=2.5)
    result = run(capsys, db_instance_identifier="db1", source="cloudwatch")
    assert not result.get("failed") and not result["changed"] and not result["breached"]
    assert [(r["region"], r["db_instance_identifier"]) for r in result["replicas"]] == [
        (EAST, "db1-r1"),
        (EAST, "db1-r2"),
        (WEST, "db1-dr"),
    ]
    dr = by_id(result)["db1-dr"]
    assert (dr["lag_seconds"], dr["measured_by"], dr["status"], dr["lag_bytes"]) == (2.5, "cloudwatch", "ok", None)
    assert (dr["source_db_instance_identifier"], dr["source_region"]) == ("db1", EAST)
    assert dr["measurement_age_seconds"] < 62  # from the start of the datapoint's minute
    assert result["worst_lag_seconds"] == 2.5
    assert result["attempts"] == 1
    assert result["msg"] == "all 3 replicas within 5.0 s: worst lag 2.5 s"


def test_every_returned_key_is_documented_and_every_documented_key_returned(aws, capsys) -> None:
    put_all_lags()
    result = run(capsys, db_instance_identifier="db1", source="cloudwatch")
    documented = yaml.safe_load(rds_replica_lag.RETURN)
    internal = {"changed", "msg", "invocation", "warnings"}
    assert set(result) - internal == set(documented)
    for replica in result["replicas"]:
        assert set(replica) == set(documented["replicas"]["contains"])


def test_cross_region_replica_named_by_arn(aws, capsys) -> None:
    put("ReplicaLag", "db1-dr", 0.0, region=WEST)
    result = run(capsys, replicas=[arn("db1-dr", WEST)], source="cloudwatch")
    assert [(r["region"], r["db_instance_identifier"]) for r in result["replicas"]] == [(WEST, "db1-dr")]


def test_lag_is_read_in_the_replicas_own_region(aws, capsys) -> None:
    put_all_lags()
    put("ReplicaLag", "db1-dr", 99.0)  # the same name in the wrong region must not count
    assert by_id(run(capsys, db_instance_identifier="db1", source="cloudwatch"))["db1-dr"]["lag_seconds"] == 0.0


def test_breach_fails_naming_the_replica_and_the_excess(aws, capsys, clock) -> None:
    put_all_lags(r2=12.0)
    result = run(capsys, db_instance_identifier="db1", source="cloudwatch")
    assert result["failed"] and result["breached"]
    assert result["msg"] == "1 of 3 replicas over 5.0 s: db1-r2 (us-east-1) lag 12.0 s is 7.0 s over 5.0 s"
    assert by_id(result)["db1-r2"]["status"] == "breached"
    assert by_id(result)["db1-r1"]["status"] == "ok"
    assert result["attempts"] == 1
    assert clock.sleeps == []


def test_breach_reported_without_failing(aws, capsys, clock) -> None:
    put_all_lags(r1=6.0)
    result = run(capsys, db_instance_identifier="db1", source="cloudwatch", fail_on_breach=False)
    assert not result.get("failed")
    assert result["breached"]
    assert result["worst_lag_seconds"] == 6.0


def test_replica_without_datapoint_fails_even_when_breaches_do_not(aws, capsys, clock) -> None:
    put("ReplicaLag", "db1-r1", 0.0)
    put("ReplicaLag", "db1-r2", 0.0)
    result = run(capsys, db_instance_identifier="db1", source="cloudwatch", fail_on_breach=False)
    assert result["failed"]
    assert result["msg"] == "cannot measure db1-dr (us-west-2): no AWS/RDS ReplicaLag datapoint in the last 300 s"
    assert by_id(result)["db1-dr"]["status"] == "unmeasurable"


def test_datapoint_older_than_allowed_is_not_used(aws, capsys, clock) -> None:
    put_all_lags()
    put("ReplicaLag", "db1-r1", 0.0, age=600)
    result = run(capsys, replicas=["db2-r1"], source="cloudwatch", max_datapoint_age=120)
    assert "no AWS/RDS ReplicaLag datapoint in the last 120 s" in result["msg"]


def test_negative_replica_lag_means_replication_is_down(aws, capsys, clock) -> None:
    put("ReplicaLag", "db2-r1", -1.0)
    result = run(capsys, replicas=["db2-r1"], source="cloudwatch")
    assert result["msg"] == "cannot measure db2-r1 (us-east-1): ReplicaLag is -1: replication is not running"


def test_oldest_replication_slot_lag_of_the_source(aws, capsys) -> None:
    put_all_lags()
    put("OldestReplicationSlotLag", "db1", 65536.0)
    result = run(capsys, db_instance_identifier="db1", source="cloudwatch")
    assert result["oldest_replication_slot_lag_bytes"] == 65536.0


def test_wait_polls_with_backoff_until_every_replica_is_measured_and_under(aws, capsys, clock) -> None:
    put("ReplicaLag", "db1-r1", 0.0)
    put("ReplicaLag", "db1-r2", 0.0)
    clock.on_sleep = lambda: len(clock.sleeps) == 3 and put("ReplicaLag", "db1-dr", 0.3, region=WEST)
    result = run(capsys, db_instance_identifier="db1", source="cloudwatch", wait=True, wait_timeout=60)
    assert not result.get("failed")
    assert result["attempts"] == 4 and clock.sleeps == [1.0, 2.0, 4.0]
    assert by_id(result)["db1-dr"]["lag_seconds"] == 0.3


def test_wait_gives_up_at_the_timeout_with_the_last_measurement(aws, capsys, clock) -> None:
    put_all_lags(dr=30.0)
    result = run(capsys, db_instance_identifier="db1", source="cloudwatch", wait=True, wait_timeout=20)
    assert result["failed"] and result["breached"]
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0, 5.0]
    assert result["attempts"] == 6
    assert "db1-dr (us-west-2) lag 30.0 s is 25.0 s over 5.0 s" in result["msg"]


def test_check_mode_measures_the_same(aws, capsys) -> None:
    put_all_lags(r1=1.0)
    result = run(capsys, db_instance_identifier="db1", source="cloudwatch", _ansible_check_mode=True)
    assert not result.get("failed") and not result["changed"]
    assert by_id(result)["db1-r1"]["lag_seconds"] == 1.0


# -- auto and postgres: what a connection failure means ----------------------------------------


def refuse(message: str, calls: list[dict[str, Any]] | None = None):
    def connect(**kwargs: Any):
        if calls is not None:
            calls.append(kwargs)
        raise psycopg2.OperationalError(message)

    return connect


def test_auto_without_credentials_uses_cloudwatch_and_says_why(aws, capsys) -> None:
    put_all_lags()
    result = run(capsys, db_instance_identifier="db1")
    assert not result.get("failed")
    assert {r["measured_by"] for r in result["replicas"]} == {"cloudwatch"}
    assert "postgres unusable" in by_id(result)["db1-r1"]["message"]
    assert "no database credentials" in by_id(result)["db1-r1"]["message"]
    assert "measured by CloudWatch instead: db1-r1, db1-r2, db1-dr" in json.dumps(result["warnings"])


def test_auto_falls_back_when_postgres_cannot_be_reached(aws, capsys, monkeypatch) -> None:
    put_all_lags(r2=0.7)
    monkeypatch.setattr(replica_lag_probes.psycopg2, "connect", refuse("connection refused"))
    result = run(capsys, db_instance_identifier="db1", login_password=PASSWORD)
    assert not result.get("failed")
    assert by_id(result)["db1-r2"]["measured_by"] == "cloudwatch"
    assert by_id(result)["db1-r2"]["lag_seconds"] == 0.7
    assert "cannot connect to db1 (us-east-1)" in by_id(result)["db1-r2"]["message"]


def test_postgres_refusing_the_password_fails_at_once_even_when_waiting(aws, capsys, clock, monkeypatch) -> None:
    refused = 'connection to server failed: FATAL:  password authentication failed for user "wedsync"'
    monkeypatch.setattr(replica_lag_probes.psycopg2, "connect", refuse(refused))
    result = run(capsys, db_instance_identifier="db1", source="postgres", login_password="wrong", wait=True)
    assert result["failed"]
    assert result["msg"].startswith("cannot connect to db1 (us-east-1) at db1.")
    assert 'password authentication failed for user "wedsync"' in result["msg"]
    assert clock.sleeps == []


def test_postgres_unreachable_replica_is_unmeasurable_with_its_reason(aws, capsys, clock, monkeypatch) -> None:
    monkeypatch.setattr(replica_lag_probes.psycopg2, "connect", refuse("timeout expired"))
    result = run(capsys, replicas=["db2-r1"], source="postgres", login_password=PASSWORD)
    assert result["failed"]
    assert result["msg"].startswith("cannot measure db2-r1 (us-east-1): source db2 (us-east-1): cannot connect to db2")
    assert result["msg"].endswith("as wedsync: timeout expired")


def test_credentials_from_secrets_manager_and_read_only_sessions(aws, capsys, monkeypatch) -> None:
    boto3.client("secretsmanager", region_name=EAST).create_secret(
        Name="wedsync/production/database", SecretString=json.dumps({"username": "sre", "password": PASSWORD})
    )
    put("ReplicaLag", "db2-r1", 0.0)
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(replica_lag_probes.psycopg2, "connect", refuse("connection refused", calls))
    result = run(capsys, replicas=["db2-r1"], login_secret_id="wedsync/production/database", connect_timeout=3)
    assert calls[0]["user"] == "sre" and calls[0]["password"] == PASSWORD
    assert calls[0]["connect_timeout"] == 3 and calls[0]["sslmode"] == "prefer"
    assert "default_transaction_read_only=on" in calls[0]["options"]
    assert "statement_timeout=3000" in calls[0]["options"]
    assert PASSWORD not in json.dumps(result)


class FakeConnection:
    """Answers the module's three queries with canned rows, the next of each list on each call."""

    def __init__(self, rows: dict[str, list[list[tuple[Any, ...]]]]) -> None:
        self.rows = rows
        self.calls = dict.fromkeys(rows, 0)

    def cursor(self) -> FakeConnection:
        return self

    def __enter__(self) -> FakeConnection:
        return self

    def __exit__(self, *_: Any) -> None:
        return None

    def execute(self, sql: str) -> None:
        answers = self.rows[sql]
        self.result = answers[min(self.calls[sql], len(answers) - 1)]
        self.calls[sql] += 1

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self.result

    def set_session(self, **_: Any) -> None:
        return None

    def close(self) -> None:
        return None


def fake_postgres(
    monkeypatch,
    replica_rows: list[tuple[Any, ...]],
    replication_rows: list[tuple[Any, ...]],
    source_rows: list[tuple[str, datetime]] | None = None,
) -> None:
    """Every connection answers alike: the source's position, its pg_stat_replication, the replica's state."""
    rows = {
        replica_lag_probes.SOURCE_SQL: [[row] for row in source_rows or [("0/5000000", datetime.now(UTC))]],
        replica_lag_probes.REPLICATION_ROWS_SQL: [replication_rows],
        replica_lag_probes.REPLICA_SQL: [[row] for row in replica_rows],
    }
    connection = FakeConnection(rows)
    monkeypatch.setattr(replica_lag_probes.psycopg2, "connect", lambda **_: connection)


def test_postgres_rows_become_a_measurement(aws, capsys, clock, monkeypatch) -> None:
    now = datetime.now(UTC)
    replica = (True, "0/5000000", "0/4000000", 7.5, now, True, "streaming", "rds_slot_b", "user=rdsadmin")
    replication = [("walreceiver", "rds_slot_a", 0.001, 0.002, 0.003), ("walreceiver", "rds_slot_b", 0.01, 0.02, 6.9)]
    fake_postgres(monkeypatch, [replica], replication)
    result = run(capsys, replicas=["db2-r1"], source="postgres", login_password=PASSWORD, max_lag_bytes=1 << 30)
    assert clock.sleeps == [replica_lag_probes.SECOND_LOOK_SECONDS]  # looked again: still paused, still behind
    measured = by_id(result)["db2-r1"]
    assert (measured["lag_seconds"], measured["lag_bytes"], measured["receive_lag_bytes"]) == (7.5, 0x1000000, 0)
    assert (measured["replay_paused"], measured["wal_receiver_status"]) == (True, "streaming")
    assert (measured["write_lag_seconds"], measured["replay_lag_seconds"]) == (0.01, 6.9)
    assert measured["measured_by"] == "postgres"
    assert result["msg"].startswith("1 of 1 replicas over 5.0 s and 1073741824 bytes: db2-r1 (us-east-1) lag 7.5 s")


def test_idle_source_replica_caught_up_passes(aws, capsys, monkeypatch) -> None:
    replica = (True, "0/5000000", "0/5000000", 5400.0, datetime.now(UTC), False, "streaming", None, None)
    fake_postgres(monkeypatch, [replica], [])
    result = run(capsys, replicas=["db2-r1"], source="postgres", login_password=PASSWORD, max_lag_seconds=1)
    assert not result.get("failed")
    assert (by_id(result)["db2-r1"]["lag_seconds"], by_id(result)["db2-r1"]["lag_bytes"]) == (0.0, 0)
    assert by_id(result)["db2-r1"]["replay_lag_seconds"] is None


def test_wal_without_transactions_on_an_idle_source_is_not_lag(aws, capsys, clock, monkeypatch) -> None:
    # Vacuum WAL the replica has not replayed yet, an hour after the last transaction: it replays it
    # within the second look, so it is behind by at most the time between the looks.
    first = datetime.now(UTC)
    later = first + timedelta(seconds=0.3)
    replica_rows = [
        (True, "0/5000000", "0/4FFF000", 3600.0, first, False, "streaming", None, None),
        (True, "0/5000400", "0/5000000", 3600.3, later, False, "streaming", None, None),
    ]
    fake_postgres(monkeypatch, replica_rows, [], [("0/5000000", first), ("0/5000400", later)])
    result = run(capsys, replicas=["db2-r1"], source="postgres", login_password=PASSWORD, max_lag_seconds=1)
    assert not result.get("failed"), result["msg"]
    assert by_id(result)["db2-r1"]["lag_seconds"] == 0.3
    assert by_id(result)["db2-r1"]["lag_bytes"] == 0x400


def test_promoted_replica_is_unmeasurable_not_caught_up(aws, capsys, clock, monkeypatch) -> None:
    replica = (False, None, None, None, datetime.now(UTC), None, None, None, None)
    fake_postgres(monkeypatch, [replica], [])
    result = run(capsys, replicas=["db2-r1"], source="postgres", login_password=PASSWORD)
    assert result["msg"] == (
        "cannot measure db2-r1 (us-east-1): not in recovery: it has been promoted and no longer replicates "
        "from db2 (us-east-1)"
    )


def test_rds_replication_error_is_read_from_status_infos() -> None:
    instance = replica_lag_probes.to_instance(
        InstanceRef(WEST, "db1-dr"),
        {
            "Engine": "postgres",
            "ReadReplicaSourceDBInstanceIdentifier": arn("db1"),
            "StatusInfos": [
                {"StatusType": "read replication", "Normal": False, "Status": "error", "Message": "replication stopped"}
            ],
        },
    )
    assert instance.source == InstanceRef(EAST, "db1")
    assert instance.replication_status == "error"
    assert instance.replication_error == "RDS reports read replication error: replication stopped"
