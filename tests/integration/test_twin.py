"""The twin itself, through boto3 against the running server: each fidelity point it promises."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
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
    conn = psycopg2.connect(
        host=endpoint["Address"],
        port=endpoint["Port"],
        user="wedsync",
        password=PASSWORD,
        dbname=dbname,
        connect_timeout=5,
    )
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
        Namespace="AWS/RDS",
        MetricName="ReplicaLag",
        Period=60,
        Statistics=["Maximum"],
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": identifier}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1),
    )["Datapoints"]
    return [p["Maximum"] for p in points]


@pytest.fixture(scope="module")
def estate(clean_twin: TwinClient) -> dict[str, Any]:
    """A primary with a custom parameter group, a same-region replica and a us-west-2 replica."""
    east = boto3.client("rds", region_name="us-east-1")
    west = boto3.client("rds", region_name="us-west-2")
    east.create_db_parameter_group(
        DBParameterGroupName="wedsync-pg15", DBParameterGroupFamily="postgres15", Description="force ssl"
    )
    primary = east.create_db_instance(
        DBInstanceIdentifier="twin-primary",
        Engine="postgres",
        EngineVersion="15.4",
        DBInstanceClass="db.r5.xlarge",
        AllocatedStorage=500,
        MasterUsername="wedsync",
        MasterUserPassword=PASSWORD,
        DBName="wedsync",
        DBParameterGroupName="wedsync-pg15",
        MultiAZ=True,
    )["DBInstance"]
    east.create_db_instance_read_replica(
        DBInstanceIdentifier="twin-replica-1", SourceDBInstanceIdentifier="twin-primary"
    )
    west.create_db_instance_read_replica(
        DBInstanceIdentifier="twin-dr", SourceRegion="us-east-1", SourceDBInstanceIdentifier=primary["DBInstanceArn"]
    )
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
    superuser, monitor = query(
        endpoint, "SELECT rolsuper, pg_has_role('pg_monitor', 'MEMBER') FROM pg_roles WHERE rolname = current_user"
    )[0]
    assert (superuser, monitor) == (False, True)


def test_replicas_report_their_source_and_status_infos(estate: dict[str, Any]) -> None:
    source = describe(estate["east"], "twin-primary")
    same_region, cross_region = describe(estate["east"], "twin-replica-1"), describe(estate["west"], "twin-dr")
    assert source["ReadReplicaDBInstanceIdentifiers"] == ["twin-replica-1", cross_region["DBInstanceArn"]]
    assert same_region["ReadReplicaSourceDBInstanceIdentifier"] == "twin-primary"
    assert cross_region["ReadReplicaSourceDBInstanceIdentifier"] == source["DBInstanceArn"]
    for replica in (same_region, cross_region):
        assert replica["StatusInfos"] == [{"StatusType": "read replication", "Normal": True, "Status": "replicating"}]
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
    east.modify_db_instance(
        DBInstanceIdentifier="twin-primary", MasterUserPassword="rotated-password", ApplyImmediately=True
    )
    endpoint = describe(east, "twin-primary")["Endpoint"]
    conn = psycopg2.connect(
        host="127.0.0.1", port=endpoint["Port"], user="wedsync", password="rotated-password", dbname="wedsync"
    )
    conn.close()
    east.modify_db_instance(DBInstanceIdentifier="twin-primary", MasterUserPassword=PASSWORD, ApplyImmediately=True)


def test_status_transitions_take_the_configured_time(estate: dict[str, Any], clean_twin: TwinClient) -> None:
    east = estate["east"]
    clean_twin.set_transition_seconds(rebooting=2, creating=2)
    try:
        east.reboot_db_instance(DBInstanceIdentifier="twin-replica-1")
        assert describe(east, "twin-replica-1")["DBInstanceStatus"] == "rebooting"
        started = time.monotonic()
        east.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="twin-replica-1", WaiterConfig={"Delay": 1, "MaxAttempts": 10}
        )
        assert time.monotonic() - started >= 1
        east.create_db_instance_read_replica(
            DBInstanceIdentifier="twin-replica-2", SourceDBInstanceIdentifier="twin-primary"
        )
        assert describe(east, "twin-replica-2")["DBInstanceStatus"] == "creating"
        east.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier="twin-replica-2", WaiterConfig={"Delay": 1, "MaxAttempts": 10}
        )
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
    arn = elb.create_target_group(
        Name=f"green-{time.monotonic_ns() % 10**6}",
        Protocol="HTTP",
        Port=3000,
        VpcId=vpc,
        HealthCheckPath="/api/health",
    )["TargetGroups"][0]["TargetGroupArn"]
    instances = [
        i["InstanceId"] for i in ec2.run_instances(ImageId="ami-12c6146b", MinCount=2, MaxCount=2)["Instances"]
    ]
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": i} for i in instances])
    return {"elb": elb, "arn": arn, "instances": instances}


def target_states(group: dict[str, Any]) -> dict[str, dict[str, str]]:
    described = group["elb"].describe_target_health(TargetGroupArn=group["arn"])["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"] for d in described}


def test_target_health_follows_the_control_api(target_group: dict[str, Any], clean_twin: TwinClient) -> None:
    sick, well = target_group["instances"]
    assert {h["State"] for h in target_states(target_group).values()} == {"healthy"}
    clean_twin.set_target_health(
        target_group["arn"], sick, "unhealthy", reason="Target.Timeout", description="Request timed out"
    )
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


def test_three_throttles_are_absorbed_by_standard_retries(target_group: dict[str, Any], clean_twin: TwinClient) -> None:
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


@pytest.mark.parametrize(
    ("service", "action", "call", "code"),
    [
        ("cloudwatch", "ListMetrics", lambda c: c.list_metrics(), "ThrottlingException"),  # RPC v2 CBOR
        ("secretsmanager", "ListSecrets", lambda c: c.list_secrets(), "ThrottlingException"),  # JSON
        ("ec2", "DescribeVpcs", lambda c: c.describe_vpcs(), "RequestLimitExceeded"),  # EC2 query
    ],
)
def test_throttles_speak_each_protocol(clean_twin: TwinClient, service: str, action: str, call: Any, code: str) -> None:
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
    rds.create_db_instance(
        DBInstanceIdentifier="twin-scratch",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="wedsync",
        MasterUserPassword=PASSWORD,
    )
    twin.inject_fault("ListSecrets", count=9)
    twin.reset()
    assert rds.describe_db_instances()["DBInstances"] == []
    assert twin.postgres() == []
    assert twin.faults() == []


# -- what a blue/green deploy needs ------------------------------------------------------------


def instance_tags(spec: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in spec.items()]}]


def template_data(ec2: Any, name: str, version: str) -> dict[str, Any]:
    described = ec2.describe_launch_template_versions(LaunchTemplateName=name, Versions=[version])
    return described["LaunchTemplateVersions"][0]["LaunchTemplateData"]


def unique(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns() % 10**8}"


def test_launch_template_version_starts_from_its_source_version(clean_twin: TwinClient) -> None:
    ec2, name = boto3.client("ec2"), unique("lt-app")
    ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={
            "ImageId": "ami-12c6146b",
            "InstanceType": "t3.small",
            "UserData": "ZWNobyBibHVl",
            "TagSpecifications": instance_tags({"wedsync:version": "1.2.3"}),
        },
    )
    ec2.create_launch_template_version(
        LaunchTemplateName=name,
        SourceVersion="1",
        LaunchTemplateData={"TagSpecifications": instance_tags({"wedsync:version": "1.2.4"})},
    )
    assert template_data(ec2, name, "2") == {
        "ImageId": "ami-12c6146b",
        "InstanceType": "t3.small",
        "UserData": "ZWNobyBibHVl",
        "TagSpecifications": instance_tags({"wedsync:version": "1.2.4"}),
    }
    ec2.create_launch_template_version(
        LaunchTemplateName=name, SourceVersion="$Latest", LaunchTemplateData={"InstanceType": "t3.medium"}
    )
    assert template_data(ec2, name, "3") == template_data(ec2, name, "2") | {"InstanceType": "t3.medium"}
    ec2.create_launch_template_version(LaunchTemplateName=name, LaunchTemplateData={"ImageId": "ami-12c6146b"})
    assert template_data(ec2, name, "4") == {"ImageId": "ami-12c6146b"}  # no source: only what is given
    with pytest.raises(ClientError) as caught:
        ec2.create_launch_template_version(LaunchTemplateName=name, SourceVersion="9", LaunchTemplateData={})
    assert caught.value.response["Error"]["Code"] == "InvalidLaunchTemplateId.VersionNotFound"


@pytest.fixture
def app_group(clean_twin: TwinClient) -> dict[str, Any]:
    """A launch template at versions 1 (1.0.0) and 2 (2.0.0), and a target group for a color's group."""
    ec2, elb = boto3.client("ec2"), boto3.client("elbv2")
    name = unique("app")
    ec2.create_launch_template(
        LaunchTemplateName=name,
        LaunchTemplateData={
            "ImageId": "ami-12c6146b",
            "InstanceType": "t3.small",
            "UserData": "ZWNobyBhcHA=",
            "TagSpecifications": instance_tags({"wedsync:version": "1.0.0", "wedsync:from": "v1"}),
        },
    )
    ec2.create_launch_template_version(
        LaunchTemplateName=name,
        SourceVersion="1",
        LaunchTemplateData={"TagSpecifications": instance_tags({"wedsync:version": "2.0.0"})},
    )
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    arn = elb.create_target_group(Name=name, Protocol="HTTP", Port=3000, VpcId=vpc)["TargetGroups"][0]["TargetGroupArn"]
    subnet = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"]
    return {
        "name": name,
        "ec2": ec2,
        "elb": elb,
        "autoscaling": boto3.client("autoscaling"),
        "target_group_arn": arn,
        "subnet": subnet,
    }


def group_versions(app: dict[str, Any]) -> dict[str, str]:
    """Each instance of the group and the launch template version it reports."""
    group = app["autoscaling"].describe_auto_scaling_groups(AutoScalingGroupNames=[app["name"]])
    return {i["InstanceId"]: i["LaunchTemplate"]["Version"] for i in group["AutoScalingGroups"][0]["Instances"]}


def tags_of(ec2: Any, instance_ids: list[str]) -> dict[str, dict[str, str]]:
    reservations = ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    return {i["InstanceId"]: {t["Key"]: t["Value"] for t in i["Tags"]} for r in reservations for i in r["Instances"]}


def set_capacity(app: dict[str, Any], desired: int) -> None:
    app["autoscaling"].update_auto_scaling_group(AutoScalingGroupName=app["name"], DesiredCapacity=desired)


def test_group_instances_launch_from_the_group_version(app_group: dict[str, Any]) -> None:
    app, ec2 = app_group, app_group["ec2"]
    app["autoscaling"].create_auto_scaling_group(
        AutoScalingGroupName=app["name"],
        LaunchTemplate={"LaunchTemplateName": app["name"], "Version": "2"},
        MinSize=0,
        MaxSize=6,
        DesiredCapacity=2,
        VPCZoneIdentifier=app["subnet"],
    )
    first = group_versions(app)
    assert set(first.values()) == {"2"}
    described = app["autoscaling"].describe_auto_scaling_instances(InstanceIds=list(first))
    assert {i["LaunchTemplate"]["Version"] for i in described["AutoScalingInstances"]} == {"2"}
    for tags in tags_of(ec2, list(first)).values():
        assert tags["aws:ec2launchtemplate:version"] == "2"
        assert tags["wedsync:version"] == "2.0.0"
        assert "wedsync:from" not in tags  # nothing leaks from the default version

    ec2.create_launch_template_version(
        LaunchTemplateName=app["name"],
        SourceVersion="2",
        LaunchTemplateData={"TagSpecifications": instance_tags({"wedsync:version": "3.0.0"})},
    )
    app["autoscaling"].update_auto_scaling_group(
        AutoScalingGroupName=app["name"], LaunchTemplate={"LaunchTemplateName": app["name"], "Version": "3"}
    )
    assert group_versions(app) == first  # running instances keep their version, as on AWS
    set_capacity(app, 3)
    added = {i: v for i, v in group_versions(app).items() if i not in first}
    assert list(added.values()) == ["3"]
    assert tags_of(ec2, list(added))[next(iter(added))]["wedsync:version"] == "3.0.0"
    set_capacity(app, 0)
    set_capacity(app, 2)
    assert set(group_versions(app).values()) == {"3"}


def test_latest_is_resolved_when_an_instance_launches(app_group: dict[str, Any]) -> None:
    app = app_group
    app["autoscaling"].create_auto_scaling_group(
        AutoScalingGroupName=app["name"],
        LaunchTemplate={"LaunchTemplateName": app["name"], "Version": "$Latest"},
        MinSize=0,
        MaxSize=6,
        DesiredCapacity=1,
        VPCZoneIdentifier=app["subnet"],
    )
    before = group_versions(app)
    app["ec2"].create_launch_template_version(
        LaunchTemplateName=app["name"], SourceVersion="2", LaunchTemplateData={"InstanceType": "t3.medium"}
    )
    set_capacity(app, 2)
    versions = group_versions(app)
    assert {v for i, v in versions.items() if i in before} == {"2"}
    assert {v for i, v in versions.items() if i not in before} == {"3"}


def registered(elb: Any, arn: str) -> dict[str, dict[str, str]]:
    described = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"] for d in described}


def test_a_group_scaled_in_deregisters_its_instances(app_group: dict[str, Any]) -> None:
    app = app_group
    app["autoscaling"].create_auto_scaling_group(
        AutoScalingGroupName=app["name"],
        LaunchTemplate={"LaunchTemplateName": app["name"], "Version": "2"},
        MinSize=0,
        MaxSize=6,
        DesiredCapacity=3,
        VPCZoneIdentifier=app["subnet"],
        TargetGroupARNs=[app["target_group_arn"]],
    )
    assert set(registered(app["elb"], app["target_group_arn"])) == set(group_versions(app))
    set_capacity(app, 1)
    assert set(registered(app["elb"], app["target_group_arn"])) == set(group_versions(app))
    set_capacity(app, 0)
    assert registered(app["elb"], app["target_group_arn"]) == {}


def wait_for(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.2)


def test_new_targets_are_initial_until_registration_completes(
    target_group: dict[str, Any], clean_twin: TwinClient
) -> None:
    elb, arn = target_group["elb"], target_group["arn"]
    late = boto3.client("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]
    time.sleep(1.2)  # the fixture's targets registered more than the transition ago
    clean_twin.set_transition_seconds(target_registration=1)
    try:
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": late["InstanceId"]}])
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": target_group["instances"][0]}])  # no change
        states = target_states(target_group)
        assert states[late["InstanceId"]] == {
            "State": "initial",
            "Reason": "Elb.RegistrationInProgress",
            "Description": "Target registration is in progress",
        }
        assert {states[i]["State"] for i in target_group["instances"]} == {"healthy"}
        clean_twin.set_target_health(arn, target_group["instances"][0], "unhealthy")
        clean_twin.set_target_health(arn, late["InstanceId"], "healthy")  # an override wins
        assert target_states(target_group)[late["InstanceId"]] == {"State": "healthy"}
        clean_twin.clear_target_health()
        assert target_states(target_group)[late["InstanceId"]]["State"] == "initial"
        wait_for(lambda: target_states(target_group)[late["InstanceId"]] == {"State": "healthy"})
    finally:
        clean_twin.set_transition_seconds(target_registration=0)
        clean_twin.clear_target_health()


def test_group_instances_are_initial_from_when_they_join(app_group: dict[str, Any], clean_twin: TwinClient) -> None:
    app = app_group
    clean_twin.set_transition_seconds(target_registration=2)
    try:
        app["autoscaling"].create_auto_scaling_group(
            AutoScalingGroupName=app["name"],
            LaunchTemplate={"LaunchTemplateName": app["name"], "Version": "2"},
            MinSize=0,
            MaxSize=6,
            DesiredCapacity=1,
            VPCZoneIdentifier=app["subnet"],
            TargetGroupARNs=[app["target_group_arn"]],
        )
        assert {h["State"] for h in registered(app["elb"], app["target_group_arn"]).values()} == {"initial"}
        time.sleep(2)
        set_capacity(app, 2)  # re-registers the first instance too: it stays healthy
        states = {h["State"] for h in registered(app["elb"], app["target_group_arn"]).values()}
        assert sorted(states) == ["healthy", "initial"]
    finally:
        clean_twin.set_transition_seconds(target_registration=0)


def test_deregistered_targets_drain_for_the_deregistration_transition(
    target_group: dict[str, Any], clean_twin: TwinClient
) -> None:
    leaving, staying = target_group["instances"]
    clean_twin.set_transition_seconds(target_deregistration=2)
    try:
        target_group["elb"].deregister_targets(TargetGroupArn=target_group["arn"], Targets=[{"Id": leaving}])
        states = target_states(target_group)
        assert states[leaving] == {
            "State": "draining",
            "Reason": "Target.DeregistrationInProgress",
            "Description": "Target deregistration is in progress",
        }
        assert states[staying] == {"State": "healthy"}
        wait_for(lambda: leaving not in target_states(target_group))
    finally:
        clean_twin.set_transition_seconds(target_deregistration=0)


@pytest.fixture
def colors(clean_twin: TwinClient) -> Iterator[dict[str, Any]]:
    """An ALB forwarding port 443 to blue (1.2.3); green (1.2.4) registered and idle; port 80 redirects."""
    ec2, elb = boto3.client("ec2"), boto3.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    name = unique("alb")
    balancer = elb.create_load_balancer(Name=name, Subnets=subnets[:2])["LoadBalancers"][0]
    estate: dict[str, Any] = {"elb": elb, "name": name, "balancer": balancer}
    for color, version in (("blue", "1.2.3"), ("green", "1.2.4")):
        group = elb.create_target_group(
            Name=f"{name}-{color}",
            Protocol="HTTP",
            Port=3000,
            VpcId=vpc,
            Tags=[{"Key": "wedsync:color", "Value": color}],
        )["TargetGroups"][0]
        arn = group["TargetGroupArn"]
        instances = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=2,
            MaxCount=2,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "wedsync:version", "Value": version}]}],
        )["Instances"]
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": i["InstanceId"]} for i in instances])
        estate[color] = {"arn": arn, "instances": [i["InstanceId"] for i in instances]}
    estate["listener"] = elb.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=443,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": estate["blue"]["arn"]}],
    )["Listeners"][0]["ListenerArn"]
    elb.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[
            {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
        ],
    )
    yield estate
    clean_twin.clear_target_health()
    clean_twin.clear_app_responses()


def weigh(colors: dict[str, Any], blue: int, green: int) -> None:
    colors["elb"].modify_listener(
        ListenerArn=colors["listener"],
        DefaultActions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": colors["blue"]["arn"], "Weight": blue},
                        {"TargetGroupArn": colors["green"]["arn"], "Weight": green},
                    ]
                },
            }
        ],
    )


def test_the_alb_forwards_to_a_healthy_target_of_its_group(colors: dict[str, Any], clean_twin: TwinClient) -> None:
    status, body = clean_twin.alb_request(colors["name"], 443)
    assert status == 200
    assert body == body | {
        "status": "ok",
        "path": "/api/health",
        "target_group": f"{colors['name']}-blue",
        "color": "blue",
        "version": "1.2.3",
    }
    assert body["target"] in colors["blue"]["instances"]
    sick, well = colors["blue"]["instances"]
    clean_twin.set_target_health(colors["blue"]["arn"], sick, "unhealthy")
    assert {clean_twin.alb_request(colors["name"], 443)[1]["target"] for _ in range(12)} == {well}
    clean_twin.set_target_health(colors["blue"]["arn"], well, "draining")
    assert clean_twin.alb_request(colors["name"], 443) == (
        503,
        {"status": "unavailable", "target_group": f"{colors['name']}-blue", "reason": "no healthy target"},
    )


def test_the_alb_follows_forward_weights(colors: dict[str, Any], clean_twin: TwinClient) -> None:
    weigh(colors, blue=0, green=100)
    assert {clean_twin.alb_request(colors["name"], 443)[1]["color"] for _ in range(12)} == {"green"}
    weigh(colors, blue=50, green=50)
    assert {clean_twin.alb_request(colors["name"], 443)[1]["color"] for _ in range(40)} == {"blue", "green"}


def test_initial_targets_receive_no_traffic(colors: dict[str, Any], clean_twin: TwinClient) -> None:
    ec2 = boto3.client("ec2")
    fresh = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    arn = colors["elb"].create_target_group(
        Name=f"{colors['name']}-new", Protocol="HTTP", Port=3000, VpcId=ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    )["TargetGroups"][0]
    clean_twin.set_transition_seconds(target_registration=30)
    try:
        colors["elb"].register_targets(TargetGroupArn=arn["TargetGroupArn"], Targets=[{"Id": fresh}])
        colors["elb"].modify_listener(
            ListenerArn=colors["listener"],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": arn["TargetGroupArn"]}],
        )
        status, body = clean_twin.alb_request(colors["name"], 443)
        assert (status, body["reason"]) == (503, "no healthy target")
    finally:
        clean_twin.set_transition_seconds(target_registration=0)
    status, body = clean_twin.alb_request(colors["name"], 443, "/api/status")
    assert (status, body["target"], body["color"], body["version"], body["path"]) == (
        200,
        fresh,
        None,
        None,
        "/api/status",
    )


def test_redirects_fixed_responses_and_unknown_listeners(colors: dict[str, Any], clean_twin: TwinClient) -> None:
    dns = colors["balancer"]["DNSName"]
    assert clean_twin.alb_request(colors["name"], 80, "/login") == (
        301,
        {"status": "redirect", "location": f"https://{dns}/login"},
    )
    colors["elb"].modify_listener(
        ListenerArn=colors["listener"],
        DefaultActions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {
                    "StatusCode": "503",
                    "ContentType": "application/json",
                    "MessageBody": '{"maintenance": true}',
                },
            }
        ],
    )
    assert clean_twin.alb_request(colors["name"], 443) == (503, {"maintenance": True})
    status, body = clean_twin.alb_request(colors["name"], 8443)
    assert status == 404
    assert "no listener on port 8443" in body["error"]
    status, body = clean_twin.alb_request("no-such-alb", 443)
    assert status == 404
    assert "no-such-alb" in body["error"]
    status, _ = clean_twin.alb_request(colors["name"], 443, region="us-west-2")
    assert status == 404


def test_the_alb_answers_head_with_the_target_group_header(colors: dict[str, Any], clean_twin: TwinClient) -> None:
    request = urllib.request.Request(f"{clean_twin.control_url}/alb/{colors['name']}/443/api/health", method="HEAD")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert response.headers["X-Twin-Target-Group"] == f"{colors['name']}-blue"
        assert response.read() == b""


def test_app_responses_make_one_version_fail(colors: dict[str, Any], clean_twin: TwinClient) -> None:
    weigh(colors, blue=0, green=100)
    clean_twin.set_app_response("1.2.4", 500)
    assert clean_twin.app_responses() == [{"version": "1.2.4", "status": 500, "health_check": False}]
    assert clean_twin.health()["app_responses"] == [{"version": "1.2.4", "status": 500, "health_check": False}]
    status, body = clean_twin.alb_request(colors["name"], 443)
    assert (status, body["status"], body["version"], body["color"]) == (500, "error", "1.2.4", "green")
    weigh(colors, blue=100, green=0)
    assert clean_twin.alb_request(colors["name"], 443)[0] == 200  # 1.2.3 is not affected
    with pytest.raises(TwinError, match="status must be an HTTP status code"):
        clean_twin.set_app_response("1.2.4", 99)
    clean_twin.clear_app_responses()
    weigh(colors, blue=0, green=100)
    assert clean_twin.alb_request(colors["name"], 443)[0] == 200


def test_a_failing_health_check_makes_the_release_unhealthy(colors: dict[str, Any], clean_twin: TwinClient) -> None:
    weigh(colors, blue=0, green=100)
    clean_twin.set_app_response("1.2.4", 503, health_check=True)
    health = colors["elb"].describe_target_health(TargetGroupArn=colors["green"]["arn"])["TargetHealthDescriptions"]
    assert {h["TargetHealth"]["State"] for h in health} == {"unhealthy"}
    assert health[0]["TargetHealth"]["Reason"] == "Target.ResponseCodeMismatch"
    assert health[0]["TargetHealth"]["Description"] == "Health checks failed with these codes: [503]"
    assert clean_twin.alb_request(colors["name"], 443)[0] == 503  # no healthy target left
    blue = colors["elb"].describe_target_health(TargetGroupArn=colors["blue"]["arn"])["TargetHealthDescriptions"]
    assert {h["TargetHealth"]["State"] for h in blue} == {"healthy"}  # 1.2.3 is not affected
    clean_twin.clear_app_responses()
    assert clean_twin.alb_request(colors["name"], 443)[0] == 200


def test_reset_forgets_app_responses(twin: TwinClient) -> None:
    twin.set_app_response("9.9.9", 503)
    twin.set_transition_seconds(target_registration=5)
    twin.reset()
    assert twin.app_responses() == []
    assert twin.set_transition_seconds()["target_registration"] == 0


def test_bucket_policies_see_requests_as_tls(clean_twin: TwinClient) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="twin-tls-only")
    arns = ["arn:aws:s3:::twin-tls-only", "arn:aws:s3:::twin-tls-only/*"]
    tls_only = {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": arns,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    s3.put_bucket_policy(Bucket="twin-tls-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [tls_only]}))
    s3.put_object(Bucket="twin-tls-only", Key="release.zip", Body=b"release")
    assert s3.get_object(Bucket="twin-tls-only", Key="release.zip")["Body"].read() == b"release"
    deny_puts = {"Sid": "NoPuts", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": arns[1]}
    s3.put_bucket_policy(
        Bucket="twin-tls-only", Policy=json.dumps({"Version": "2012-10-17", "Statement": [tls_only, deny_puts]})
    )
    with pytest.raises(ClientError, match="403"):
        s3.put_object(Bucket="twin-tls-only", Key="other.zip", Body=b"x")


def edge_answer(clean_twin: TwinClient, domain: str, path: str, method: str = "GET") -> tuple[int, Any, Any]:
    data = b"{}" if method in ("POST", "PUT") else None
    request = urllib.request.Request(f"{clean_twin.control_url}/edge/{domain}{path}", data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.load(error)


def test_the_edge_forwards_by_its_behaviours_to_the_alb_behind_its_origin(
    colors: dict[str, Any], clean_twin: TwinClient
) -> None:
    alias = f"{unique('edge')}.wedsync.test"
    behaviour = {"TargetOriginId": "alb", "ViewerProtocolPolicy": "redirect-to-https", "MinTTL": 0}
    everything = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
    distribution = boto3.client("cloudfront").create_distribution(
        DistributionConfig={
            "CallerReference": alias,
            "Comment": "edge test",
            "Enabled": True,
            "Aliases": {"Quantity": 1, "Items": [alias]},
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "alb",
                        "DomainName": colors["balancer"]["DNSName"],
                        "CustomOriginConfig": {
                            "HTTPPort": 80,
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "https-only",
                        },
                    }
                ],
            },
            "DefaultCacheBehavior": {**behaviour, "AllowedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
            "CacheBehaviors": {
                "Quantity": 1,
                "Items": [
                    {
                        **behaviour,
                        "PathPattern": "/api/*",
                        "AllowedMethods": {"Quantity": len(everything), "Items": everything},
                    }
                ],
            },
        }
    )["Distribution"]

    status, headers, body = edge_answer(clean_twin, alias, "/api/status")
    assert (status, body["path"], body["color"]) == (200, "/api/status", "blue")
    assert headers["X-Cache"] == "Miss from cloudfront"
    assert headers["Via"] == f"1.1 {distribution['DomainName']} (CloudFront)"
    status, _, body = edge_answer(clean_twin, distribution["Id"], "/api/e2e/probes", "POST")
    assert (status, body["path"]) == (200, "/api/e2e/probes")
    status, _, body = edge_answer(clean_twin, alias, "/pages/1", "POST")
    assert (status, body["reason"]) == (403, "POST is not allowed on /pages/1")
    status, _, body = edge_answer(clean_twin, "no-such.wedsync.test", "/")
    assert status == 404 and "no distribution no-such.wedsync.test" in body["error"]
