#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: cloudwatch_dashboard_info
version_added: 0.1.0
short_description: Read CloudWatch dashboards and their bodies
description:
  - Lists the account's CloudWatch dashboards, all of them, those whose names start with O(name_prefix), or those
    named in O(names), with each dashboard's body parsed, so that a playbook or a test can assert what a dashboard
    shows.
  - A name in O(names) that has no dashboard is left out of the result rather than failing.
options:
  names:
    description:
      - The dashboards to read. Mutually exclusive with O(name_prefix).
    type: list
    elements: str
  name_prefix:
    description:
      - Read only the dashboards whose names start with this.
    type: str
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules, amazon.aws.region.modules,
  amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Every dashboard of the production estate
  wedsync.platform.cloudwatch_dashboard_info:
    name_prefix: wedsync-production-
  register: dashboards

- name: The widgets' titles of one dashboard
  wedsync.platform.cloudwatch_dashboard_info:
    names: [wedsync-production-application-us-east-1]
  register: application

- name: Assert it charts the p95 response time
  ansible.builtin.assert:
    that: >-
      'Response time' in (application.dashboards[0].body.widgets | map(attribute='properties.title', default='') | join(' '))
"""

RETURN = r"""
dashboards:
  description:
    - The dashboards found, sorted by name, each as RV(wedsync.platform.cloudwatch_dashboard#module:dashboard)
      describes it, with C(last_modified) (when the body last changed, ISO 8601) and C(size) (of the body, in
      bytes).
  returned: always
  type: list
  elements: dict
  sample: [{name: wedsync-production-application-us-east-1, body: {widgets: []},
    last_modified: "2026-03-01T04:12:09+00:00", size: 5120}]
"""

import json
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils._cloudwatch import get_dashboard, list_dashboards
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule


def wanted(entries: list[dict[str, Any]], names: list[str] | None) -> list[dict[str, Any]]:
    chosen = entries if names is None else [e for e in entries if e["DashboardName"] in set(names)]
    return sorted(chosen, key=lambda e: e["DashboardName"])


def describe(client, entry: dict[str, Any]) -> dict[str, Any] | None:
    found = get_dashboard(client, entry["DashboardName"])
    if found is None:  # deleted between the listing and the read
        return None
    modified = entry.get("LastModified")
    return {
        "name": entry["DashboardName"],
        "arn": entry["DashboardArn"],
        "body": json.loads(found["DashboardBody"]),
        "last_modified": modified.isoformat() if modified else None,
        "size": entry.get("Size"),
    }


def main() -> None:
    module = WedSyncAWSModule(
        argument_spec={
            "names": {"type": "list", "elements": "str"},
            "name_prefix": {"type": "str"},
        },
        mutually_exclusive=[["names", "name_prefix"]],
        supports_check_mode=True,
    )
    client = module.client("cloudwatch")
    try:
        entries = wanted(list_dashboards(client, module.params["name_prefix"]), module.params["names"])
        dashboards = [d for d in (describe(client, e) for e in entries) if d is not None]
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, dashboards=dashboards)


if __name__ == "__main__":
    main()
