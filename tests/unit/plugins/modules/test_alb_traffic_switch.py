"""alb_traffic_switch against moto: the switch, its gates, check and diff mode, rollback, bad input."""

from __future__ import annotations

import json
from typing import Any

import boto3
import botocore.client
import botocore.exceptions
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.module_utils import alb_switch
from ansible_collections.wedsync.platform.plugins.modules import alb_traffic_switch
from moto import mock_aws

REGION = "us-east-1"
ALARM = "p-alb-error-rate-critical"


@pytest.fixture
def aws(monkeypatch) -> dict[str, Any]:
    """An ALB whose port-80 listener forwards to blue; blue and green with two running targets each."""
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
                "SubnetId"
            ]
            for i, zone in enumerate("ab")
        ]
        elb = boto3.client("elbv2", region_name=REGION)
        alb = elb.create_load_balancer(Name="p-alb", Subnets=subnets)["LoadBalancers"][0]["LoadBalancerArn"]
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        estate: dict[str, Any] = {"alb": alb, "instances": {}}
        for color in ("blue", "green"):
            group = elb.create_target_group(Name=f"p-{color}", Protocol="HTTP", Port=3000, VpcId=vpc)
            estate[color] = group["TargetGroups"][0]["TargetGroupArn"]
            instances = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, SubnetId=subnets[0])["Instances"]
            estate["instances"][color] = [i["InstanceId"] for i in instances]
            elb.register_targets(TargetGroupArn=estate[color], Targets=[{"Id": i} for i in estate["instances"][color]])
        listener = elb.create_listener(
            LoadBalancerArn=alb,
            Port=80,
            Protocol="HTTP",
            DefaultActions=[{"Type": "forward", "TargetGroupArn": estate["blue"]}],
        )
        estate["listener"] = listener["Listeners"][0]["ListenerArn"]
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        cloudwatch.put_metric_alarm(
            AlarmName=ALARM,
            Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=5,
            ComparisonOperator="GreaterThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="test")
        yield estate


def run(capsys, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    args["_ansible_check_mode"] = check_mode
    args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        alb_traffic_switch.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def to(green: int, blue: int) -> list[dict[str, Any]]:
    return [{"name": "p-green", "weight": green}, {"name": "p-blue", "weight": blue}]


def forward(aws: dict[str, Any]) -> dict[str, Any]:
    listener = boto3.client("elbv2", region_name=REGION).describe_listeners(ListenerArns=[aws["listener"]])
    return listener["Listeners"][0]["DefaultActions"][0]


def weights(aws: dict[str, Any]) -> dict[str, int]:
    action = forward(aws)
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": action["TargetGroupArn"]}]
    names = {aws["blue"]: "p-blue", aws["green"]: "p-green"}
    return {names[g["TargetGroupArn"]]: int(g.get("Weight", 1)) for g in groups}


def stop(aws: dict[str, Any], instance: str) -> None:
    boto3.client("ec2", region_name=REGION).stop_instances(InstanceIds=[instance])


def refuse(monkeypatch, operation: str, code: str, message: str) -> None:
    """From now on AWS answers every `operation` call (e.g. "ModifyRule") with that error."""
    make_api_call = botocore.client.BaseClient._make_api_call

    def answer(client, name: str, params: dict[str, Any]) -> dict[str, Any]:
        if name == operation:
            raise botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, name)
        return make_api_call(client, name, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", answer)


class TestSwitch:
    def test_moves_all_traffic_and_reports_both_sets_of_weights(self, aws, capsys):
        result = run(capsys, load_balancer_name="p-alb", port=80, target_groups=to(100, 0))
        assert result["changed"] is True
        assert result["listener_arn"] == aws["listener"]
        assert result["previous_weights"] == {"p-blue": 1}
        assert result["weights"] == {"p-green": 100, "p-blue": 0}
        assert result["traffic_percent"] == {"p-green": 100.0, "p-blue": 0.0}
        assert result["health"] == [
            {"target_group_name": "p-green", "registered": 2, "healthy": 2, "unhealthy_targets": []}
        ]
        assert weights(aws) == {"p-green": 100, "p-blue": 0}
        assert result["diff"]["before"] == {
            f"listener {aws['listener']}": {"weights": {"p-blue": 1}, "stickiness_duration": 0}
        }

    def test_a_rerun_changes_nothing(self, aws, capsys):
        run(capsys, listener_arn=aws["listener"], target_groups=to(10, 90))
        again = run(capsys, listener_arn=aws["listener"], target_groups=to(10, 90))
        assert again["changed"] is False
        assert again["weights"] == again["previous_weights"] == {"p-green": 10, "p-blue": 90}

    def test_plain_target_group_arn_matches_a_lone_weighted_group(self, aws, capsys):
        result = run(capsys, listener_arn=aws["listener"], target_groups=[{"arn": aws["blue"], "weight": 100}])
        assert result["changed"] is False

    def test_stickiness_is_written_and_kept(self, aws, capsys):
        run(capsys, listener_arn=aws["listener"], target_groups=to(10, 90), stickiness_duration=3600)
        assert forward(aws)["ForwardConfig"]["TargetGroupStickinessConfig"] == {
            "Enabled": True,
            "DurationSeconds": 3600,
        }
        kept = run(capsys, listener_arn=aws["listener"], target_groups=to(50, 50))
        assert kept["stickiness_duration"] == 3600
        off = run(capsys, listener_arn=aws["listener"], target_groups=to(50, 50), stickiness_duration=0)
        assert off["changed"] is True
        assert off["stickiness_duration"] == 0

    def test_rolling_back_with_the_reported_previous_weights(self, aws, capsys):
        first = run(capsys, listener_arn=aws["listener"], target_groups=to(100, 0))
        back = [{"name": name, "weight": weight} for name, weight in first["previous_weights"].items()]
        run(capsys, listener_arn=aws["listener"], target_groups=back)
        assert weights(aws) == {"p-blue": 1}


class TestCheckMode:
    def test_predicts_and_writes_nothing(self, aws, capsys):
        before = forward(aws)
        result = run(capsys, check_mode=True, listener_arn=aws["listener"], target_groups=to(10, 90))
        assert result["changed"] is True
        assert result["weights"] == {"p-green": 10, "p-blue": 90}
        assert result["diff"]["after"] == {
            f"listener {aws['listener']}": {"weights": {"p-green": 10, "p-blue": 90}, "stickiness_duration": 0}
        }
        assert forward(aws) == before
        predicted = result["default_actions"][0]["forward_config"]
        assert {g["target_group_arn"]: g["weight"] for g in predicted["target_groups"]} == {
            aws["green"]: 10,
            aws["blue"]: 90,
        }

    def test_runs_the_health_gate(self, aws, capsys):
        stop(aws, aws["instances"]["green"][0])
        result = run(capsys, check_mode=True, listener_arn=aws["listener"], target_groups=to(10, 90))
        assert result["failed"] is True
        assert "Target.InvalidState" in result["msg"]


class TestHealthGate:
    def test_refuses_and_names_the_unhealthy_target(self, aws, capsys):
        bad = aws["instances"]["green"][1]
        stop(aws, bad)
        result = run(capsys, listener_arn=aws["listener"], target_groups=to(100, 0))
        assert result["failed"] is True
        assert result["changed"] is False
        assert "the listener is unchanged" in result["msg"]
        assert "p-green: 1 of 2 registered targets healthy (needs at least 1 and 100%)" in result["msg"]
        assert f"{bad}:3000 unused (Target.InvalidState: Target is in the stopped state)" in result["msg"]
        assert weights(aws) == {"p-blue": 1}

    def test_percent_and_minimum_are_the_callers(self, aws, capsys):
        stop(aws, aws["instances"]["green"][1])
        relaxed = run(capsys, listener_arn=aws["listener"], target_groups=to(100, 0), min_healthy_percent=50)
        assert relaxed["changed"] is True
        strict = run(
            capsys,
            listener_arn=aws["listener"],
            target_groups=to(50, 50),
            min_healthy_percent=50,
            min_healthy_targets=2,
        )
        assert strict["failed"] is True
        assert "needs at least 2 and 50%" in strict["msg"]

    def test_groups_at_weight_0_are_not_gated(self, aws, capsys):
        for instance in aws["instances"]["green"]:
            stop(aws, instance)
        result = run(capsys, listener_arn=aws["listener"], target_groups=to(0, 100))
        assert result["changed"] is True
        assert [h["target_group_name"] for h in result["health"]] == ["p-blue"]

    def test_an_empty_group_is_refused(self, aws, capsys):
        elb = boto3.client("elbv2", region_name=REGION)
        elb.deregister_targets(TargetGroupArn=aws["green"], Targets=[{"Id": i} for i in aws["instances"]["green"]])
        result = run(capsys, listener_arn=aws["listener"], target_groups=to(100, 0))
        assert result["failed"] is True
        assert "p-green: 0 of 0 registered targets healthy" in result["msg"]


class TestAlarmGate:
    def set_alarm(self, state: str) -> None:
        boto3.client("cloudwatch", region_name=REGION).set_alarm_state(
            AlarmName=ALARM, StateValue=state, StateReason="test"
        )

    def test_an_alarm_already_firing_refuses_before_any_change(self, aws, capsys):
        self.set_alarm("ALARM")
        result = run(capsys, listener_arn=aws["listener"], target_groups=to(100, 0), rollback_alarms=[ALARM])
        assert result["failed"] is True
        assert result["changed"] is False
        assert f"{ALARM} already in ALARM" in result["msg"]
        assert weights(aws) == {"p-blue": 1}

    def test_an_alarm_firing_during_observation_rolls_back(self, aws, capsys, monkeypatch):
        sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            assert weights(aws) == {"p-green": 10, "p-blue": 90}, "observed after the shift"
            self.set_alarm("ALARM")

        monkeypatch.setattr(alb_switch.time, "sleep", sleep)
        result = run(
            capsys,
            listener_arn=aws["listener"],
            target_groups=to(10, 90),
            rollback_alarms=[ALARM],
            observe_seconds=60,
            poll_interval=5,
        )
        assert sleeps == [5]
        assert result["failed"] is True
        assert result["changed"] is True
        assert result["rolled_back"] is True
        assert result["fired_alarm"] == ALARM
        assert f"{ALARM} went to ALARM" in result["msg"]
        assert "rolled back to {'p-blue': 1}" in result["msg"]
        assert result["weights"] == {"p-blue": 1}
        assert weights(aws) == {"p-blue": 1}

    @pytest.mark.parametrize("failure", ["deleted", "cloudwatch error"])
    def test_alarms_that_cannot_be_read_during_observation_roll_back(self, aws, capsys, monkeypatch, failure):
        def sleep(seconds: float) -> None:
            assert weights(aws) == {"p-green": 10, "p-blue": 90}, "observed after the shift"
            if failure == "deleted":
                boto3.client("cloudwatch", region_name=REGION).delete_alarms(AlarmNames=[ALARM])
            else:
                refuse(monkeypatch, "DescribeAlarms", "InternalFailure", "CloudWatch is down")

        monkeypatch.setattr(alb_switch.time, "sleep", sleep)
        result = run(
            capsys, listener_arn=aws["listener"], target_groups=to(10, 90), rollback_alarms=[ALARM], observe_seconds=60
        )
        assert result["failed"] is True
        assert result["rolled_back"] is True
        assert "fired_alarm" not in result
        assert "the rollback alarms could not be read" in result["msg"]
        assert "rolled back to {'p-blue': 1}" in result["msg"]
        assert result["weights"] == {"p-blue": 1}
        assert weights(aws) == {"p-blue": 1}

    def test_quiet_alarms_let_the_shift_stand(self, aws, capsys, monkeypatch):
        clock = iter(range(0, 1000, 7))
        monkeypatch.setattr(alb_switch.time, "monotonic", lambda: next(clock))
        monkeypatch.setattr(alb_switch.time, "sleep", lambda seconds: None)
        result = run(
            capsys, listener_arn=aws["listener"], target_groups=to(100, 0), rollback_alarms=[ALARM], observe_seconds=20
        )
        assert result["changed"] is True
        assert result["rolled_back"] is False
        assert result["alarms"] == {ALARM: "OK"}
        assert result["observed_seconds"] >= 20
        assert weights(aws) == {"p-green": 100, "p-blue": 0}

    def test_an_unknown_alarm_is_refused(self, aws, capsys):
        result = run(capsys, listener_arn=aws["listener"], target_groups=to(100, 0), rollback_alarms=["p-typo"])
        assert result["failed"] is True
        assert "rollback_alarms not found in CloudWatch: p-typo" in result["msg"]
        assert weights(aws) == {"p-blue": 1}


class TestRules:
    def test_rules_forwarding_to_the_switched_groups_follow_and_others_stay(self, aws, capsys):
        elb = boto3.client("elbv2", region_name=REGION)
        api = elb.create_rule(
            ListenerArn=aws["listener"],
            Priority=10,
            Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
            Actions=[{"Type": "forward", "TargetGroupArn": aws["blue"]}],
        )["Rules"][0]["RuleArn"]
        fixed = elb.create_rule(
            ListenerArn=aws["listener"],
            Priority=20,
            Conditions=[{"Field": "path-pattern", "Values": ["/maintenance"]}],
            Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}],
        )["Rules"][0]["RuleArn"]
        result = run(capsys, listener_arn=aws["listener"], target_groups=to(100, 0), include_rules=True)
        assert result["rules"] == [api]
        rules = {r["RuleArn"]: r for r in elb.describe_rules(ListenerArn=aws["listener"])["Rules"]}
        groups = rules[api]["Actions"][0]["ForwardConfig"]["TargetGroups"]
        assert {g["TargetGroupArn"]: g["Weight"] for g in groups} == {aws["green"]: 100, aws["blue"]: 0}
        assert rules[fixed]["Actions"][0]["Type"] == "fixed-response"
        assert (
            run(capsys, listener_arn=aws["listener"], target_groups=to(100, 0), include_rules=True)["changed"] is False
        )


class TestWriteFailure:
    def test_a_failed_rule_write_puts_the_listener_back(self, aws, capsys, monkeypatch):
        elb = boto3.client("elbv2", region_name=REGION)
        elb.create_rule(
            ListenerArn=aws["listener"],
            Priority=10,
            Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
            Actions=[{"Type": "forward", "TargetGroupArn": aws["blue"]}],
        )
        refuse(monkeypatch, "ModifyRule", "ValidationError", "rule refused")
        result = run(capsys, listener_arn=aws["listener"], target_groups=to(100, 0), include_rules=True)
        assert result["failed"] is True
        assert result["rolled_back"] is True
        assert result["weights"] == {"p-blue": 1}
        assert "now forwards {'p-blue': 1}" in result["msg"]
        assert weights(aws) == {"p-blue": 1}


class TestBadInput:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            ({"target_groups": [{"name": "p-green", "weight": 0}, {"name": "p-blue", "weight": 0}]}, "weight above 0"),
            ({"target_groups": [{"name": "p-green", "weight": 1000}]}, "0 to 999"),
            ({"target_groups": [{"name": "p-nope", "weight": 1}]}, "target group not found"),
            ({"target_groups": [{"name": "p-green", "weight": 1}, {"name": "p-green", "weight": 2}]}, "listed twice"),
            ({"target_groups": [{"weight": 1}]}, "exactly one of name and arn"),
            ({"target_groups": to(1, 1), "min_healthy_percent": 101}, "min_healthy_percent must be at most 100"),
            ({"target_groups": to(1, 1), "poll_interval": 0}, "poll_interval must be at least 1"),
        ],
    )
    def test_refused_with_a_message(self, aws, capsys, args, message):
        result = run(capsys, listener_arn=aws["listener"], **args)
        assert result["failed"] is True
        assert message in result["msg"]
        assert weights(aws) == {"p-blue": 1}

    def test_unknown_load_balancer_and_port(self, aws, capsys):
        assert (
            "load balancer p-none not found"
            in run(capsys, load_balancer_name="p-none", port=80, target_groups=to(1, 1))["msg"]
        )
        assert (
            "no listener port 8443 of p-alb"
            in run(capsys, load_balancer_name="p-alb", port=8443, target_groups=to(1, 1))["msg"]
        )

    def test_a_listener_that_does_not_forward_is_refused(self, aws, capsys):
        boto3.client("elbv2", region_name=REGION).modify_listener(
            ListenerArn=aws["listener"],
            DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}],
        )
        result = run(capsys, listener_arn=aws["listener"], target_groups=to(100, 0))
        assert "has no forward action to shift (its actions: fixed-response)" in result["msg"]
