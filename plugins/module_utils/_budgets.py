# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWS Budgets API calls of the collection: one boto call each, retried, raising BudgetsError."""

from __future__ import annotations

from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class BudgetsError(WedSyncAWSError):
    pass


class BudgetErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = BudgetsError
    _MISSING_CODES = ("NotFoundException",)


@BudgetErrorHandler.list_error_handler("describe budget")
@aws_retry
def describe_budget(client, account_id: str, name: str) -> dict[str, Any] | None:
    return client.describe_budget(AccountId=account_id, BudgetName=name)["Budget"]


@BudgetErrorHandler.common_error_handler("describe budget notifications")
@aws_retry
def describe_notifications(client, account_id: str, name: str) -> list[dict[str, Any]]:
    paginator = client.get_paginator("describe_notifications_for_budget")
    return paginator.paginate(AccountId=account_id, BudgetName=name).build_full_result().get("Notifications", [])


@BudgetErrorHandler.common_error_handler("describe budget notification subscribers")
@aws_retry
def describe_subscribers(client, account_id: str, name: str, notification: dict[str, Any]) -> list[dict[str, Any]]:
    paginator = client.get_paginator("describe_subscribers_for_notification")
    pages = paginator.paginate(AccountId=account_id, BudgetName=name, Notification=notification)
    return pages.build_full_result().get("Subscribers", [])


@BudgetErrorHandler.common_error_handler("create budget")
@aws_retry
def create_budget(
    client, account_id: str, budget: dict[str, Any], notifications_with_subscribers: list[dict[str, Any]]
) -> None:
    client.create_budget(
        AccountId=account_id, Budget=budget, NotificationsWithSubscribers=notifications_with_subscribers
    )


@BudgetErrorHandler.common_error_handler("update budget")
@aws_retry
def update_budget(client, account_id: str, budget: dict[str, Any]) -> None:
    client.update_budget(AccountId=account_id, NewBudget=budget)


@BudgetErrorHandler.common_error_handler("delete budget")
@aws_retry
def delete_budget(client, account_id: str, name: str) -> None:
    client.delete_budget(AccountId=account_id, BudgetName=name)


@BudgetErrorHandler.common_error_handler("create budget notification")
@aws_retry
def create_notification(
    client, account_id: str, name: str, notification: dict[str, Any], subscribers: list[dict[str, str]]
) -> None:
    client.create_notification(
        AccountId=account_id, BudgetName=name, Notification=notification, Subscribers=subscribers
    )


@BudgetErrorHandler.common_error_handler("delete budget notification")
@aws_retry
def delete_notification(client, account_id: str, name: str, notification: dict[str, Any]) -> None:
    client.delete_notification(AccountId=account_id, BudgetName=name, Notification=notification)


@BudgetErrorHandler.common_error_handler("create budget notification subscriber")
@aws_retry
def create_subscriber(
    client, account_id: str, name: str, notification: dict[str, Any], subscriber: dict[str, str]
) -> None:
    client.create_subscriber(AccountId=account_id, BudgetName=name, Notification=notification, Subscriber=subscriber)


@BudgetErrorHandler.common_error_handler("delete budget notification subscriber")
@aws_retry
def delete_subscriber(
    client, account_id: str, name: str, notification: dict[str, Any], subscriber: dict[str, str]
) -> None:
    client.delete_subscriber(AccountId=account_id, BudgetName=name, Notification=notification, Subscriber=subscriber)
