"""The parts of the ALB traffic switch that need no AWS: a part's forward, what a failure reports."""

from __future__ import annotations

import botocore.exceptions
import pytest
from ansible_collections.wedsync.platform.plugins.module_utils._elbv2 import ELBv2Error
from ansible_collections.wedsync.platform.plugins.module_utils.alb_switch import (
    UNREAD,
    GateRefusal,
    Part,
    now_forwards,
    reason,
)
from ansible_collections.wedsync.platform.plugins.module_utils.traffic_switch import Forward, GroupHealth, SwitchError

BLUE, GREEN = "arn:tg/blue", "arn:tg/green"
AUTHENTICATE = {"Type": "authenticate-oidc", "Order": 1}


def test_a_rule_part_shifts_its_forward_and_keeps_its_other_actions() -> None:
    part = Part("arn:rule", [AUTHENTICATE, {"Type": "forward", "TargetGroupArn": BLUE, "Order": 2}], is_listener=False)
    assert part.where == "rule arn:rule"
    assert part.forward == Forward({BLUE: 1})
    shifted = part.shifted(Forward({BLUE: 0, GREEN: 100}))
    assert shifted[0] == AUTHENTICATE
    assert shifted[1]["Order"] == 2
    assert shifted[1]["ForwardConfig"]["TargetGroups"] == [
        {"TargetGroupArn": BLUE, "Weight": 0},
        {"TargetGroupArn": GREEN, "Weight": 100},
    ]


def test_a_listener_without_a_forward_is_no_part() -> None:
    with pytest.raises(SwitchError, match="the listener's default action has no forward action"):
        Part("arn:listener", [AUTHENTICATE], is_listener=True)


def test_a_layer_error_is_told_in_botocore_words() -> None:
    boto = botocore.exceptions.ClientError({"Error": {"Code": "ValidationError", "Message": "no"}}, "ModifyRule")
    assert reason(ELBv2Error(message="Failed to modify rule", exception=boto)) == str(boto)
    assert reason(SwitchError("rollback_alarms not found in CloudWatch: p-typo")) == (
        "rollback_alarms not found in CloudWatch: p-typo"
    )


def test_a_failure_says_what_the_listener_forwards_when_it_could_read_it() -> None:
    assert now_forwards({**UNREAD, "weights": {"p-blue": 1}}) == "the listener now forwards {'p-blue': 1}"
    assert now_forwards(UNREAD) == "the listener could not be read back"


def test_a_refusal_reports_the_health_it_found() -> None:
    refusal = GateRefusal("Refusing", health=[GroupHealth("p-green", 2, 1)], alarms={"p-5xx": "OK"})
    assert refusal.details == {
        "health": [{"target_group_name": "p-green", "registered": 2, "healthy": 1, "unhealthy_targets": []}],
        "alarms": {"p-5xx": "OK"},
    }
