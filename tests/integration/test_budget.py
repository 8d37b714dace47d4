"""wedsync.platform.budget against the twin, run as a user runs it."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

pytestmark = pytest.mark.twin

MODULE = "wedsync.platform.budget"
OPS = {"type": "email", "address": "ops@wedsync.com"}
PAGER = {"type": "sns", "address": "arn:aws:sns:us-east-1:123456789012:wedsync-test-paging"}


def daily(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "wedsync-test-daily",
        "time_unit": "DAILY",
        "limit_amount": 500,
        "notifications": [{"threshold": 80, "subscribers": [OPS]}],
        **overrides,
    }


def aws_budget() -> dict[str, Any]:
    client = boto3.client("budgets")
    found = client.describe_budget(AccountId="123456789012", BudgetName="wedsync-test-daily")["Budget"]
    notifications = client.describe_notifications_for_budget(AccountId="123456789012", BudgetName="wedsync-test-daily")[
        "Notifications"
    ]
    return {
        "limit": found["BudgetLimit"]["Amount"],
        "time_unit": found["TimeUnit"],
        "thresholds": sorted(float(n["Threshold"]) for n in notifications),
    }


def test_budget_lifecycle(clean_twin: Any, ansible_module: Any) -> None:
    predicted = ansible_module(MODULE, daily(), check=True)
    assert predicted["changed"] is True
    assert predicted["budget"]["limit_amount"] == 500.0
    with pytest.raises(Exception, match="NotFoundException"):
        aws_budget()

    created = ansible_module(MODULE, daily(), diff=True)
    assert created["changed"] is True
    assert created["diff"]["before"] == {}
    assert aws_budget() == {"limit": "500", "time_unit": "DAILY", "thresholds": [80.0]}

    assert ansible_module(MODULE, daily())["changed"] is False

    moved = daily(
        limit_amount=650,
        notifications=[
            {"threshold": 80, "subscribers": [OPS, PAGER]},
            {"type": "forecasted", "threshold": 100, "subscribers": [OPS]},
        ],
    )
    changed = ansible_module(MODULE, moved, diff=True)
    assert changed["changed"] is True
    assert changed["diff"]["before"]["limit_amount"] == 500.0
    assert changed["diff"]["after"]["limit_amount"] == 650.0
    assert aws_budget() == {"limit": "650", "time_unit": "DAILY", "thresholds": [80.0, 100.0]}
    again = ansible_module(MODULE, moved)
    assert again["changed"] is False
    assert again["budget"]["notifications"][0]["subscribers"] == [OPS, PAGER]

    assert ansible_module(MODULE, {"name": "wedsync-test-daily", "state": "absent"})["changed"] is True
    assert ansible_module(MODULE, {"name": "wedsync-test-daily", "state": "absent"})["changed"] is False


def test_bad_input_is_refused_before_any_call(ansible_module: Any) -> None:
    missing = ansible_module(MODULE, {"name": "x"})
    assert missing["failed"] and "time_unit" in missing["msg"]
    negative = ansible_module(MODULE, daily(limit_amount=-1))
    assert negative["failed"] and "limit_amount must be above 0" in negative["msg"]
    silent = ansible_module(MODULE, daily(notifications=[{"threshold": 80, "subscribers": []}]))
    assert silent["failed"] and "notifications[0].subscribers" in silent["msg"]
