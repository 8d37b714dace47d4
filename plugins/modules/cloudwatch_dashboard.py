#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: cloudwatch_dashboard
version_added: 0.1.0
short_description: Manage a CloudWatch dashboard
description:
  - Creates, replaces or deletes an Amazon CloudWatch dashboard from its body, the JSON document of widgets
    the console edits.
  - The body is compared as JSON, not as text, so key order and whitespace never count as a change; a dashboard
    whose body already matches is left alone (C(changed=false)).
  - Dashboards belong to the account, not to a region (their ARN has none); the widgets name the regions of
    their metrics. Give each dashboard a name that says which region it shows when several regions have one.
  - In check mode the module returns the dashboard as it would be, and with C(--diff) the body before and after.
options:
  name:
    description:
      - The dashboard's name, up to 255 letters, digits, V(-) and V(_).
    type: str
    required: true
  state:
    description:
      - V(present) creates or replaces the dashboard, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  body:
    description:
      - The dashboard body, a JSON object with a C(widgets) list, as a dictionary or a JSON string.
      - See U(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
      - Required with O(state=present).
    type: json
notes:
  - CloudWatch checks the body when it is stored and refuses an invalid one; what it only warns about is returned
    in RV(validation_messages) and as warnings.
attributes:
  diff_mode:
    support: full
    details: The dashboard with its body parsed, so a changed widget shows as a change in the body.
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules,
  amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Application dashboard of the primary region
  wedsync.platform.cloudwatch_dashboard:
    name: wedsync-production-application-us-east-1
    body:
      widgets:
        - type: metric
          x: 0
          y: 0
          width: 12
          height: 6
          properties:
            title: Requests per minute
            region: us-east-1
            stat: Sum
            period: 60
            metrics:
              - [AWS/ApplicationELB, RequestCount, LoadBalancer, app/wedsync-production-alb/50dc6c495c0c9188]

- name: Body from a template
  wedsync.platform.cloudwatch_dashboard:
    name: wedsync-production-security-us-east-1
    body: "{{ lookup('ansible.builtin.template', 'security-dashboard.json.j2') }}"

- name: Remove a dashboard
  wedsync.platform.cloudwatch_dashboard:
    name: wedsync-staging-business-us-east-1
    state: absent
"""

RETURN = r"""
dashboard:
  description: The dashboard as it is after the task (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name:
      description: The dashboard's name.
      type: str
      sample: wedsync-production-application-us-east-1
    arn:
      description: The dashboard's ARN.
      type: str
      sample: arn:aws:cloudwatch::123456789012:dashboard/wedsync-production-application-us-east-1
    body:
      description: The dashboard body, parsed.
      type: dict
      sample: {"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {}}]}
validation_messages:
  description: What CloudWatch found questionable in the body it stored, each with the part of the body concerned.
  returned: always
  type: list
  elements: dict
  contains:
    data_path:
      description: The place in the body the message is about.
      type: str
      sample: /widgets/0/properties/metrics/0
    message:
      description: The message.
      type: str
      sample: Should NOT have more than 4 items
"""

import json
import re
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils._cloudwatch import (
    delete_dashboards,
    get_dashboard,
    put_dashboard,
)
from ansible_collections.wedsync.platform.plugins.module_utils._sts import get_caller_identity
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def parse_body(body: str | None) -> dict[str, Any]:
    """The body as a dictionary, refusing what CloudWatch would never accept as a dashboard."""
    try:
        parsed = json.loads(body or "")
    except ValueError as e:
        raise ValueError(f"body is not JSON: {e}") from e
    if not isinstance(parsed, dict) or not isinstance(parsed.get("widgets"), list):
        raise ValueError("body must be a JSON object with a 'widgets' list")
    return parsed


def dashboard_arn(caller_arn: str, name: str) -> str:
    """The ARN CloudWatch gives a dashboard: the caller's partition and account, no region."""
    _, partition, _, _, account, _ = caller_arn.split(":", 5)
    return f"arn:{partition}:cloudwatch::{account}:dashboard/{name}"


def snake_messages(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"data_path": m.get("DataPath", ""), "message": m.get("Message", "")} for m in messages]


def read_dashboard(client, name: str) -> dict[str, Any] | None:
    found = get_dashboard(client, name)
    if found is None:
        return None
    return {"name": found["DashboardName"], "arn": found["DashboardArn"], "body": json.loads(found["DashboardBody"])}


def ensure_present(module: WedSyncAWSModule, client, current: dict[str, Any] | None, body: dict[str, Any]):
    name = module.params["name"]
    if current is not None and current["body"] == body:
        return False, current, []
    arn = current["arn"] if current else dashboard_arn(get_caller_identity(module.client("sts"))["Arn"], name)
    after = {"name": name, "arn": arn, "body": body}
    if module.check_mode:
        return True, after, []
    messages = put_dashboard(client, name, json.dumps(body, sort_keys=True))
    return True, after, snake_messages(messages)


def main() -> None:
    argument_spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
        "body": {"type": "json"},
    }
    module = WedSyncAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["body"])],
        supports_check_mode=True,
    )
    name = module.params["name"]
    if not NAME_PATTERN.match(name):
        module.fail_json(msg=f"name must be 1 to 255 letters, digits, '-' and '_', not {name!r}")
    body: dict[str, Any] = {}
    if module.params["state"] == "present":
        try:
            body = parse_body(module.params["body"])
        except ValueError as e:
            module.fail_json(msg=f"Dashboard {name}: {e}")

    client = module.client("cloudwatch")
    messages: list[dict[str, str]] = []
    try:
        current = read_dashboard(client, name)
        if module.params["state"] == "absent":
            changed, after = current is not None, {}
            if changed and not module.check_mode:
                delete_dashboards(client, [name])
        else:
            changed, after, messages = ensure_present(module, client, current, body)
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)

    for message in messages:
        module.warn(f"Dashboard {name}, {message['data_path']}: {message['message']}")
    module.exit_json(
        changed=changed,
        dashboard=after,
        validation_messages=messages,
        diff={"before": current or {}, "after": after},
    )


if __name__ == "__main__":
    main()
