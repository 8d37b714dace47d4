"""The twin itself, through boto3 against the running server: each fidelity point it promises."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.config
import psycopg2
import pytest
from botocore.exceptions import ClientError
from twin.client import TwinClient, TwinError

PASSWORD = "twin-test-password"  # a throwaway instance on loopback


def connect(endpoint: dict[str, Any], dbname: str = "wedsync") -> Any:
    conn = psycopg2.connect(host=endpoint["Address"], port=endpoint["Port"], user="wedsync",
                            password=PASSWORD, dbname=dbname, connect_timeout=5)
    conn.autocommit = True
    return conn


def query(endpoint: dict[str, Any], sql: str) -> list[tuple[Any, ...]]:
    conn = connect(endpoint)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def replayed(endpoint: dict[str, Any], sql: str) -> bool:
    """Whether a standby answers `sql` with rows yet (the table itself may not have arrived)."""
    try:
        return bool(query(endpoint, sql))
    except psycopg2.errors.UndefinedTable:
        return False


def describe(rds: Any, identifier: str) -> dict[str, Any]:
    return rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]


def replica_lag_datapoints(region: str, identifier: str) -> list[float]:
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS", MetricName="ReplicaLag", Period=60, Statistics=["Maximum"],
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": identifier}],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1),
    )["Datapoints"]
    return [p["Maximum"] for p in points]


@pytest.fixture(scope="module")
def estate(clean_twin: TwinClient) -> dict[str, Any]:
    """A primary with a custom parameter group, a same-region replica and a us-west-2 replica."""
    east = boto3.client("rds", region_name="us-east-1")
    west = boto3.client("rds", region_name="us-west-2")
    east.create_db_parameter_group(DBParameterGroupName="wedsync-pg15", DBParameterGroupFamily="postgres15",
                                   Description="force ssl")
    primary = east.create_db_instance(
        DBInstanceIdentifier="twin-primary", Engine="postgres", EngineVersion="15.4", DBInstanceClass="db.r5.xlarge",
        AllocatedStorage=500, MasterUsername="wedsync", MasterUserPassword=PASSWORD, DBName="wedsync",
        DBParameterGroupName="wedsync-pg15", MultiAZ=True,
    )["DBInstance"]
    east.create_db_instance_read_replica(DBInstanceIdentifier="twin-replica-1",
                                         SourceDBInstanceIdentifier="twin-primary")
    west.create_db_instance_read_replica(DBInstanceIdentifier="twin-dr", SourceRegion="us-east-1",
                                         SourceDBInstanceIdentifier=primary["DBInstanceArn"])
    query(primary["Endpoint"], "CREATE TABLE IF NOT EXISTS heartbeat (at timestamptz DEFAULT now())")
    query(primary["Endpoint"], "INSERT INTO heartbeat DEFAULT VALUES")
    return {"east": east, "west": west, "primary": primary}


def test_primary_endpoint_reaches_a_real_server_with_master_credentials(estate: dict[str, Any]) -> None:
    endpoint = describe(estate["east"], "twin-primary")["Endpoint"]
    assert endpoint["Address"] == "127.0.0.1"
    assert query(endpoint, "SELECT current_user, current_database(), pg_is_in_recovery()") == [
        ("wedsync", "wedsync", False)
    ]
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(host="127.0.0.1", port=endpoint["Port"], user="wedsync", password="wrong", dbname="wedsync")


def test_master_user_is_not_superuser_but_can_monitor(estate: dict[str, Any]) -> None:
    endpoint = describe(estate["east"], "twin-primary")["Endpoint"]
    superuser, monitor = query(endpoint, "SELECT rolsuper, pg_has_role('pg_monitor', 'MEMBER') "
                                         "FROM pg_roles WHERE rolname = current_user")[0]
    assert (superuser, monitor) == (False, True)


def test_replicas_report_their_source_and_status_infos(estate: dict[str, Any]) -> None:
    source = describe(estate["east"], "twin-primary")
    same_region, cross_region = describe(estate["east"], "twin-replica-1"), describe(estate["west"], "twin-dr")
    assert source["ReadReplicaDBInstanceIdentifiers"] == ["twin-replica-1", cross_region["DBInstanceArn"]]
    assert same_region["ReadReplicaSourceDBInstanceIdentifier"] == "twin-primary"
    assert cross_region["ReadReplicaSourceDBInstanceIdentifier"] == source["DBInstanceArn"]
    for replica in (same_region, cross_region):
        assert replica["StatusInfos"] == [
            {"StatusType": "read replication", "Normal": True, "Status": "replicating"}
        ]
    assert "StatusInfos" not in source


def test_cross_region_replica_needs_no_parameter_group_in_the_target_region(estate: dict[str, Any]) -> None:
    replica = describe(estate["west"], "twin-dr")
    groups = [g["DBParameterGroupName"] for g in replica["DBParameterGroups"]]
    assert "wedsync-pg15" not in groups
    assert replica["AvailabilityZone"].startswith("us-west-2")


def test_replicas_are_streaming_standbys_of_their_source(estate: dict[str, Any]) -> None:
    primary = describe(estate["east"], "twin-primary")["Endpoint"]
    query(primary, "INSERT INTO heartbeat VALUES ('2030-01-01')")
    for rds, identifier in ((estate["east"], "twin-replica-1"), (estate["west"], "twin-dr")):
        endpoint = describe(rds, identifier)["Endpoint"]
        deadline = time.monotonic() + 10
        while not replayed(endpoint, "SELECT 1 FROM heartbeat WHERE at = '2030-01-01'"):
            assert time.monotonic() < deadline, f"{identifier} did not replay the write"
            time.sleep(0.1)
        assert query(endpoint, "SELECT pg_is_in_recovery()") == [(True,)]


def test_replica_lag_in_cloudwatch_follows_the_real_lag(estate: dict[str, Any], clean_twin: TwinClient) -> None:
    primary = describe(estate["east"], "twin-primary")["Endpoint"]
    clean_twin.pause_replay("twin-dr", region="us-west-2")
    try:
        for _ in range(3):
            query(primary, "INSERT INTO heartbeat DEFAULT VALUES")
            time.sleep(1)
        published = {p["db_instance_identifier"]: p for p in clean_twin.publish_metrics()}
    finally:
        clean_twin.resume_replay("twin-dr", region="us-west-2")
    assert published["twin-dr"]["seconds"] >= 2
    assert published["twin-dr"]["bytes"] > 0
    assert max(replica_lag_datapoints("us-west-2", "twin-dr")) >= 2
    assert replica_lag_datapoints("us-east-1", "twin-dr") == []  # each replica in its own region
    deadline = time.monotonic() + 10
    while clean_twin.replica_lag("twin-dr", region="us-west-2")["bytes"]:
        assert time.monotonic() < deadline, "the replica did not catch up after replay resumed"
        time.sleep(0.1)
    assert clean_twin.replica_lag("twin-dr", region="us-west-2")["seconds"] == 0


def test_idle_primary_does_not_make_a_replica_lag(estate: dict[str, Any], clean_twin: TwinClient) -> None:
    time.sleep(2)  # nothing is written meanwhile
    lag = clean_twin.replica_lag("twin-replica-1")
    assert lag == lag | {"seconds": 0, "bytes": 0, "streaming": True, "paused": False}


def test_replay_paused_is_visible_in_the_twin_measure(estate: dict[str, Any], clean_twin: TwinClient) -> None:
    clean_twin.pause_replay("twin-replica-1")
    try:
        assert clean_twin.replica_lag("twin-replica-1")["paused"] is True
    finally:
        clean_twin.resume_replay("twin-replica-1")


def test_promote_detaches_the_replica_and_its_standby(estate: dict[str, Any]) -> None:
    estate["west"].promote_read_replica(DBInstanceIdentifier="twin-dr", BackupRetentionPeriod=30)
    promoted = describe(estate["west"], "twin-dr")
    assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    assert "StatusInfos" not in promoted
    assert promoted["BackupRetentionPeriod"] == 30
    assert describe(estate["east"], "twin-primary")["ReadReplicaDBInstanceIdentifiers"] == ["twin-replica-1"]
    endpoint = promoted["Endpoint"]
    deadline = time.monotonic() + 10
    while query(endpoint, "SELECT pg_is_in_recovery()") != [(False,)]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    query(endpoint, "INSERT INTO heartbeat DEFAULT VALUES")  # writable: a primary of its own now
    with pytest.raises(ClientError, match="InvalidDBInstanceState"):
        estate["west"].promote_read_replica(DBInstanceIdentifier="twin-dr")


def test_master_password_change_reaches_the_server(estate: dict[str, Any]) -> None:
    east = estate["east"]
    east.modify_db_instance(DBInstanceIdentifier="twin-primary", MasterUserPassword="rotated-password",
                            ApplyImmediately=True)
    endpoint = describe(east, "twin-primary")["Endpoint"]
    conn = psycopg2.connect(host="127.0.0.1", port=endpoint["Port"], user="wedsync", password="rotated-password",
                            dbname="wedsync")
    conn.close()
    east.modify_db_instance(DBInstanceIdentifier="twin-primary", MasterUserPassword=PASSWORD, ApplyImmediately=True)


def test_status_transitions_take_the_configured_time(estate: dict[str, Any], clean_twin: TwinClient) -> None:
    east = estate["east"]
    clean_twin.set_transition_seconds(rebooting=2, creating=2)
    try:
        east.reboot_db_instance(DBInstanceIdentifier="twin-replica-1")
        assert describe(east, "twin-replica-1")["DBInstanceStatus"] == "rebooting"
        started = time.monotonic()
        east.get_waiter("db_instance_available").wait(DBInstanceIdentifier="twin-replica-1",
                                                      WaiterConfig={"Delay": 1, "MaxAttempts": 10})
        assert time.monotonic() - started >= 1
        east.create_db_instance_read_replica(DBInstanceIdentifier="twin-replica-2",
                                             SourceDBInstanceIdentifier="twin-primary")
        assert describe(east, "twin-replica-2")["DBInstanceStatus"] == "creating"
        east.get_waiter("db_instance_available").wait(DBInstanceIdentifier="twin-replica-2",
                                                      WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    finally:
        clean_twin.set_transition_seconds(rebooting=0, creating=0)
    with pytest.raises(TwinError, match="unknown transitions"):
        clean_twin.set_transition_seconds(sleeping=3)


def test_deleting_an_instance_removes_its_cluster(estate: dict[str, Any], clean_twin: TwinClient) -> None:
    east = estate["east"]
    port = describe(east, "twin-replica-2")["Endpoint"]["Port"]
    east.delete_db_instance(DBInstanceIdentifier="twin-replica-2", SkipFinalSnapshot=True)
    assert "twin-replica-2" not in describe(east, "twin-primary")["ReadReplicaDBInstanceIdentifiers"]
    assert all(c["db_instance_identifier"] != "twin-replica-2" for c in clean_twin.postgres())
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def target_group() -> dict[str, Any]:
    ec2, elb = boto3.client("ec2"), boto3.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    arn = elb.create_target_group(Name=f"green-{time.monotonic_ns() % 10**6}", Protocol="HTTP", Port=3000,
                                  VpcId=vpc, HealthCheckPath="/api/health")["TargetGroups"][0]["TargetGroupArn"]
    instances = [i["InstanceId"] for i in ec2.run_instances(ImageId="ami-12c6146b", MinCount=2,
                                                            MaxCount=2)["Instances"]]
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": i} for i in instances])
    return {"elb": elb, "arn": arn, "instances": instances}


def target_states(group: dict[str, Any]) -> dict[str, dict[str, str]]:
    described = group["elb"].describe_target_health(TargetGroupArn=group["arn"])["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"] for d in described}


def test_target_health_follows_the_control_api(target_group: dict[str, Any], clean_twin: TwinClient) -> None:
    sick, well = target_group["instances"]
    assert {h["State"] for h in target_states(target_group).values()} == {"healthy"}
    clean_twin.set_target_health(target_group["arn"], sick, "unhealthy", reason="Target.Timeout",
                                 description="Request timed out")
    states = target_states(target_group)
    assert states[sick] == {"State": "unhealthy", "Reason": "Target.Timeout", "Description": "Request timed out"}
    assert states[well]["State"] == "healthy"
    clean_twin.set_target_health(target_group["arn"], sick, "draining")
    assert target_states(target_group)[sick]["Reason"] == "Target.DeregistrationInProgress"
    clean_twin.set_target_health(target_group["arn"], sick, "healthy")
    assert target_states(target_group)[sick] == {"State": "healthy"}
    with pytest.raises(TwinError, match="state must be one of"):
        clean_twin.set_target_health(target_group["arn"], sick, "sleepy")


def standard_retries(total_max_attempts: int) -> botocore.config.Config:
    return botocore.config.Config(retries={"mode": "standard", "total_max_attempts": total_max_attempts})


def test_three_throttles_are_absorbed_by_standard_retries(target_group: dict[str, Any],
                                                          clean_twin: TwinClient) -> None:
    elb = boto3.client("elbv2", config=standard_retries(4))
    clean_twin.inject_fault("DescribeTargetGroups", kind="throttle", count=3)
    response = elb.describe_target_groups(TargetGroupArns=[target_group["arn"]])
    assert response["ResponseMetadata"]["RetryAttempts"] == 3
    assert clean_twin.faults() == []  # the rule stopped after its count


def test_throttling_beyond_the_retry_budget_surfaces(target_group: dict[str, Any], clean_twin: TwinClient) -> None:
    elb = boto3.client("elbv2", config=standard_retries(4))
    clean_twin.inject_fault("DescribeTargetGroups", kind="throttle", count=4)
    with pytest.raises(ClientError) as caught:
        elb.describe_target_groups(TargetGroupArns=[target_group["arn"]])
    assert caught.value.response["Error"]["Code"] == "Throttling"
    assert caught.value.response["ResponseMetadata"]["RetryAttempts"] == 3
    assert clean_twin.faults() == []


@pytest.mark.parametrize(("service", "action", "call", "code"), [
    ("cloudwatch", "ListMetrics", lambda c: c.list_metrics(), "ThrottlingException"),  # RPC v2 CBOR
    ("secretsmanager", "ListSecrets", lambda c: c.list_secrets(), "ThrottlingException"),  # JSON
    ("ec2", "DescribeVpcs", lambda c: c.describe_vpcs(), "RequestLimitExceeded"),  # EC2 query
])
def test_throttles_speak_each_protocol(clean_twin: TwinClient, service: str, action: str, call: Any,
                                       code: str) -> None:
    client = boto3.client(service, config=standard_retries(1))
    clean_twin.inject_fault(action, kind="throttle", count=1)
    with pytest.raises(ClientError) as caught:
        call(client)
    assert caught.value.response["Error"]["Code"] == code
    call(client)  # the fault is spent


def test_server_errors_and_latency(clean_twin: TwinClient) -> None:
    rds = boto3.client("rds", config=standard_retries(1))
    clean_twin.inject_fault("DescribeDBInstances", kind="error", status=503, count=1, region="us-east-1")
    with pytest.raises(ClientError) as caught:
        rds.describe_db_instances()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    boto3.client("rds", region_name="us-west-2").describe_db_instances()  # another region is not matched
    clean_twin.inject_fault("DescribeDBInstances", kind="latency", latency_ms=600, count=1)
    started = time.monotonic()
    rds.describe_db_instances()
    assert time.monotonic() - started >= 0.6
    with pytest.raises(TwinError, match="kind must be one of"):
        clean_twin.inject_fault("DescribeDBInstances", kind="gremlins")


def test_reset_forgets_aws_state_and_removes_clusters(twin: TwinClient) -> None:
    rds = boto3.client("rds")
    rds.create_db_instance(DBInstanceIdentifier="twin-scratch", Engine="postgres", DBInstanceClass="db.t3.micro",
                           AllocatedStorage=20, MasterUsername="wedsync", MasterUserPassword=PASSWORD)
    twin.inject_fault("ListSecrets", count=9)
    twin.reset()
    assert rds.describe_db_instances()["DBInstances"] == []
    assert twin.postgres() == []
    assert twin.faults() == []
