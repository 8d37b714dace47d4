"""The replica-lag probes on their own, without a module: PostgreSQL through a fake psycopg2, CloudWatch on moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import psycopg2
import pytest
from ansible_collections.wedsync.platform.plugins.module_utils import replica_lag_probes
from ansible_collections.wedsync.platform.plugins.module_utils.replica_lag import CLOUDWATCH, InstanceRef
from ansible_collections.wedsync.platform.plugins.module_utils.replica_lag_probes import (
    CheckError,
    CloudWatchProbe,
    ConnectionSettings,
    PostgresProbe,
    to_instance,
)
from moto import mock_aws

EAST, WEST = "us-east-1", "us-west-2"
SOURCE = InstanceRef(EAST, "db1")


def instance(identifier: str, region: str = EAST, source: str | None = "db1") -> replica_lag_probes.Instance:
    found: dict[str, Any] = {
        "Engine": "postgres",
        "Endpoint": {"Address": f"{identifier}.example", "Port": 5432},
        "MasterUsername": "wedsync",
    }
    if source:
        found["ReadReplicaSourceDBInstanceIdentifier"] = (
            source if region == EAST else f"arn:aws:rds:{EAST}:123456789012:db:db1"
        )
    return to_instance(InstanceRef(region, identifier), found)


# -- the instances ---------------------------------------------------------------------------------


def test_to_instance_reads_the_source_by_identifier_or_arn_and_the_replication_status() -> None:
    found = {
        "Engine": "postgres",
        "ReadReplicaSourceDBInstanceIdentifier": f"arn:aws:rds:{EAST}:123456789012:db:db1",
        "ReadReplicaDBInstanceIdentifiers": [],
        "StatusInfos": [{"StatusType": "read replication", "Normal": False, "Status": "error", "Message": "WAL gone"}],
    }
    replica = to_instance(InstanceRef(WEST, "db1-dr"), found)
    assert replica.source == SOURCE
    assert (replica.address, replica.port) == (None, None)
    assert replica.replication_status == "error"
    assert replica.replication_error == "RDS reports read replication error: WAL gone"


def test_a_normal_replication_status_is_no_error() -> None:
    found = {"StatusInfos": [{"StatusType": "read replication", "Normal": True, "Status": "replicating"}]}
    replica = to_instance(InstanceRef(EAST, "r1"), found)
    assert (replica.replication_status, replica.replication_error, replica.source) == ("replicating", None, None)


# -- PostgreSQL ------------------------------------------------------------------------------------


def test_connect_args_bound_the_session_and_default_to_the_master_user() -> None:
    settings = ConnectionSettings(user=None, password="pw", connect_timeout=7, sslmode="require")
    args = settings.connect_args(instance("db1-r1"))
    assert args["user"] == "wedsync"
    assert (args["host"], args["port"], args["dbname"]) == ("db1-r1.example", 5432, "postgres")
    assert (args["connect_timeout"], args["sslmode"]) == (7, "require")
    assert args["options"] == "-c statement_timeout=7000 -c default_transaction_read_only=on"
    assert args["application_name"] == "wedsync.platform.rds_replica_lag"
    assert "sslrootcert" not in args


def test_connect_args_take_the_login_user_and_ca_bundle() -> None:
    settings = ConnectionSettings(user="monitor", password="pw", sslmode="verify-full", sslrootcert="/etc/rds.pem")
    args = settings.connect_args(instance("db1-r1"))
    assert (args["user"], args["sslmode"], args["sslrootcert"]) == ("monitor", "verify-full", "/etc/rds.pem")


class Connection:
    def __init__(self, fail_set_session: bool = False) -> None:
        self.fail_set_session = fail_set_session
        self.closed = False
        self.session: dict[str, bool] = {}

    def set_session(self, **session: bool) -> None:
        if self.fail_set_session:
            raise psycopg2.InterfaceError("connection already closed")
        self.session = session

    def close(self) -> None:
        self.closed = True


def probe(strict: bool = False, password: str | None = "pw") -> PostgresProbe:
    return PostgresProbe(
        ConnectionSettings(user=None, password=password), {SOURCE: instance("db1", source=None)}, strict
    )


def test_connections_are_read_only_autocommit_and_reused(monkeypatch) -> None:
    made: list[Connection] = []
    monkeypatch.setattr(psycopg2, "connect", lambda **_: made.append(Connection()) or made[-1])
    postgres = probe()
    replica = instance("db1-r1")
    assert postgres._connect(replica) is postgres._connect(replica)
    assert len(made) == 1 and made[0].session == {"readonly": True, "autocommit": True}
    postgres.close()
    assert made[0].closed


def test_a_connection_that_cannot_be_made_read_only_is_closed_and_unreachable(monkeypatch) -> None:
    connection = Connection(fail_set_session=True)
    monkeypatch.setattr(psycopg2, "connect", lambda **_: connection)
    with pytest.raises(replica_lag_probes.Unreachable, match=r"cannot connect to db1-r1 .* as wedsync: connection"):
        probe()._connect(instance("db1-r1"))
    assert connection.closed


def refuse(**_: Any) -> None:
    raise psycopg2.OperationalError('FATAL:  password authentication failed for user "wedsync"')


def test_refused_credentials_stop_a_strict_probe(monkeypatch) -> None:
    monkeypatch.setattr(psycopg2, "connect", refuse)
    with pytest.raises(CheckError, match="password authentication failed"):
        probe(strict=True).measure([instance("db1-r1")])


def test_refused_credentials_leave_the_replica_to_another_probe(monkeypatch) -> None:
    monkeypatch.setattr(psycopg2, "connect", refuse)
    sample = probe().measure([instance("db1-r1")])[InstanceRef(EAST, "db1-r1")]
    assert sample.measured_by is None
    assert sample.error.startswith("source db1 (us-east-1): cannot connect to db1 (us-east-1) at db1.example:5432")


def test_no_password_is_unreachable_without_connecting(monkeypatch) -> None:
    monkeypatch.setattr(psycopg2, "connect", pytest.fail)
    sample = probe(password=None).measure([instance("db1-r1")])[InstanceRef(EAST, "db1-r1")]
    assert "no database credentials" in sample.error


# -- CloudWatch ------------------------------------------------------------------------------------


def put(metric: str, identifier: str, value: float, region: str = EAST, age: float = 0.0) -> None:
    boto3.client("cloudwatch", region_name=region).put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": metric,
                "Value": value,
                "Timestamp": datetime.now(UTC) - timedelta(seconds=age),
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": identifier}],
            }
        ],
    )


@pytest.fixture
def cloudwatch(monkeypatch):
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield lambda region: boto3.client("cloudwatch", region_name=region)


def test_cloudwatch_reads_each_replica_in_its_own_region(cloudwatch) -> None:
    put("ReplicaLag", "db1-r1", 9.0, age=120)
    put("ReplicaLag", "db1-r1", 2.0)
    put("ReplicaLag", "db1-dr", 4.0, region=WEST)
    put("ReplicaLag", "db1-r2", -1.0)
    put("OldestReplicationSlotLag", "db1", 4096.0)
    replicas = [instance("db1-r1"), instance("db1-dr", WEST), instance("db1-r2"), instance("db1-r3")]
    found = CloudWatchProbe(cloudwatch, max_datapoint_age=300)
    samples = {ref.db_instance_identifier: sample for ref, sample in found.measure(replicas).items()}
    assert {name: s.measured_by for name, s in samples.items()} == dict.fromkeys(samples, CLOUDWATCH)
    assert (samples["db1-r1"].lag_seconds, samples["db1-dr"].lag_seconds) == (2.0, 4.0)
    assert samples["db1-r2"].error == "ReplicaLag is -1: replication is not running"
    assert samples["db1-r3"].error == "no AWS/RDS ReplicaLag datapoint in the last 300 s"
    assert found.oldest_replication_slot_lag_bytes == 4096.0


def test_cloudwatch_ignores_datapoints_older_than_max_datapoint_age(cloudwatch) -> None:
    put("ReplicaLag", "db1-r1", 2.0, age=600)
    samples = CloudWatchProbe(cloudwatch, max_datapoint_age=120).measure([instance("db1-r1")])
    assert samples[InstanceRef(EAST, "db1-r1")].error == "no AWS/RDS ReplicaLag datapoint in the last 120 s"
