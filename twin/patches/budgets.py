"""AWS Budgets calls moto lacks and the cost role's `budget` module uses.

moto creates, describes and deletes budgets and notifications, but has no UpdateBudget and no
subscriber calls, so a budget's limit or a notification's subscribers could never change.
"""

from __future__ import annotations

import json
from typing import Any

from moto.budgets.exceptions import NotFoundException
from moto.budgets.models import Budget, BudgetsBackend, Notification
from moto.budgets.responses import BudgetsResponse
from moto.core.utils import unix_time

from twin.patching import patch_point


def _budget(backend: BudgetsBackend, account_id: str, name: str) -> Budget:
    try:
        return backend.budgets[account_id][name]
    except KeyError:
        raise NotFoundException(f"Unable to get budget: {name} - the budget doesn't exist.") from None


def _same(left: dict[str, Any], right: dict[str, Any]) -> bool:
    keys = ("NotificationType", "ComparisonOperator", "ThresholdType")
    return all(left.get(k) == right.get(k) for k in keys) and float(left["Threshold"]) == float(right["Threshold"])


@patch_point(
    "moto.budgets.models.BudgetsBackend.find_notification",
    kind="add",
    why="the subscriber calls find a budget's notification by its details",
)
def _find_notification(self: BudgetsBackend, account_id: str, name: str, details: dict[str, Any]) -> Notification:
    for notification in _budget(self, account_id, name).notifications:
        if _same(notification.details, details):
            return notification
    raise NotFoundException("Unable to find the notification - it doesn't exist.")


@patch_point("moto.budgets.models.BudgetsBackend.update_budget", kind="add", why="UpdateBudget")
def _update_budget(self: BudgetsBackend, account_id: str, new_budget: dict[str, Any]) -> None:
    budget = _budget(self, account_id, new_budget["BudgetName"])
    time_period = budget.budget.get("TimePeriod")
    budget.budget = {**new_budget, "LastUpdatedTime": unix_time()}
    if time_period and "TimePeriod" not in new_budget:
        budget.budget["TimePeriod"] = time_period


@patch_point("moto.budgets.responses.BudgetsResponse.update_budget", kind="add", why="UpdateBudget")
def _respond_update_budget(self: BudgetsResponse) -> str:
    self.backend.update_budget(self._get_param("AccountId"), self._get_param("NewBudget"))
    return json.dumps({})


@patch_point(
    "moto.budgets.responses.BudgetsResponse.describe_subscribers_for_notification",
    kind="add",
    why="DescribeSubscribersForNotification",
)
def _respond_describe_subscribers_for_notification(self: BudgetsResponse) -> str:
    notification = self.backend.find_notification(
        self._get_param("AccountId"), self._get_param("BudgetName"), self._get_param("Notification")
    )
    return json.dumps({"Subscribers": list(notification.subscribers), "NextToken": None})


@patch_point("moto.budgets.responses.BudgetsResponse.create_subscriber", kind="add", why="CreateSubscriber")
def _respond_create_subscriber(self: BudgetsResponse) -> str:
    notification = self.backend.find_notification(
        self._get_param("AccountId"), self._get_param("BudgetName"), self._get_param("Notification")
    )
    notification.subscribers = [*notification.subscribers, self._get_param("Subscriber")]
    return json.dumps({})


@patch_point("moto.budgets.responses.BudgetsResponse.delete_subscriber", kind="add", why="DeleteSubscriber")
def _respond_delete_subscriber(self: BudgetsResponse) -> str:
    notification = self.backend.find_notification(
        self._get_param("AccountId"), self._get_param("BudgetName"), self._get_param("Notification")
    )
    gone = self._get_param("Subscriber")
    notification.subscribers = [s for s in notification.subscribers if s != gone]
    return json.dumps({})
