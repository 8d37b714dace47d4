#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: budget
version_added: 0.1.0
short_description: Manage an AWS Budgets cost budget and its alert notifications
description:
  - Creates, updates or deletes a budget in AWS Budgets, with the notifications that alert when actual or
    forecasted spend crosses a share of the limit, and who each notification tells (e-mail or SNS).
  - Changes only what differs; a budget that already matches is left alone (C(changed=false)).
  - Budgets is a global service; the budget belongs to O(account_id), by default the caller's account.
options:
  name:
    description: The budget's name, unique in the account.
    type: str
    required: true
  state:
    description: Whether the budget should exist.
    type: str
    choices: [present, absent]
    default: present
  account_id:
    description: The account that owns the budget; the caller's account when omitted.
    type: str
  time_unit:
    description: The period the limit applies to. Required with O(state=present).
    type: str
    choices: [DAILY, MONTHLY, QUARTERLY, ANNUALLY]
  limit_amount:
    description: The spend limit per O(time_unit), in O(limit_unit). Required with O(state=present).
    type: float
  limit_unit:
    description: The currency of O(limit_amount).
    type: str
    default: USD
  budget_type:
    description: What the budget tracks.
    type: str
    choices: [COST, USAGE, RI_UTILIZATION, RI_COVERAGE, SAVINGS_PLANS_UTILIZATION, SAVINGS_PLANS_COVERAGE]
    default: COST
  cost_filters:
    description:
      - 'Limits the budget to some costs, for example C({"TagKeyValue": ["user:Project$wedsync"]}). The whole account
        when omitted or empty.'
    type: dict
  notifications:
    description:
      - The alerts of the budget. Notifications not listed are removed; a notification is identified by its
        O(notifications[].type), O(notifications[].comparison), O(notifications[].threshold) and
        O(notifications[].threshold_type).
    type: list
    elements: dict
    default: []
    suboptions:
      type:
        description: Whether actual or forecasted spend is compared.
        type: str
        choices: [actual, forecasted]
        default: actual
      comparison:
        description: How spend is compared with the threshold.
        type: str
        choices: [greater_than, less_than, equal_to]
        default: greater_than
      threshold:
        description: The threshold, a percentage of the limit or an absolute amount.
        type: float
        required: true
      threshold_type:
        description: Whether O(notifications[].threshold) is a percentage of the limit or an absolute amount.
        type: str
        choices: [percentage, absolute_value]
        default: percentage
      subscribers:
        description: Who is told, at least one.
        type: list
        elements: dict
        required: true
        suboptions:
          type:
            description: How they are told.
            type: str
            choices: [email, sns]
            required: true
          address:
            description: An e-mail address or an SNS topic ARN.
            type: str
            required: true
attributes:
  diff_mode:
    support: full
    details: C(before) and C(after) are the budget with its notifications, as RV(budget) shows it.
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules,
  amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Alert at 80% of the daily budget
  wedsync.platform.budget:
    name: wedsync-production-daily
    time_unit: DAILY
    limit_amount: 500
    notifications:
      - threshold: 80
        subscribers:
          - type: email
            address: ops@wedsync.com
          - type: sns
            address: arn:aws:sns:us-east-1:123456789012:wedsync-production-alerts

- name: Alert at 90% of the monthly budget, actual and forecasted
  wedsync.platform.budget:
    name: wedsync-production-monthly
    time_unit: MONTHLY
    limit_amount: 15000
    notifications:
      - threshold: 90
        subscribers: [{type: email, address: ops@wedsync.com}]
      - type: forecasted
        threshold: 100
        subscribers: [{type: email, address: ops@wedsync.com}]

- name: Remove a budget
  wedsync.platform.budget:
    name: wedsync-staging-daily
    state: absent
"""

RETURN = r"""
budget:
  description:
    - The budget after the task, with its limit, period and notifications (in check mode, as it would be).
    - Empty when the budget is absent.
  returned: always
  type: dict
  contains:
    name:
      description: The budget's name, unique in the account.
      type: str
      sample: wedsync-production-daily
    account_id:
      description: The account that owns it.
      type: str
      sample: "123456789012"
    time_unit:
      description: The period of the limit.
      type: str
      sample: DAILY
    limit_amount:
      description: The limit.
      type: float
      sample: 500.0
    limit_unit:
      description: The limit's currency.
      type: str
      sample: USD
    budget_type:
      description: What it tracks.
      type: str
      sample: COST
    cost_filters:
      description: The cost filters.
      type: dict
      sample: {}
    notifications:
      description: The notifications with their subscribers, sorted.
      type: list
      elements: dict
      sample:
        - type: actual
          comparison: greater_than
          threshold: 80.0
          threshold_type: percentage
          subscribers: [{type: email, address: ops@wedsync.com}]
"""

from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils._budgets import (
    create_budget,
    create_notification,
    create_subscriber,
    delete_budget,
    delete_notification,
    delete_subscriber,
    describe_budget,
    describe_notifications,
    describe_subscribers,
    update_budget,
)
from ansible_collections.wedsync.platform.plugins.module_utils._sts import get_caller_identity
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule

NOTIFICATION_KEY = ("type", "comparison", "threshold", "threshold_type")


def to_api_notification(notification: dict[str, Any]) -> dict[str, Any]:
    return {
        "NotificationType": notification["type"].upper(),
        "ComparisonOperator": notification["comparison"].upper(),
        "Threshold": float(notification["threshold"]),
        "ThresholdType": notification["threshold_type"].upper(),
    }


def from_api_notification(api: dict[str, Any], subscribers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": api["NotificationType"].lower(),
        "comparison": api["ComparisonOperator"].lower(),
        "threshold": float(api["Threshold"]),
        "threshold_type": api.get("ThresholdType", "PERCENTAGE").lower(),
        "subscribers": sorted_subscribers(
            {"type": s["SubscriptionType"].lower(), "address": s["Address"]} for s in subscribers
        ),
    }


def to_api_subscriber(subscriber: dict[str, str]) -> dict[str, str]:
    return {"SubscriptionType": subscriber["type"].upper(), "Address": subscriber["address"]}


def sorted_subscribers(subscribers: Any) -> list[dict[str, str]]:
    return sorted(
        ({"type": s["type"], "address": s["address"]} for s in subscribers), key=lambda s: (s["type"], s["address"])
    )


def notification_key(notification: dict[str, Any]) -> tuple:
    return tuple(notification[k] for k in NOTIFICATION_KEY)


def normalise_notifications(notifications: list[dict[str, Any]]) -> list[dict[str, Any]]:
    normalised = [
        {
            **{k: n[k] for k in NOTIFICATION_KEY},
            "threshold": float(n["threshold"]),
            "subscribers": sorted_subscribers(n["subscribers"]),
        }
        for n in notifications
    ]
    return sorted(normalised, key=notification_key)


def desired_budget(params: dict[str, Any], account_id: str) -> dict[str, Any]:
    return {
        "name": params["name"],
        "account_id": account_id,
        "time_unit": params["time_unit"],
        "limit_amount": float(params["limit_amount"]),
        "limit_unit": params["limit_unit"],
        "budget_type": params["budget_type"],
        "cost_filters": params["cost_filters"] or {},
        "notifications": normalise_notifications(params["notifications"]),
    }


def to_api_budget(budget: dict[str, Any]) -> dict[str, Any]:
    api = {
        "BudgetName": budget["name"],
        "BudgetLimit": {"Amount": format_amount(budget["limit_amount"]), "Unit": budget["limit_unit"]},
        "TimeUnit": budget["time_unit"],
        "BudgetType": budget["budget_type"],
    }
    if budget["cost_filters"]:
        api["CostFilters"] = budget["cost_filters"]
    return api


def format_amount(amount: float) -> str:
    return f"{amount:.2f}".rstrip("0").rstrip(".")


def current_budget(client, account_id: str, name: str) -> dict[str, Any] | None:
    api = describe_budget(client, account_id, name)
    if api is None:
        return None
    notifications = [
        from_api_notification(n, describe_subscribers(client, account_id, name, n))
        for n in describe_notifications(client, account_id, name)
    ]
    return {
        "name": api["BudgetName"],
        "account_id": account_id,
        "time_unit": api["TimeUnit"],
        "limit_amount": float(api["BudgetLimit"]["Amount"]),
        "limit_unit": api["BudgetLimit"]["Unit"],
        "budget_type": api["BudgetType"],
        "cost_filters": api.get("CostFilters") or {},
        "notifications": sorted(notifications, key=notification_key),
    }


def budget_fields_differ(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    fields = ("time_unit", "limit_amount", "limit_unit", "budget_type", "cost_filters")
    return any(current[f] != desired[f] for f in fields)


def create(client, desired: dict[str, Any]) -> None:
    create_budget(
        client,
        desired["account_id"],
        to_api_budget(desired),
        [
            {"Notification": to_api_notification(n), "Subscribers": [to_api_subscriber(s) for s in n["subscribers"]]}
            for n in desired["notifications"]
        ],
    )


def reconcile_notifications(client, current: dict[str, Any], desired: dict[str, Any]) -> None:
    account_id, name = desired["account_id"], desired["name"]
    have = {notification_key(n): n for n in current["notifications"]}
    want = {notification_key(n): n for n in desired["notifications"]}
    for key in have.keys() - want.keys():
        delete_notification(client, account_id, name, to_api_notification(have[key]))
    for key in want.keys() - have.keys():
        subscribers = [to_api_subscriber(s) for s in want[key]["subscribers"]]
        create_notification(client, account_id, name, to_api_notification(want[key]), subscribers)
    for key in want.keys() & have.keys():
        notification = to_api_notification(want[key])
        old, new = have[key]["subscribers"], want[key]["subscribers"]
        for subscriber in (s for s in new if s not in old):
            create_subscriber(client, account_id, name, notification, to_api_subscriber(subscriber))
        for subscriber in (s for s in old if s not in new):
            delete_subscriber(client, account_id, name, notification, to_api_subscriber(subscriber))


def ensure_present(module: WedSyncAWSModule, client, current: dict[str, Any] | None, desired: dict[str, Any]) -> bool:
    if current == desired:
        return False
    if module.check_mode:
        return True
    if current is None:
        create(client, desired)
        return True
    if budget_fields_differ(current, desired):
        update_budget(client, desired["account_id"], to_api_budget(desired))
    reconcile_notifications(client, current, desired)
    return True


def main() -> None:
    subscriber = {
        "type": {"type": "str", "required": True, "choices": ["email", "sns"]},
        "address": {"type": "str", "required": True},
    }
    notification = {
        "type": {"type": "str", "default": "actual", "choices": ["actual", "forecasted"]},
        "comparison": {"type": "str", "default": "greater_than", "choices": ["greater_than", "less_than", "equal_to"]},
        "threshold": {"type": "float", "required": True},
        "threshold_type": {"type": "str", "default": "percentage", "choices": ["percentage", "absolute_value"]},
        "subscribers": {"type": "list", "elements": "dict", "required": True, "options": subscriber},
    }
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "account_id": {"type": "str"},
        "time_unit": {"type": "str", "choices": ["DAILY", "MONTHLY", "QUARTERLY", "ANNUALLY"]},
        "limit_amount": {"type": "float"},
        "limit_unit": {"type": "str", "default": "USD"},
        "budget_type": {
            "type": "str",
            "default": "COST",
            "choices": [
                "COST",
                "USAGE",
                "RI_UTILIZATION",
                "RI_COVERAGE",
                "SAVINGS_PLANS_UTILIZATION",
                "SAVINGS_PLANS_COVERAGE",
            ],
        },
        "cost_filters": {"type": "dict"},
        "notifications": {"type": "list", "elements": "dict", "default": [], "options": notification},
    }
    module = WedSyncAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["time_unit", "limit_amount"])],
        supports_check_mode=True,
    )
    params = module.params
    for index, item in enumerate(params["notifications"]):
        if not item["subscribers"]:
            module.fail_json(msg=f"notifications[{index}].subscribers needs at least one subscriber")
    if params["limit_amount"] is not None and params["limit_amount"] <= 0:
        module.fail_json(msg=f"limit_amount must be above 0, not {params['limit_amount']}")

    client = module.client("budgets")
    try:
        account_id = params["account_id"] or get_caller_identity(module.client("sts"))["Account"]
        current = current_budget(client, account_id, params["name"])
        if params["state"] == "absent":
            changed = current is not None
            if changed and not module.check_mode:
                delete_budget(client, account_id, params["name"])
            after: dict[str, Any] = {}
        else:
            after = desired_budget(params, account_id)
            changed = ensure_present(module, client, current, after)
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)

    module.exit_json(changed=changed, budget=after, diff={"before": current or {}, "after": after})


if __name__ == "__main__":
    main()
