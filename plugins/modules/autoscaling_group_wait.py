#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: autoscaling_group_wait
version_added: 0.1.0
short_description: Wait for an Auto Scaling group's instances, showing how far along the wait is
description:
  - Polls an Auto Scaling group until it has O(count) instances C(InService) (on O(launch_template_version) when
    given, and healthy in O(target_group) when given), or no instance at all when O(count=0).
  - "At every poll where something changed, and at least every 30 seconds, prints a line saying what it waits for
    and how far along it is, for example C(wedsync-production-app-green: 2/3 instances in service on launch template
    version 7, 1/3 healthy in wedsync-production-green; 95 s waited, 805 s left). An C(until) loop around an C(_info)
    module only prints that it retries."
  - On time-out it fails naming each instance with its lifecycle state and launch template version, or each target
    that is not healthy with its state and reason.
  - An action plugin. Each poll runs M(amazon.aws.autoscaling_group_info) and, with O(target_group),
    M(community.aws.elb_target_group_info) with this task's AWS options. It belongs to the C(wedsync.platform.aws)
    action group, so the group's C(module_defaults) reach those modules through it.
  - In check mode it waits for nothing and says what it would have waited for.
options:
  name:
    description: The Auto Scaling group.
    type: str
    required: true
  count:
    description: How many instances to wait for; V(0) waits until the group has none left.
    type: int
    required: true
  launch_template_version:
    description: The launch template version, by number, every instance must have been launched from.
    type: str
  target_group:
    description: A target group, by name, in which every instance must be healthy.
    type: str
  timeout:
    description: How long to wait, in seconds.
    type: int
    default: 900
  poll_interval:
    description: Seconds between two polls.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    details: Waits for nothing and returns as skipped.
extends_documentation_fragment: [wedsync.platform.aws, wedsync.platform.action, amazon.aws.common.modules,
  amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Wait until green runs launch template version 7 on three healthy instances
  wedsync.platform.autoscaling_group_wait:
    name: wedsync-production-app-green
    count: 3
    launch_template_version: "7"
    target_group: wedsync-production-green
    timeout: 900

- name: Wait until the group has no instance left
  wedsync.platform.autoscaling_group_wait:
    name: wedsync-production-app-green
    count: 0
"""

RETURN = r"""
msg:
  description: How far the wait got, as the last progress line said it.
  returned: always
  type: str
  sample: 3/3 instances in service on launch template version 7, 3/3 healthy in wedsync-production-green
instances:
  description: The group's instances at the last poll, as M(amazon.aws.autoscaling_group_info) returns them.
  returned: always, except in check mode
  type: list
  elements: dict
elapsed_seconds:
  description: How long the wait took.
  returned: success
  type: float
unhealthy_targets:
  description: Each instance that was not healthy in O(target_group) at the time-out, with its state and reason.
  returned: failure
  type: list
  elements: str
"""
