"""alb_listener against moto: create, enforce, keep a deploy's traffic split, check and diff mode, bad input."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import alb_listener
from moto import mock_aws

REGION = "us-east-1"
POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
REDIRECT = [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": 443, "StatusCode": "HTTP_301"}}]


@pytest.fixture
def aws(monkeypatch) -> dict[str, str]:
    """An ALB with blue and green target groups and a certificate; no listener."""
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
        groups = {
            color: elb.create_target_group(Name=f"p-{color}", Protocol="HTTP", Port=3000, VpcId=vpc)["TargetGroups"][0][
                "TargetGroupArn"
            ]
            for color in ("blue", "green")
        }
        acm = boto3.client("acm", region_name=REGION)
        certificates = [
            acm.request_certificate(DomainName=d, ValidationMethod="DNS")["CertificateArn"]
            for d in ("a.test", "b.test")
        ]
        yield {"alb": alb, **groups, "cert": certificates[0], "cert2": certificates[1]}


def run(capsys, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    args["_ansible_check_mode"] = check_mode
    args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        alb_listener.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def https(**overrides: Any) -> dict[str, Any]:
    return {
        "load_balancer_name": "p-alb",
        "port": 443,
        "protocol": "HTTPS",
        "ssl_policy": POLICY,
        "default_actions": [{"Type": "forward", "TargetGroupName": "p-blue"}],
        "keep_default_actions": True,
        "tags": {"Name": "p-alb-https"},
        **overrides,
    }


def listener(aws: dict[str, str], port: int = 443) -> dict[str, Any]:
    found = boto3.client("elbv2", region_name=REGION).describe_listeners(LoadBalancerArn=aws["alb"])["Listeners"]
    return next(li for li in found if li["Port"] == port)


def split(aws: dict[str, str], blue: int, green: int) -> list[dict[str, Any]]:
    """What a blue/green deploy leaves: a weighted forward with group stickiness."""
    actions = [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": aws["blue"], "Weight": blue},
                    {"TargetGroupArn": aws["green"], "Weight": green},
                ],
                "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 600},
            },
        }
    ]
    boto3.client("elbv2", region_name=REGION).modify_listener(
        ListenerArn=listener(aws)["ListenerArn"], DefaultActions=actions
    )
    return listener(aws)["DefaultActions"]


# -- how actions compare -----------------------------------------------------------------------


def test_a_lone_forward_is_the_same_however_written() -> None:
    arn = "arn:tg/blue"
    plain = [{"Type": "forward", "TargetGroupArn": arn}]
    configured = [
        {
            "Type": "forward",
            "TargetGroupArn": arn,
            "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": arn, "Weight": 1}],
                "TargetGroupStickinessConfig": {"Enabled": False},
            },
        }
    ]
    assert alb_listener.canonical_actions(plain) == alb_listener.canonical_actions(configured)


def test_weights_and_group_stickiness_count() -> None:
    def weighted(blue: int, green: int, sticky: bool = False) -> list[dict[str, Any]]:
        return [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": "blue", "Weight": blue},
                        {"TargetGroupArn": "green", "Weight": green},
                    ],
                    "TargetGroupStickinessConfig": {"Enabled": sticky, "DurationSeconds": 60},
                },
            }
        ]

    assert alb_listener.canonical_actions(weighted(90, 10)) == alb_listener.canonical_actions(
        list(reversed(weighted(90, 10)))
    )
    assert alb_listener.canonical_actions(weighted(90, 10)) != alb_listener.canonical_actions(weighted(10, 90))
    assert alb_listener.canonical_actions(weighted(90, 10)) != alb_listener.canonical_actions(
        weighted(90, 10, sticky=True)
    )
    assert alb_listener.canonical_actions(weighted(90, 10)) != alb_listener.canonical_actions(
        [{"Type": "forward", "TargetGroupArn": "blue"}]
    )


def test_a_redirect_compares_with_elb_defaults_filled_in() -> None:
    given = [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]
    reported = [
        {
            "Type": "redirect",
            "Order": 1,
            "RedirectConfig": {
                "Protocol": "HTTPS",
                "Port": "443",
                "Host": "#{host}",
                "Path": "/#{path}",
                "Query": "#{query}",
                "StatusCode": "HTTP_301",
            },
        }
    ]
    assert alb_listener.canonical_actions(given) == alb_listener.canonical_actions(reported)
    reported[0]["RedirectConfig"]["StatusCode"] = "HTTP_302"
    assert alb_listener.canonical_actions(given) != alb_listener.canonical_actions(reported)


# -- create, then leave alone ------------------------------------------------------------------


def test_creates_the_https_listener_then_changes_nothing(aws, capsys) -> None:
    created = run(capsys, **https(certificate_arn=aws["cert"]))
    assert created["changed"]
    assert created["listener"]["listener_arn"] == listener(aws)["ListenerArn"]
    assert created["listener"]["ssl_policy"] == POLICY
    assert created["listener"]["certificates"] == [{"certificate_arn": aws["cert"]}]
    assert created["listener"]["default_actions"][0]["target_group_arn"] == aws["blue"]
    assert created["listener"]["tags"] == {"Name": "p-alb-https"}
    assert created["default_actions_kept"] is False
    assert created["diff"]["before"] == {}

    again = run(capsys, **https(certificate_arn=aws["cert"]))
    assert not again["changed"]
    assert again["default_actions_kept"] is True
    assert again["diff"]["before"] == again["diff"]["after"]


def test_keeps_a_weighted_split_and_still_enforces_policy_certificate_and_tags(aws, capsys) -> None:
    run(capsys, **https(certificate_arn=aws["cert"]))
    deployed = split(aws, blue=90, green=10)
    client = boto3.client("elbv2", region_name=REGION)
    client.modify_listener(ListenerArn=listener(aws)["ListenerArn"], SslPolicy="ELBSecurityPolicy-2016-08")

    unchanged = run(capsys, **https(certificate_arn=aws["cert"], ssl_policy="ELBSecurityPolicy-2016-08"))
    assert not unchanged["changed"]
    assert listener(aws)["DefaultActions"] == deployed

    result = run(capsys, **https(certificate_arn=aws["cert2"], tags={"Name": "p-alb-https", "Team": "sre"}))
    assert result["changed"]
    now = listener(aws)
    assert now["DefaultActions"] == deployed
    assert now["SslPolicy"] == POLICY
    assert now["Certificates"][0]["CertificateArn"] == aws["cert2"]
    assert result["listener"]["tags"] == {"Name": "p-alb-https", "Team": "sre"}
    assert result["diff"]["before"]["ssl_policy"] == "ELBSecurityPolicy-2016-08"


def test_without_keep_the_actions_are_enforced(aws, capsys) -> None:
    run(capsys, **https(certificate_arn=aws["cert"]))
    split(aws, blue=0, green=100)
    result = run(capsys, **https(keep_default_actions=False))
    assert result["changed"]
    assert result["default_actions_kept"] is False
    assert listener(aws)["DefaultActions"][0].get("TargetGroupArn") == aws["blue"]
    assert not run(capsys, **https(keep_default_actions=False))["changed"]


def test_an_enforced_weighted_split_is_idempotent(aws, capsys) -> None:
    weighted = [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupName": "p-blue", "Weight": 80},
                    {"TargetGroupName": "p-green", "Weight": 20},
                ]
            },
        }
    ]
    run(capsys, **https(certificate_arn=aws["cert"]))
    assert run(capsys, **https(default_actions=weighted, keep_default_actions=False))["changed"]
    groups = listener(aws)["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
    assert sorted((g["TargetGroupArn"], g["Weight"]) for g in groups) == sorted([(aws["blue"], 80), (aws["green"], 20)])
    assert not run(capsys, **https(default_actions=weighted, keep_default_actions=False))["changed"]


def test_http_redirect_with_a_numeric_port_is_idempotent(aws, capsys) -> None:
    args = {"load_balancer_arn": aws["alb"], "port": 80, "protocol": "HTTP", "default_actions": REDIRECT}
    assert run(capsys, **args)["changed"]
    action = listener(aws, 80)["DefaultActions"][0]
    assert action["RedirectConfig"]["Port"] == "443"
    assert action["RedirectConfig"]["StatusCode"] == "HTTP_301"
    assert not run(capsys, **args)["changed"]


def test_tags_are_purged_only_when_asked(aws, capsys) -> None:
    run(capsys, **https(certificate_arn=aws["cert"], tags={"Name": "p-alb-https", "Extra": "x"}))
    assert run(capsys, **https(tags={"Name": "p-alb-https"}, purge_tags=False))["changed"] is False
    result = run(capsys, **https(tags={"Name": "p-alb-https"}))
    assert result["changed"]
    assert result["listener"]["tags"] == {"Name": "p-alb-https"}
    assert run(capsys, **{k: v for k, v in https().items() if k != "tags"})["changed"] is False


# -- check mode --------------------------------------------------------------------------------


def test_check_mode_predicts_a_new_listener_and_creates_nothing(aws, capsys) -> None:
    result = run(capsys, check_mode=True, **https(certificate_arn=aws["cert"]))
    assert result["changed"]
    assert result["listener"]["listener_arn"] is None
    assert result["listener"]["default_actions"] == [{"type": "forward", "target_group_arn": aws["blue"]}]
    assert result["diff"]["before"] == {}
    assert boto3.client("elbv2", region_name=REGION).describe_listeners(LoadBalancerArn=aws["alb"])["Listeners"] == []


def test_check_mode_predicts_for_a_load_balancer_and_groups_that_do_not_exist_yet(aws, capsys) -> None:
    result = run(
        capsys,
        check_mode=True,
        **https(load_balancer_name="p-new", default_actions=[{"Type": "forward", "TargetGroupName": "p-red"}]),
    )
    assert result["changed"]
    assert result["listener"]["load_balancer_arn"] is None
    assert result["listener"]["default_actions"] == [{"type": "forward", "target_group_name": "p-red"}]


def test_check_mode_predicts_an_update_and_changes_nothing(aws, capsys) -> None:
    run(capsys, **https(certificate_arn=aws["cert"]))
    result = run(capsys, check_mode=True, **https(ssl_policy="ELBSecurityPolicy-TLS13-1-3-2021-06"))
    assert result["changed"]
    assert result["listener"]["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-3-2021-06"
    assert result["diff"]["before"]["ssl_policy"] == POLICY
    assert listener(aws)["SslPolicy"] == POLICY


# -- absent ------------------------------------------------------------------------------------


def test_absent_deletes_and_then_has_nothing_to_do(aws, capsys) -> None:
    run(capsys, **https(certificate_arn=aws["cert"]))
    assert run(capsys, check_mode=True, load_balancer_name="p-alb", port=443, state="absent")["changed"]
    assert listener(aws)
    result = run(capsys, load_balancer_name="p-alb", port=443, state="absent")
    assert result["changed"]
    assert result["listener"] == {}
    assert not run(capsys, load_balancer_name="p-alb", port=443, state="absent")["changed"]


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (https(load_balancer_name="p-none"), "load balancer p-none not found"),
        (https(default_actions=[{"Type": "forward", "TargetGroupName": "p-red"}]), "target group p-red not found"),
        (https(), "certificate_arn is required to create an HTTPS listener"),
        (https(protocol="HTTP"), "ssl_policy applies to HTTPS listeners only, not to protocol HTTP"),
        (https(default_actions=[]), "default_actions must list at least one action"),
        (
            https(default_actions=[{"TargetGroupName": "p-blue"}]),
            "every default action needs a Type: {'TargetGroupName': 'p-blue'}",
        ),
    ],
)
def test_bad_input_fails_with_a_message(aws, capsys, args, message) -> None:
    if "target group" in message:
        args["certificate_arn"] = aws["cert"]
    result = run(capsys, **args)
    assert result["failed"]
    assert result["msg"] == message
    assert boto3.client("elbv2", region_name=REGION).describe_listeners(LoadBalancerArn=aws["alb"])["Listeners"] == []
