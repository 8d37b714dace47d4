#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: autoscaling_policy_info
version_added: 0.1.0
short_description: Read EC2 Auto Scaling policies
description:
  - Lists the scaling policies of the region, of one Auto Scaling group, or those named, with their ARNs, so that
    alarms made by another play or role can name a policy as their action.
  - M(community.aws.autoscaling_policy) returns a policy's ARN only to the task that manages it, and no module of
    amazon.aws or community.aws reads policies.
  - A name in O(policy_names) without a policy, or a group without policies, gives an empty list rather than a
    failure.
options:
  auto_scaling_group_name:
    description:
      - Only the policies of this Auto Scaling group.
    type: str
  policy_names:
    description:
      - Only the policies of these names.
    type: list
    elements: str
  policy_types:
    description:
      - Only the policies of these types.
    type: list
    elements: str
    choices: [SimpleScaling, StepScaling, TargetTrackingScaling, PredictiveScaling]
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules, amazon.aws.region.modules,
  amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: The scale-out policies of both colors
  wedsync.platform.autoscaling_policy_info:
    policy_names:
      - wedsync-production-app-blue-scale-out
      - wedsync-production-app-green-scale-out
  register: scale_out

- name: Their ARNs by policy name
  ansible.builtin.set_fact:
    scale_out_arns: "{{ scale_out.scaling_policies | items2dict(key_name='policy_name', value_name='policy_arn') }}"

- name: Every policy of one group
  wedsync.platform.autoscaling_policy_info:
    auto_scaling_group_name: wedsync-production-app-blue
"""

RETURN = r"""
scaling_policies:
  description: The policies found, sorted by group and name.
  returned: always
  type: list
  elements: dict
  contains:
    policy_name:
      description: The policy's name.
      type: str
      sample: wedsync-production-app-blue-scale-out
    policy_arn:
      description: The policy's ARN, what an alarm action names.
      type: str
      sample: "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:c3c9bf4e-1a2b-4c5d-8e9f-0a1b2c3d4e5f:autoScalingGroupName/wedsync-production-app-blue:policyName/wedsync-production-app-blue-scale-out"
    auto_scaling_group_name:
      description: The group the policy scales.
      type: str
      sample: wedsync-production-app-blue
    policy_type:
      description: The policy's type.
      type: str
      sample: SimpleScaling
    adjustment_type:
      description: How the adjustment is read, for simple and step scaling.
      type: str
      sample: ChangeInCapacity
    scaling_adjustment:
      description: The adjustment of a simple scaling policy.
      type: int
      sample: 2
    cooldown:
      description: The cooldown of a simple scaling policy, in seconds.
      type: int
      sample: 300
    enabled:
      description: Whether the policy is enabled.
      type: bool
      sample: true
    alarms:
      description: The alarms that run the policy.
      type: list
      elements: dict
      contains:
        alarm_name:
          description: The name of an alarm whose action runs the policy.
          type: str
          sample: wedsync-production-app-blue-cpu-high
        alarm_arn:
          description: The alarm's ARN.
          type: str
          sample: arn:aws:cloudwatch:us-east-1:123456789012:alarm:wedsync-production-app-blue-cpu-high
"""

from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils._autoscaling import describe_policies
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule


def request(params: dict[str, Any]) -> dict[str, Any]:
    names = {
        "AutoScalingGroupName": params["auto_scaling_group_name"],
        "PolicyNames": params["policy_names"],
        "PolicyTypes": params["policy_types"],
    }
    return {k: v for k, v in names.items() if v}


def snake_policy(policy: dict[str, Any]) -> dict[str, Any]:
    return {
        "policy_name": policy["PolicyName"],
        "policy_arn": policy["PolicyARN"],
        "auto_scaling_group_name": policy["AutoScalingGroupName"],
        "policy_type": policy.get("PolicyType", "SimpleScaling"),
        "adjustment_type": policy.get("AdjustmentType"),
        "scaling_adjustment": policy.get("ScalingAdjustment"),
        "cooldown": policy.get("Cooldown"),
        "enabled": policy.get("Enabled", True),
        "alarms": [{"alarm_name": a["AlarmName"], "alarm_arn": a["AlarmARN"]} for a in policy.get("Alarms", [])],
    }


def main() -> None:
    module = WedSyncAWSModule(
        argument_spec={
            "auto_scaling_group_name": {"type": "str"},
            "policy_names": {"type": "list", "elements": "str"},
            "policy_types": {
                "type": "list",
                "elements": "str",
                "choices": ["SimpleScaling", "StepScaling", "TargetTrackingScaling", "PredictiveScaling"],
            },
        },
        supports_check_mode=True,
    )
    client = module.client("autoscaling")
    try:
        found = describe_policies(client, request(module.params))
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
    policies = sorted((snake_policy(p) for p in found), key=lambda p: (p["auto_scaling_group_name"], p["policy_name"]))
    module.exit_json(changed=False, scaling_policies=policies)


if __name__ == "__main__":
    main()
