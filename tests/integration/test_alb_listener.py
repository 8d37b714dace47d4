"""alb_listener against the twin: throttled calls are retried, and a deploy's weighted split survives."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import alb_listener

from twin.client import TwinClient

REGION = "us-east-1"
POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


@pytest.fixture(scope="module")
def estate(clean_twin: TwinClient) -> Iterator[dict[str, str]]:
    """An ALB, blue and green target groups and an issued certificate, made straight through the API."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    elb = boto3.client("elbv2", region_name=REGION)
    alb = elb.create_load_balancer(Name="it-alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    groups = {
        color: elb.create_target_group(Name=f"it-{color}", Protocol="HTTP", Port=3000, VpcId=vpc)["TargetGroups"][0][
            "TargetGroupArn"
        ]
        for color in ("blue", "green")
    }
    cert = boto3.client("acm", region_name=REGION).request_certificate(DomainName="it.wedsync.test")["CertificateArn"]
    yield {"alb": alb, "cert": cert, **groups}


def run(capsys, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        alb_listener.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def https(estate: dict[str, str]) -> dict[str, Any]:
    return {
        "load_balancer_name": "it-alb",
        "port": 443,
        "protocol": "HTTPS",
        "ssl_policy": POLICY,
        "certificate_arn": estate["cert"],
        "default_actions": [{"Type": "forward", "TargetGroupName": "it-blue"}],
        "keep_default_actions": True,
    }


def test_throttled_calls_are_retried(estate, clean_twin, capsys) -> None:
    clean_twin.inject_fault("CreateListener", "throttle", count=2)
    clean_twin.inject_fault("DescribeListeners", "throttle", count=2)
    result = run(capsys, **https(estate))
    assert result["changed"]
    assert clean_twin.faults() == []  # both rules were met twice, and retried past


def test_a_weighted_split_survives_a_rerun_that_restores_the_policy(estate, clean_twin, capsys) -> None:
    elb = boto3.client("elbv2", region_name=REGION)
    arn = next(li for li in elb.describe_listeners(LoadBalancerArn=estate["alb"])["Listeners"] if li["Port"] == 443)[
        "ListenerArn"
    ]
    weighted = [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": estate["blue"], "Weight": 25},
                    {"TargetGroupArn": estate["green"], "Weight": 75},
                ],
                "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 120},
            },
        }
    ]
    elb.modify_listener(ListenerArn=arn, DefaultActions=weighted, SslPolicy="ELBSecurityPolicy-2016-08")
    clean_twin.inject_fault("ModifyListener", "throttle", count=1)

    result = run(capsys, **https(estate))
    assert result["changed"]
    assert result["default_actions_kept"]
    listener = elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]
    assert listener["SslPolicy"] == POLICY
    assert listener["DefaultActions"] == weighted
    assert not run(capsys, **https(estate))["changed"]


def test_twin_target_groups_and_albs_report_aws_default_attributes(estate) -> None:
    elb = boto3.client("elbv2", region_name=REGION)
    group = {
        a["Key"]: a["Value"] for a in elb.describe_target_group_attributes(TargetGroupArn=estate["blue"])["Attributes"]
    }
    assert group["stickiness.lb_cookie.duration_seconds"] == "86400"
    alb = {
        a["Key"]: a["Value"] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=estate["alb"])["Attributes"]
    }
    assert alb["access_logs.s3.enabled"] == "false"
    assert alb["idle_timeout.timeout_seconds"] == "60"
    assert alb["routing.http.drop_invalid_header_fields.enabled"] == "false"
