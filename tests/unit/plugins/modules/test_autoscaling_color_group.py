"""autoscaling_color_group: the capacity rule, and the module against moto (create, converge, check mode, diff)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import autoscaling_color_group
from ansible_collections.wedsync.platform.plugins.modules.autoscaling_color_group import (
    Capacity,
    CapacityError,
    plan_capacity,
)
from moto import mock_aws

REGION = "us-east-1"
GROUP = "it-app-blue"

# -- the capacity rule -------------------------------------------------------------------------


def test_a_new_group_takes_the_sizes_given_and_min_for_desired() -> None:
    assert plan_capacity("preserve", None, 0, 4, None) == Capacity(0, 4, 0)
    assert plan_capacity("baseline", None, 1, 4, 2) == Capacity(1, 4, 2)


def test_creating_needs_min_and_max() -> None:
    with pytest.raises(CapacityError, match="min_size and max_size are required"):
        plan_capacity("enforce", None, None, 4, 2)


def test_enforce_sets_each_size_given_and_keeps_the_others() -> None:
    current = Capacity(1, 4, 3)
    assert plan_capacity("enforce", current, 2, 6, 2) == Capacity(2, 6, 2)
    assert plan_capacity("enforce", current, None, None, 1) == Capacity(1, 4, 1)


def test_enforce_refuses_a_desired_capacity_outside_the_limits() -> None:
    with pytest.raises(CapacityError, match="desired_capacity 5 is outside min_size 1 and max_size 4"):
        plan_capacity("enforce", Capacity(1, 4, 2), 1, 4, 5)


def test_baseline_raises_the_desired_capacity_but_never_lowers_it() -> None:
    assert plan_capacity("baseline", Capacity(0, 4, 1), 1, 4, 2) == Capacity(1, 4, 2)
    assert plan_capacity("baseline", Capacity(1, 4, 3), 1, 4, 2) == Capacity(1, 4, 3)


def test_baseline_keeps_a_scaled_out_group_within_a_lowered_maximum() -> None:
    assert plan_capacity("baseline", Capacity(1, 8, 7), 1, 4, 2) == Capacity(1, 4, 4)


def test_preserve_leaves_an_existing_group_as_it_is() -> None:
    assert plan_capacity("preserve", Capacity(1, 4, 3), 0, 12, 0) == Capacity(1, 4, 3)


def test_a_new_maximum_below_the_desired_capacity_lowers_it_as_auto_scaling_does() -> None:
    assert plan_capacity("enforce", Capacity(1, 8, 6), None, 4, None) == Capacity(1, 4, 4)


def test_min_above_max_is_refused() -> None:
    with pytest.raises(CapacityError, match="min_size 5 is greater than max_size 4"):
        plan_capacity("enforce", Capacity(1, 4, 2), 5, 4, None)


# -- the module against moto -------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch) -> dict[str, Any]:
    """A VPC with two subnets, two target groups and a launch template."""
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.50.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]
            for i, az in enumerate("ab")
        ]
        elb = boto3.client("elbv2", region_name=REGION)
        tgs = [
            elb.create_target_group(Name=f"it-{color}", Protocol="HTTP", Port=3000, VpcId=vpc)["TargetGroups"][0][
                "TargetGroupArn"
            ]
            for color in ("blue", "green")
        ]
        ec2.create_launch_template(
            LaunchTemplateName="it-app", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
        )
        yield {"subnets": [s["SubnetId"] for s in subnets], "target_groups": tgs}


def run(capsys, check_mode: bool = False, diff: bool = False, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    args.setdefault("name", GROUP)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        autoscaling_color_group.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def group_args(aws: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    args = {
        "launch_template": {"launch_template_name": "it-app"},
        "subnets": aws["subnets"],
        "target_group_arns": aws["target_groups"][:1],
        "min_size": 1,
        "max_size": 4,
        "desired_capacity": 2,
        "capacity_mode": "baseline",
        "health_check_type": "ELB",
        "health_check_grace_period": 120,
        "default_cooldown": 300,
        "tags": {"Name": GROUP, "wedsync:color": "blue"},
    }
    args.update(overrides)
    return args


def described() -> dict[str, Any]:
    client = boto3.client("autoscaling", region_name=REGION)
    return client.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"][0]


def test_check_mode_predicts_a_new_group_and_creates_nothing(aws, capsys) -> None:
    result = run(capsys, check_mode=True, diff=True, **group_args(aws))
    assert result["changed"]
    group = result["auto_scaling_group"]
    assert (group["min_size"], group["desired_capacity"], group["max_size"]) == (1, 2, 4)
    assert group["auto_scaling_group_arn"] is None
    assert result["diff"]["before"] == {}
    assert boto3.client("autoscaling", region_name=REGION).describe_auto_scaling_groups()["AutoScalingGroups"] == []


def test_creates_the_group_as_asked_then_converges(aws, capsys) -> None:
    first = run(capsys, **group_args(aws))
    assert first["changed"]
    group = described()
    assert (group["MinSize"], group["DesiredCapacity"], group["MaxSize"]) == (1, 2, 4)
    assert group["LaunchTemplate"]["LaunchTemplateName"] == "it-app"
    assert group["LaunchTemplate"]["Version"] == "$Default"
    assert sorted(group["VPCZoneIdentifier"].split(",")) == sorted(aws["subnets"])
    assert group["TargetGroupARNs"] == aws["target_groups"][:1]
    assert (group["HealthCheckType"], group["HealthCheckGracePeriod"]) == ("ELB", 120)
    assert {t["Key"]: (t["Value"], t["PropagateAtLaunch"]) for t in group["Tags"]} == {
        "Name": (GROUP, True),
        "wedsync:color": ("blue", True),
    }
    assert first["auto_scaling_group"]["auto_scaling_group_arn"] == group["AutoScalingGroupARN"]

    assert not run(capsys, **group_args(aws))["changed"]
    assert not run(capsys, check_mode=True, **group_args(aws))["changed"]


def test_baseline_keeps_a_group_a_deploy_scaled_up(aws, capsys) -> None:
    run(capsys, **group_args(aws))
    boto3.client("autoscaling", region_name=REGION).update_auto_scaling_group(
        AutoScalingGroupName=GROUP, DesiredCapacity=4
    )
    result = run(capsys, **group_args(aws))
    assert not result["changed"]
    assert described()["DesiredCapacity"] == 4


def test_preserve_leaves_the_idle_color_as_a_deploy_left_it(aws, capsys) -> None:
    run(capsys, **group_args(aws, min_size=0, desired_capacity=0, capacity_mode="preserve"))
    assert described()["DesiredCapacity"] == 0
    boto3.client("autoscaling", region_name=REGION).update_auto_scaling_group(
        AutoScalingGroupName=GROUP, MinSize=1, DesiredCapacity=3
    )
    assert not run(capsys, **group_args(aws, min_size=0, desired_capacity=0, capacity_mode="preserve"))["changed"]
    assert (described()["MinSize"], described()["DesiredCapacity"]) == (1, 3)


def test_check_mode_and_diff_show_a_change_without_making_it(aws, capsys) -> None:
    run(capsys, **group_args(aws))
    result = run(capsys, check_mode=True, diff=True, **group_args(aws, min_size=2, desired_capacity=3))
    assert result["changed"]
    assert (result["diff"]["before"]["min_size"], result["diff"]["after"]["min_size"]) == (1, 2)
    assert (result["diff"]["before"]["desired_capacity"], result["diff"]["after"]["desired_capacity"]) == (2, 3)
    assert (described()["MinSize"], described()["DesiredCapacity"]) == (1, 2)


def test_settings_not_given_are_kept_and_a_new_group_gets_the_defaults(aws, capsys) -> None:
    run(capsys, **group_args(aws, default_cooldown=90, metrics_collection=True))
    resized = run(capsys, min_size=0, desired_capacity=0, capacity_mode="enforce")
    assert resized["changed"]
    group = described()
    assert (group["MinSize"], group["DesiredCapacity"], group["MaxSize"]) == (0, 0, 4)
    assert (group["HealthCheckType"], group["HealthCheckGracePeriod"], group["DefaultCooldown"]) == ("ELB", 120, 90)
    assert resized["auto_scaling_group"]["enabled_metrics"] == sorted(autoscaling_color_group.DEFAULT_METRICS)
    assert not run(capsys, min_size=0, desired_capacity=0, capacity_mode="enforce")["changed"]

    bare = {
        key: value for key, value in group_args(aws).items() if key not in ("health_check_type", "default_cooldown")
    }
    run(capsys, **{**bare, "health_check_grace_period": None, "name": "it-app-green"})
    green = boto3.client("autoscaling", region_name=REGION).describe_auto_scaling_groups(
        AutoScalingGroupNames=["it-app-green"]
    )["AutoScalingGroups"][0]
    assert (green["HealthCheckType"], green["HealthCheckGracePeriod"], green["DefaultCooldown"]) == ("EC2", 300, 300)
    assert green.get("EnabledMetrics", []) == []


def test_target_groups_are_made_to_match(aws, capsys) -> None:
    run(capsys, **group_args(aws))
    result = run(capsys, **group_args(aws, target_group_arns=aws["target_groups"][1:]))
    assert result["changed"]
    assert described()["TargetGroupARNs"] == aws["target_groups"][1:]


def test_tags_not_asked_for_are_purged(aws, capsys) -> None:
    run(capsys, **group_args(aws))
    run(capsys, **group_args(aws, tags={"Name": GROUP}))
    assert [t["Key"] for t in described()["Tags"]] == ["Name"]


def test_a_new_group_without_a_launch_template_is_refused(aws, capsys) -> None:
    result = run(capsys, **group_args(aws, launch_template=None, subnets=None))
    assert result["msg"] == f"creating Auto Scaling group {GROUP} needs launch_template, subnets"


def test_contradicting_sizes_are_refused_naming_the_group(aws, capsys) -> None:
    result = run(capsys, **group_args(aws, capacity_mode="enforce", desired_capacity=9))
    assert result["msg"] == f"Auto Scaling group {GROUP}: desired_capacity 9 is outside min_size 1 and max_size 4"


def test_absent_deletes_and_then_reports_no_change(aws, capsys) -> None:
    run(capsys, **group_args(aws, min_size=0, desired_capacity=0))
    assert run(capsys, check_mode=True, state="absent")["changed"]
    assert run(capsys, state="absent", force_delete=True)["changed"]
    assert not run(capsys, state="absent")["changed"]


def test_every_returned_key_is_documented(aws, capsys) -> None:
    result = run(capsys, **group_args(aws))
    documented = yaml.safe_load(autoscaling_color_group.RETURN)
    assert set(result) - {"changed", "diff", "invocation", "warnings"} == set(documented)
    assert set(result["auto_scaling_group"]) == set(documented["auto_scaling_group"]["contains"])
