"""alb_traffic_switch against the twin, as users run it: the health gate, the alarm gate, retries, check mode."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from twin.client import TwinClient

REGION = "us-east-1"
MODULE = "wedsync.platform.alb_traffic_switch"
ALARM = "it-alb-error-rate-critical"


@pytest.fixture(scope="module")
def estate(clean_twin: TwinClient) -> Iterator[dict[str, Any]]:
    """An ALB whose HTTP listener forwards to blue; blue and green with two running targets each; an alarm."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.31.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.31.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    elb = boto3.client("elbv2", region_name=REGION)
    alb = elb.create_load_balancer(Name="it-switch-alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    estate: dict[str, Any] = {"instances": {}}
    for color in ("blue", "green"):
        group = elb.create_target_group(Name=f"it-switch-{color}", Protocol="HTTP", Port=3000, VpcId=vpc)
        estate[color] = group["TargetGroups"][0]["TargetGroupArn"]
        instances = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, SubnetId=subnets[0])["Instances"]
        estate["instances"][color] = [instance["InstanceId"] for instance in instances]
        elb.register_targets(TargetGroupArn=estate[color], Targets=[{"Id": i} for i in estate["instances"][color]])
    estate["listener"] = elb.create_listener(
        LoadBalancerArn=alb,
        Port=80,
        Protocol="HTTP",
        DefaultActions=[{"Type": "forward", "TargetGroupArn": estate["blue"]}],
    )["Listeners"][0]["ListenerArn"]
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName=ALARM,
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )
    yield estate


@pytest.fixture(autouse=True)
def on_blue(estate: dict[str, Any], clean_twin: TwinClient) -> Iterator[None]:
    """Each test starts with all traffic on blue, every target healthy, the alarm OK and no fault."""
    boto3.client("elbv2", region_name=REGION).modify_listener(
        ListenerArn=estate["listener"], DefaultActions=[{"Type": "forward", "TargetGroupArn": estate["blue"]}]
    )
    set_alarm("OK")
    yield
    clean_twin.clear_target_health()
    clean_twin.clear_faults()


def set_alarm(state: str) -> None:
    boto3.client("cloudwatch", region_name=REGION).set_alarm_state(
        AlarmName=ALARM, StateValue=state, StateReason="test"
    )


def weights(estate: dict[str, Any]) -> dict[str, int]:
    listener = boto3.client("elbv2", region_name=REGION).describe_listeners(ListenerArns=[estate["listener"]])
    action = listener["Listeners"][0]["DefaultActions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": action["TargetGroupArn"]}]
    names = {estate["blue"]: "blue", estate["green"]: "green"}
    return {names[group["TargetGroupArn"]]: int(group.get("Weight", 1)) for group in groups}


def to_green(green: int = 100, blue: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "load_balancer_name": "it-switch-alb",
        "port": 80,
        "target_groups": [{"name": "it-switch-green", "weight": green}, {"name": "it-switch-blue", "weight": blue}],
        **extra,
    }


def test_switches_when_green_is_healthy_and_a_rerun_changes_nothing(estate, ansible_module) -> None:
    switched = ansible_module(MODULE, to_green())
    assert switched["changed"] is True
    assert switched["previous_weights"] == {"it-switch-blue": 1}
    assert switched["weights"] == {"it-switch-green": 100, "it-switch-blue": 0}
    assert switched["health"][0]["healthy"] == 2
    assert weights(estate) == {"green": 100, "blue": 0}

    again = ansible_module(MODULE, to_green())
    assert again["changed"] is False
    assert weights(estate) == {"green": 100, "blue": 0}


def test_refuses_when_a_green_target_is_unhealthy(estate, clean_twin, ansible_module) -> None:
    sick = estate["instances"]["green"][1]
    clean_twin.set_target_health(estate["green"], sick, "unhealthy")
    refused = ansible_module(MODULE, to_green())
    assert refused["failed"] is True
    assert refused["changed"] is False
    assert "the listener is unchanged" in refused["msg"]
    assert "it-switch-green: 1 of 2 registered targets healthy" in refused["msg"]
    assert f"{sick}:3000 unhealthy (Target.FailedHealthChecks: Health checks failed)" in refused["msg"]
    assert weights(estate) == {"blue": 1}


def test_an_alarm_during_observation_rolls_back(estate, ansible_module) -> None:
    stop = threading.Event()

    def fire_once_green_takes_traffic() -> None:
        # After the shift, whatever time the module took to start: the alarm fires during the observation.
        while not stop.wait(0.2):
            if weights(estate).get("green", 0) > 0:
                set_alarm("ALARM")
                return

    watcher = threading.Thread(target=fire_once_green_takes_traffic, daemon=True)
    watcher.start()
    try:
        result = ansible_module(MODULE, to_green(10, 90, rollback_alarms=[ALARM], observe_seconds=60, poll_interval=1))
    finally:
        stop.set()
    assert result["failed"] is True
    assert result["rolled_back"] is True
    assert result["fired_alarm"] == ALARM
    assert result["observed_seconds"] < 30
    assert "rolled back to {'it-switch-blue': 1}" in result["msg"]
    assert weights(estate) == {"blue": 1}


def test_check_mode_writes_nothing(estate, ansible_module) -> None:
    predicted = ansible_module(MODULE, to_green(10, 90), check=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["weights"] == {"it-switch-green": 10, "it-switch-blue": 90}
    diff = predicted["diff"] if isinstance(predicted["diff"], dict) else predicted["diff"][0]
    assert list(diff["after"].values()) == [
        {"weights": {"it-switch-green": 10, "it-switch-blue": 90}, "stickiness_duration": 0}
    ]
    assert weights(estate) == {"blue": 1}


def test_throttled_modify_listener_is_retried(estate, clean_twin, ansible_module) -> None:
    clean_twin.inject_fault("ModifyListener", "throttle", count=3)
    switched = ansible_module(MODULE, to_green(50, 50))
    assert switched["changed"] is True
    assert weights(estate) == {"green": 50, "blue": 50}
    assert clean_twin.faults() == []  # the rule was met three times, and retried past
