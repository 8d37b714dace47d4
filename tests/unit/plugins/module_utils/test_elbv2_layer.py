"""The ELBv2 layer, and the reads estate_info and alb_traffic_switch make through the other layers:
what "not found" becomes, that throttling is retried, and what is asked of AWS."""

from __future__ import annotations

import botocore.exceptions
import pytest
from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.wedsync.platform.plugins.module_utils import _cloudwatch, _ec2, _elbv2, _iam, _rds
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError


def client_error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, "Call")


class Answers:
    """A boto3 client whose every call answers with the next of `answers` (raised when an exception),
    recording the operation and its parameters; its paginators page once through the same answers."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[str, dict]] = []

    def __getattr__(self, name: str):
        def call(**request):
            self.requests.append((name, request))
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call

    def get_paginator(self, name: str):
        client = self

        class Paginator:
            def paginate(self, **request):
                class Pages:
                    def build_full_result(self):
                        return getattr(client, name)(**request)

                return Pages()

        return Paginator()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch) -> None:
    monkeypatch.setattr(cloud.time, "sleep", lambda _: None)


@pytest.mark.parametrize(
    ("call", "code", "nothing"),
    [
        (lambda c: _elbv2.describe_load_balancer(c, "p-alb"), "LoadBalancerNotFound", None),
        (lambda c: _elbv2.describe_listeners(c, "arn:lb"), "LoadBalancerNotFound", None),
        (lambda c: _elbv2.describe_listener(c, "arn:listener"), "ListenerNotFound", None),
        (lambda c: _elbv2.delete_listener(c, "arn:listener"), "ListenerNotFound", False),
        (lambda c: _elbv2.describe_target_group(c, name="p-blue"), "TargetGroupNotFound", None),
        (lambda c: _elbv2.describe_target_group(c, arn="arn:tg"), "TargetGroupNotFound", None),
        (lambda c: _ec2.describe_launch_template(c, "p-app"), "InvalidLaunchTemplateName.NotFoundException", None),
        (lambda c: _ec2.describe_launch_template_versions(c, "lt-1"), "InvalidLaunchTemplateId.NotFound", []),
        (lambda c: _iam.get_instance_profile(c, "p-app-us-east-1"), "NoSuchEntity", None),
    ],
)
def test_what_is_not_there_is_nothing(call, code: str, nothing) -> None:
    assert call(Answers(client_error(code))) == nothing


@pytest.mark.parametrize(
    ("call", "code", "message"),
    [
        # What means "not there" for one kind of resource is an error for another.
        (lambda c: _elbv2.describe_listener(c, "arn:listener"), "LoadBalancerNotFound", "describe listener"),
        (lambda c: _elbv2.describe_target_health(c, "arn:tg"), "TargetGroupNotFound", "describe target health"),
        (lambda c: _elbv2.modify_rule(c, "arn:rule", []), "RuleNotFound", "modify rule"),
        (lambda c: _elbv2.describe_rules(c, "arn:listener"), "ListenerNotFound", "describe rules"),
        (lambda c: _elbv2.describe_load_balancer(c, "p-alb"), "AccessDenied", "describe load balancer"),
    ],
)
def test_other_errors_are_elbv2_errors_naming_the_call(call, code: str, message: str) -> None:
    client = Answers(client_error(code))
    with pytest.raises(_elbv2.ELBv2Error) as raised:
        call(client)
    assert isinstance(raised.value, WedSyncAWSError)
    assert raised.value.message == f"Failed to {message}"
    assert raised.value.exception.response["Error"]["Code"] == code
    assert len(client.requests) == 1


@pytest.mark.parametrize("code", ["Throttling", "ThrottlingException"])
def test_throttling_is_retried(code: str) -> None:
    client = Answers(client_error(code), client_error(code), {"LoadBalancers": [{"LoadBalancerArn": "arn:lb"}]})
    assert _elbv2.describe_load_balancer(client, "p-alb") == {"LoadBalancerArn": "arn:lb"}
    assert len(client.requests) == 3


def test_a_target_group_is_asked_for_by_name_or_by_arn() -> None:
    client = Answers({"TargetGroups": [{"TargetGroupArn": "arn:tg"}]}, {"TargetGroups": []})
    assert _elbv2.describe_target_group(client, name="p-blue") == {"TargetGroupArn": "arn:tg"}
    assert _elbv2.describe_target_group(client, arn="arn:tg") is None
    assert client.requests == [
        ("describe_target_groups", {"Names": ["p-blue"]}),
        ("describe_target_groups", {"TargetGroupArns": ["arn:tg"]}),
    ]


def test_a_listener_is_modified_and_answered_as_it_now_is() -> None:
    client = Answers({"Listeners": [{"ListenerArn": "arn:listener", "Port": 443}]})
    changes = {"DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:tg"}]}
    assert _elbv2.modify_listener(client, "arn:listener", changes) == {"ListenerArn": "arn:listener", "Port": 443}
    assert client.requests == [("modify_listener", {"ListenerArn": "arn:listener", **changes})]


def test_tags_are_a_dictionary_both_ways() -> None:
    client = Answers({"TagDescriptions": [{"ResourceArn": "arn:l", "Tags": [{"Key": "Name", "Value": "x"}]}]}, {})
    assert _elbv2.describe_tags(client, "arn:l") == {"Name": "x"}
    _elbv2.add_tags(client, "arn:l", {"Team": "sre"})
    assert client.requests[1] == ("add_tags", {"ResourceArns": ["arn:l"], "Tags": [{"Key": "Team", "Value": "sre"}]})


@pytest.mark.parametrize(
    ("arguments", "selection"),
    [
        ({"names": ["p-5xx"]}, {"AlarmNames": ["p-5xx"]}),
        ({"prefix": "p-"}, {"AlarmNamePrefix": "p-"}),
    ],
)
def test_alarms_of_both_kinds_are_read_by_name_or_prefix(arguments: dict, selection: dict) -> None:
    client = Answers({"MetricAlarms": [{"AlarmName": "p-5xx"}]})
    assert _cloudwatch.describe_alarms(client, **arguments) == {
        "MetricAlarms": [{"AlarmName": "p-5xx"}],
        "CompositeAlarms": [],
    }
    assert client.requests == [("describe_alarms", {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"], **selection})]


def test_every_db_instance_is_read() -> None:
    client = Answers({"DBInstances": [{"DBInstanceIdentifier": "p-db"}]})
    assert _rds.describe_db_instances(client) == [{"DBInstanceIdentifier": "p-db"}]
    assert client.requests == [("describe_db_instances", {})]
