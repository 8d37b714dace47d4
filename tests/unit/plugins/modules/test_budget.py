"""The budget module's pure logic: normalisation, the notification identity, what counts as a change."""

from __future__ import annotations

from ansible_collections.wedsync.platform.plugins.modules import budget

EMAIL = {"type": "email", "address": "ops@wedsync.com"}
SNS = {"type": "sns", "address": "arn:aws:sns:us-east-1:123456789012:alerts"}


def params(**overrides):
    base = {
        "name": "daily",
        "time_unit": "DAILY",
        "limit_amount": 500,
        "limit_unit": "USD",
        "budget_type": "COST",
        "cost_filters": None,
        "notifications": [
            {
                "type": "actual",
                "comparison": "greater_than",
                "threshold": 80,
                "threshold_type": "percentage",
                "subscribers": [SNS, EMAIL],
            }
        ],
    }
    return {**base, **overrides}


def test_amounts_are_sent_without_trailing_zeros():
    assert budget.format_amount(500.0) == "500"
    assert budget.format_amount(1234.5) == "1234.5"
    assert budget.format_amount(0.125) == "0.12"


def test_desired_budget_is_normalised():
    desired = budget.desired_budget(params(), "123456789012")
    assert desired["limit_amount"] == 500.0
    assert desired["cost_filters"] == {}
    assert desired["notifications"][0]["threshold"] == 80.0
    assert desired["notifications"][0]["subscribers"] == [EMAIL, SNS]


def test_api_round_trip_keeps_a_notification_equal():
    wanted = budget.desired_budget(params(), "123456789012")["notifications"][0]
    api = budget.to_api_notification(wanted)
    assert api == {
        "NotificationType": "ACTUAL",
        "ComparisonOperator": "GREATER_THAN",
        "Threshold": 80.0,
        "ThresholdType": "PERCENTAGE",
    }
    subscribers = [budget.to_api_subscriber(s) for s in wanted["subscribers"]]
    assert budget.from_api_notification(api, subscribers) == wanted


def test_only_budget_fields_count_as_a_budget_update():
    current = budget.desired_budget(params(), "1")
    assert not budget.budget_fields_differ(current, budget.desired_budget(params(notifications=[]), "1"))
    assert budget.budget_fields_differ(current, budget.desired_budget(params(limit_amount=600), "1"))
    assert budget.budget_fields_differ(current, budget.desired_budget(params(time_unit="MONTHLY"), "1"))


def test_the_budget_sent_to_aws():
    api = budget.to_api_budget(
        budget.desired_budget(params(cost_filters={"TagKeyValue": ["user:Project$wedsync"]}), "1")
    )
    assert api == {
        "BudgetName": "daily",
        "BudgetLimit": {"Amount": "500", "Unit": "USD"},
        "TimeUnit": "DAILY",
        "BudgetType": "COST",
        "CostFilters": {"TagKeyValue": ["user:Project$wedsync"]},
    }
