"""estate_info against moto: a region built as the roles name it, one missing piece, and the DR region."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import estate_info
from moto import mock_aws

PREFIX = "it"
REGION = "us-east-1"


def tagged(name: str, **tags: str) -> list[dict[str, Any]]:
    return [
        {
            "ResourceType": "x",
            "Tags": [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in tags.items()],
        }
    ]


def build_network(ec2) -> dict[str, Any]:
    vpc = ec2.create_vpc(
        CidrBlock="10.60.0.0/16", TagSpecifications=[{**tagged(f"{PREFIX}-vpc")[0], "ResourceType": "vpc"}]
    )
    vpc_id = vpc["Vpc"]["VpcId"]
    subnets = {}
    for i, (tier, az) in enumerate([("public", "b"), ("public", "a"), ("private", "a")]):
        spec = {**tagged(f"{PREFIX}-{tier}-{az}", **{"wedsync:tier": tier})[0], "ResourceType": "subnet"}
        subnet = ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"10.60.{i}.0/24", AvailabilityZone=f"{REGION}{az}", TagSpecifications=[spec]
        )
        subnets.setdefault(tier, []).append(subnet["Subnet"]["SubnetId"])
    groups = {
        tier: ec2.create_security_group(GroupName=f"{PREFIX}-{tier}", Description=tier, VpcId=vpc_id)["GroupId"]
        for tier in ("alb", "app", "db", "cache")
    }
    return {"vpc": vpc_id, "subnets": subnets, "security_groups": groups}


def build_load_balancer(network: dict[str, Any]) -> dict[str, str]:
    elb = boto3.client("elbv2", region_name=REGION)
    arns = {
        color: elb.create_target_group(Name=f"{PREFIX}-{color}", Protocol="HTTP", Port=3000, VpcId=network["vpc"])[
            "TargetGroups"
        ][0]["TargetGroupArn"]
        for color in ("blue", "green")
    }
    balancer = elb.create_load_balancer(
        Name=f"{PREFIX}-alb", Subnets=network["subnets"]["public"], SecurityGroups=[network["security_groups"]["alb"]]
    )
    elb.create_listener(
        LoadBalancerArn=balancer["LoadBalancers"][0]["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": arns["blue"]}],
    )
    return arns


def build_app(ec2, network: dict[str, Any], target_groups: dict[str, str], colors: tuple[str, ...]) -> None:
    ec2.create_launch_template(
        LaunchTemplateName=f"{PREFIX}-app",
        LaunchTemplateData={
            "ImageId": "ami-12c6146b",
            "InstanceType": "t3.micro",
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "wedsync:version", "Value": "1.0.0"}]}],
        },
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": [{"Key": "Name", "Value": f"{PREFIX}-app"}]}],
    )
    iam = boto3.client("iam", region_name=REGION)
    iam.create_instance_profile(InstanceProfileName=f"{PREFIX}-app-{REGION}")
    autoscaling = boto3.client("autoscaling", region_name=REGION)
    for color in colors:
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"{PREFIX}-app-{color}",
            LaunchTemplate={"LaunchTemplateName": f"{PREFIX}-app", "Version": "1"},
            MinSize=0,
            MaxSize=2,
            DesiredCapacity=1 if color == "blue" else 0,
            VPCZoneIdentifier=network["subnets"]["private"][0],
            TargetGroupARNs=[target_groups[color]],
        )


@pytest.fixture
def aws(monkeypatch) -> dict[str, Any]:
    """One region as the roles build it, but for the green Auto Scaling group."""
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        network = build_network(ec2)
        target_groups = build_load_balancer(network)
        build_app(ec2, network, target_groups, ("blue",))
        rds = boto3.client("rds", region_name=REGION)
        rds.create_db_instance(
            DBInstanceIdentifier=f"{PREFIX}-db",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="u",
            MasterUserPassword="password1",
            AllocatedStorage=20,
        )
        rds.create_db_instance_read_replica(
            DBInstanceIdentifier=f"{PREFIX}-db-replica-1", SourceDBInstanceIdentifier=f"{PREFIX}-db"
        )
        rds.create_db_instance(
            DBInstanceIdentifier="someone-else-db",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="u",
            MasterUserPassword="password1",
            AllocatedStorage=20,
        )
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (
            f"{PREFIX}-uploads-{REGION}",
            f"{PREFIX}-deployments-{REGION}",
            f"{PREFIX}-uploads-us-west-2",
            "other-uploads-us-east-1",
        ):
            s3.create_bucket(Bucket=bucket)
        sns = boto3.client("sns", region_name=REGION)
        topics = {topic: sns.create_topic(Name=f"{PREFIX}-{topic}")["TopicArn"] for topic in ("alerts", "paging")}
        sns.create_topic(Name="other-alerts")
        boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
            AlarmName=f"{PREFIX}-alb-error-rate-critical",
            MetricName="HTTPCode_ELB_5XX_Count",
            Namespace="AWS/ApplicationELB",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
        yield {"network": network, "target_groups": target_groups, "topics": topics}


def run(capsys, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    args.setdefault("name_prefix", PREFIX)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        estate_info.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def test_reads_each_section_by_the_roles_names(aws, capsys) -> None:
    result = run(capsys)
    estate = result["estate"]
    assert not result["changed"]
    network = estate["network"]
    assert network["vpc"]["vpc_id"] == aws["network"]["vpc"]
    assert network["vpc"]["tags"] == {"Name": f"{PREFIX}-vpc"}
    assert [s["availability_zone"] for s in network["subnets"]["public"]] == [f"{REGION}a", f"{REGION}b"]
    assert [s["subnet_id"] for s in network["subnets"]["private"]] == aws["network"]["subnets"]["private"]
    assert {tier: g["group_id"] for tier, g in network["security_groups"].items()} == aws["network"]["security_groups"]

    balancer = estate["load_balancer"]
    assert balancer["load_balancer"]["load_balancer_name"] == f"{PREFIX}-alb"
    assert (
        balancer["load_balancer"]["listeners"][0]["default_actions"][0]["target_group_arn"]
        == aws["target_groups"]["blue"]
    )
    assert {c: g["target_group_arn"] for c, g in balancer["target_groups"].items()} == aws["target_groups"]
    blue_instances = [i["instance_id"] for i in estate["app"]["auto_scaling_groups"]["blue"]["instances"]]
    targets = balancer["target_groups"]["blue"]["targets_health_description"]
    assert [(t["target"]["id"], t["target_health"]["state"]) for t in targets] == [(blue_instances[0], "healthy")]

    app = estate["app"]
    versions = app["launch_template"]["versions"]
    assert versions[0]["launch_template_data"]["tag_specifications"][0]["tags"] == [
        {"key": "wedsync:version", "value": "1.0.0"}
    ]
    assert app["instance_profile"]["instance_profile_name"] == f"{PREFIX}-app-{REGION}"
    assert list(app["auto_scaling_groups"]) == ["blue"]
    assert app["auto_scaling_groups"]["blue"]["launch_template"]["version"] == "1"

    database = estate["database"]
    assert database["primary"]["db_instance_identifier"] == f"{PREFIX}-db"
    assert [r["db_instance_identifier"] for r in database["replicas"]] == [f"{PREFIX}-db-replica-1"]
    assert estate["cache"] == {"replication_group": None}
    assert estate["storage"]["buckets"] == {
        "deployments": f"{PREFIX}-deployments-{REGION}",
        "uploads": f"{PREFIX}-uploads-{REGION}",
    }
    assert estate["alerting"]["topics"] == aws["topics"]
    assert [(a["alarm_name"], a["alarm_type"]) for a in estate["alerting"]["alarms"]] == [
        (f"{PREFIX}-alb-error-rate-critical", "MetricAlarm")
    ]

    assert result["missing"] == [f"the Auto Scaling group {PREFIX}-app-green"]


def test_only_the_sections_asked_for_are_read(aws, capsys) -> None:
    result = run(capsys, sections=["app"])
    assert list(result["estate"]) == ["app"]
    assert result["missing"] == [f"the Auto Scaling group {PREFIX}-app-green"]


def test_another_prefix_finds_nothing_and_says_what_is_missing(aws, capsys) -> None:
    result = run(capsys, name_prefix="absent", sections=["network", "load_balancer", "database"])
    assert result["estate"]["network"] == {"vpc": None, "subnets": {}, "security_groups": {}}
    assert result["estate"]["load_balancer"] == {"load_balancer": None, "target_groups": {}}
    assert result["estate"]["database"] == {"primary": None, "replicas": []}
    assert result["missing"] == [
        "the VPC absent-vpc",
        "the load balancer absent-alb",
        "the target group absent-blue",
        "the target group absent-green",
    ]


def test_a_section_not_offered_is_refused(aws, capsys) -> None:
    result = run(capsys, sections=["dns"])
    assert result["failed"]
    assert "sections" in result["msg"]


def test_every_returned_key_is_documented(aws, capsys) -> None:
    result = run(capsys)
    documented = yaml.safe_load(estate_info.RETURN)
    assert set(result) - {"changed", "invocation", "warnings"} == set(documented)
    assert set(result["estate"]) == set(documented["estate"]["contains"])
