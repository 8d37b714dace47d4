"""autoscaling_policy_info against moto: policies by name and by group, with their ARNs."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import autoscaling_policy_info
from moto import mock_aws

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch) -> Any:
    """Two groups, each with a scale-out and a scale-in policy."""
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.0.0/24")["Subnet"]["SubnetId"]
        ec2.create_launch_template(
            LaunchTemplateName="it-app", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
        )
        autoscaling = boto3.client("autoscaling", region_name=REGION)
        for color in ("blue", "green"):
            group = f"it-app-{color}"
            autoscaling.create_auto_scaling_group(
                AutoScalingGroupName=group,
                LaunchTemplate={"LaunchTemplateName": "it-app"},
                MinSize=0,
                MaxSize=2,
                VPCZoneIdentifier=subnet,
            )
            for suffix, adjustment in (("scale-out", 2), ("scale-in", -1)):
                autoscaling.put_scaling_policy(
                    AutoScalingGroupName=group,
                    PolicyName=f"{group}-{suffix}",
                    PolicyType="SimpleScaling",
                    AdjustmentType="ChangeInCapacity",
                    ScalingAdjustment=adjustment,
                    Cooldown=300,
                )
        yield autoscaling


def run(capsys, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        autoscaling_policy_info.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def test_policies_by_name_with_their_arns(aws, capsys) -> None:
    names = ["it-app-blue-scale-out", "it-app-green-scale-out", "it-app-missing-scale-out"]
    result = run(capsys, policy_names=names)
    assert not result["changed"]
    policies = result["scaling_policies"]
    assert [p["policy_name"] for p in policies] == names[:2]
    blue = policies[0]
    assert blue["auto_scaling_group_name"] == "it-app-blue"
    assert (blue["policy_type"], blue["adjustment_type"], blue["scaling_adjustment"], blue["cooldown"]) == (
        "SimpleScaling",
        "ChangeInCapacity",
        2,
        300,
    )
    assert blue["policy_arn"].startswith("arn:aws:autoscaling:us-east-1:")
    assert blue["policy_arn"].endswith("policyName/it-app-blue-scale-out")


def test_policies_of_one_group_or_all(aws, capsys) -> None:
    green = run(capsys, auto_scaling_group_name="it-app-green")["scaling_policies"]
    assert [p["policy_name"] for p in green] == ["it-app-green-scale-in", "it-app-green-scale-out"]
    assert len(run(capsys)["scaling_policies"]) == 4


def test_every_returned_key_is_documented(aws, capsys) -> None:
    result = run(capsys, policy_names=["it-app-blue-scale-out"])
    documented = yaml.safe_load(autoscaling_policy_info.RETURN)
    assert set(result) - {"changed", "invocation", "warnings"} == set(documented)
    assert set(result["scaling_policies"][0]) == set(documented["scaling_policies"]["contains"])
