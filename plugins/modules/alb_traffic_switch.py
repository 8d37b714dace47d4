#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: alb_traffic_switch
version_added: 0.1.0
short_description: Shift an Application Load Balancer listener's traffic between target groups, gated on health and alarms
description:
  - Sets the weights of the target groups an ALB listener forwards to, for a blue/green switch
    (green 100, blue 0) or a canary step (green 10, blue 90). Only the listener's forward action
    changes; other default actions, the certificate and the TLS policy are left alone.
  - B(Health gate, before any change.) Every target group that will get a weight above 0 must have
    at least O(min_healthy_targets) healthy targets and O(min_healthy_percent) of its registered
    targets healthy. Otherwise the module fails without touching the listener, naming each target
    group and each target that is not healthy with its state and reason.
  - B(Alarm gate, after the change.) The CloudWatch alarms in O(rollback_alarms) are watched for
    O(observe_seconds). If one goes to C(ALARM), the listener (and the rules that were shifted)
    get their previous actions back and the module fails, naming the alarm. An alarm already in
    C(ALARM) before the shift stops the module before any change. Alarms that cannot be read during
    the observation (deleted, or CloudWatch failing past the retries) roll the change back too.
  - Writes the weights as a C(ForwardConfig) and keeps target groups at weight 0 in it, so that
    they stay attached to the load balancer, keep being health-checked, and can take the traffic
    back at once.
  - Compares weights in full, unlike M(amazon.aws.elb_application_lb), whose listener comparison
    ignores C(ForwardConfig) and which rewrites the whole load balancer.
options:
  listener_arn:
    description:
      - The ARN of the listener.
      - Exactly one of O(listener_arn) and O(load_balancer_name) is required.
    type: str
  load_balancer_name:
    description:
      - The name of the load balancer whose listener on O(port) is switched.
    type: str
  port:
    description:
      - The port of the listener, with O(load_balancer_name).
    type: int
  target_groups:
    description:
      - The target groups the listener forwards to afterwards, each with its weight.
      - A target group the listener forwards to now and that is not listed here is removed from
        the forward action.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - The target group's name. Exactly one of O(target_groups[].name) and
            O(target_groups[].arn) is required.
        type: str
      arn:
        description:
          - The target group's ARN.
        type: str
      weight:
        description:
          - The group's weight, 0 to 999. Each group gets weight / (sum of weights) of the requests.
          - At least one group needs a weight above 0.
        type: int
        required: true
  stickiness_duration:
    description:
      - Target group stickiness for the weighted forward, in seconds (1 to 604800); V(0) turns it off.
      - Without it, the forward action keeps the stickiness setting it has.
    type: int
  include_rules:
    description:
      - Also shift the listener's rules whose forward action sends traffic only to target groups in
        O(target_groups) (for example a path rule for C(/api/*) to the live color). Rules that forward
        anywhere else are left alone.
    type: bool
    default: false
  min_healthy_targets:
    description:
      - The fewest healthy targets a target group getting a weight above 0 must have.
    type: int
    default: 1
  min_healthy_percent:
    description:
      - The share of a target group's registered targets that must be healthy before it gets a weight
        above 0. Targets that are draining are not counted.
    type: int
    default: 100
  rollback_alarms:
    description:
      - Names of CloudWatch alarms (metric or composite) that stop the switch. One in C(ALARM) before the
        change refuses it; one going to C(ALARM) during O(observe_seconds) rolls it back.
      - Every alarm must exist, since a misspelt name would otherwise be a gate that never closes.
    type: list
    elements: str
    default: []
  observe_seconds:
    description:
      - How long to watch O(rollback_alarms) after the change. With V(0), the alarms are read once,
        right after the change.
    type: int
    default: 0
  poll_interval:
    description:
      - Seconds between two reads of the alarms while observing.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    details:
      - Runs the health gate and the alarm pre-check (reads only) and returns the listener as the switch
        would leave it; writes nothing and observes nothing.
  diff_mode:
    support: full
    details: C(before) and C(after) are the weights and stickiness of the listener and of each shifted rule.
notes:
  - When the listener (and, with O(include_rules), its rules) already forward as asked, nothing is
    written and no gate runs.
  - A target group that no listener forwards to reports its targets C(unused) and is not
    health-checked by the load balancer, so the health gate refuses it. Attach the idle color to a
    test listener (the collection's load_balancer role keeps one on port 8443) so that it is
    health-checked before it takes real traffic.
  - If a write fails part-way, or an alarm fires, the module puts back what it changed, reads the
    listener again and reports it, so the result always shows the listener as it is.
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules, amazon.aws.region.modules,
  amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Switch all traffic from blue to green, if green is healthy; keep blue attached for a rollback
  wedsync.platform.alb_traffic_switch:
    load_balancer_name: wedsync-production-alb
    port: 443
    target_groups:
      - name: wedsync-production-green
        weight: 100
      - name: wedsync-production-blue
        weight: 0
  register: switch

- name: Canary step, 10% to green for five minutes, rolled back if the error-rate alarm fires
  wedsync.platform.alb_traffic_switch:
    listener_arn: "{{ listener_arn }}"
    target_groups:
      - {name: wedsync-production-green, weight: 10}
      - {name: wedsync-production-blue, weight: 90}
    stickiness_duration: 3600
    rollback_alarms:
      - wedsync-production-alb-error-rate-critical
      - wedsync-production-alb-response-time-critical
    observe_seconds: 300

- name: Put the previous weights back, exactly as the switch reported them
  wedsync.platform.alb_traffic_switch:
    listener_arn: "{{ switch.listener_arn }}"
    target_groups: "{{ switch.previous_weights | dict2items(key_name='name', value_name='weight') }}"
    min_healthy_percent: 50
"""

RETURN = r"""
listener_arn:
  description: The ARN of the listener.
  returned: always
  type: str
  sample: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/wedsync-production-alb/50dc6c495c0c9188/f2f7dc8efc522ab2
default_actions:
  description:
    - The listener's default actions after the task (as they would be, in check mode), as
      C(DescribeListeners) returns them but in snake_case. After a failure, as read back from AWS.
  returned: always
  type: list
  elements: dict
  sample:
    - type: forward
      forward_config:
        target_groups:
          - {target_group_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/wedsync-production-green/1a2b3c4d5e6f7a8b", weight: 100}
          - {target_group_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/wedsync-production-blue/8b7a6f5e4d3c2b1a", weight: 0}
        target_group_stickiness_config: {enabled: false}
weights:
  description:
    - The weight of each target group of the listener's forward action after the task, by target group
      name (as it would be, in check mode). After a rollback, the weights put back.
  returned: always
  type: dict
  sample: {"wedsync-production-green": 100, "wedsync-production-blue": 0}
previous_weights:
  description:
    - The weights before the task, by target group name; pass them back as O(target_groups) to undo it.
    - A listener that forwarded to one target group without weights shows it at weight 1.
  returned: always
  type: dict
  sample: {"wedsync-production-blue": 1}
traffic_percent:
  description: The share of requests each target group gets after the task, in percent.
  returned: always
  type: dict
  sample: {"wedsync-production-green": 100.0, "wedsync-production-blue": 0.0}
stickiness_duration:
  description: The group stickiness of the forward action after the task, in seconds; 0 when it is off.
  returned: always
  type: int
  sample: 0
rules:
  description: The ARNs of the listener rules shifted with the default action (with O(include_rules)).
  returned: always
  type: list
  elements: str
  sample: []
health:
  description: What the health gate found for each target group getting a weight above 0.
  returned: when the gate ran
  type: list
  elements: dict
  contains:
    target_group_name:
      description: The target group.
      type: str
    registered:
      description: Its registered targets, not counting those draining.
      type: int
    healthy:
      description: How many of them are healthy.
      type: int
    unhealthy_targets:
      description: Each target that is not healthy, with C(id), C(state), C(reason) and C(description).
      type: list
      elements: dict
  sample:
    - target_group_name: wedsync-production-green
      registered: 4
      healthy: 4
      unhealthy_targets: []
alarms:
  description: The state of each of O(rollback_alarms) when the task ended.
  returned: always
  type: dict
  sample: {"wedsync-production-alb-error-rate-critical": "OK"}
observed_seconds:
  description: How long the alarms were watched after the change.
  returned: always
  type: float
  sample: 300.2
rolled_back:
  description:
    - Whether the previous actions were put back because an alarm fired, the alarms could not be read
      during the observation, or a write failed.
  returned: always
  type: bool
  sample: false
fired_alarm:
  description: The alarm that went to C(ALARM) and caused the rollback.
  returned: when an alarm caused a rollback
  type: str
  sample: wedsync-production-alb-error-rate-critical
"""

from ansible_collections.wedsync.platform.plugins.module_utils.alb_switch import (
    UNREAD,
    GateRefusal,
    RolledBack,
    TrafficSwitch,
    WriteFailed,
    now_forwards,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule
from ansible_collections.wedsync.platform.plugins.module_utils.traffic_switch import SwitchError, traffic_percent


def fail_rolled_back(module: WedSyncAWSModule, switch: TrafficSwitch, rolled: RolledBack) -> None:
    outcome = rolled.outcome
    actual = switch.actual(outcome["listener_arn"])
    message = (
        f"{rolled.cause} {outcome['observed_seconds']} s after the shift to "
        f"{outcome['weights']}; rolled back to {outcome['previous_weights']}"
    )
    if rolled.errors:
        message += "; but could not put back: " + "; ".join(rolled.errors) + "; " + now_forwards(actual)
    elif actual is UNREAD:
        message += "; " + now_forwards(actual)
    fired = {"fired_alarm": rolled.fired_alarm} if rolled.fired_alarm else {}
    module.fail_json(
        msg=message,
        changed=True,
        **{
            **outcome,
            **actual,
            "traffic_percent": traffic_percent(actual["weights"]),
            "rolled_back": not rolled.errors,
            **fired,
        },
    )


def fail_write(module: WedSyncAWSModule, switch: TrafficSwitch, failed: WriteFailed) -> None:
    listener_arn = switch.listener_arn
    actual = switch.actual(listener_arn)
    put_back = "; could not put back " + "; ".join(failed.restore_errors) if failed.restore_errors else ""
    module.fail_json_aws(
        failed.error.exception or failed.error,
        msg=f"Could not shift the listener's traffic{put_back}; {now_forwards(actual)}",
        changed=bool(failed.restore_errors),
        listener_arn=listener_arn,
        **actual,
        traffic_percent=traffic_percent(actual["weights"]),
        rolled_back=not failed.restore_errors,
    )


RANGES = {
    "min_healthy_targets": (0, None),
    "min_healthy_percent": (0, 100),
    "observe_seconds": (0, None),
    "poll_interval": (1, None),
}


def check_ranges(module: WedSyncAWSModule) -> None:
    for name, (low, high) in RANGES.items():
        value = module.params[name]
        if value < low:
            module.fail_json(msg=f"{name} must be at least {low}, not {value}")
        if high is not None and value > high:
            module.fail_json(msg=f"{name} must be at most {high}, not {value}")


def main() -> None:
    argument_spec = dict(
        listener_arn=dict(type="str"),
        load_balancer_name=dict(type="str"),
        port=dict(type="int"),
        target_groups=dict(
            type="list",
            elements="dict",
            required=True,
            options=dict(name=dict(type="str"), arn=dict(type="str"), weight=dict(type="int", required=True)),
        ),
        stickiness_duration=dict(type="int"),
        include_rules=dict(type="bool", default=False),
        min_healthy_targets=dict(type="int", default=1),
        min_healthy_percent=dict(type="int", default=100),
        rollback_alarms=dict(type="list", elements="str", default=[]),
        observe_seconds=dict(type="int", default=0),
        poll_interval=dict(type="int", default=10),
    )
    module = WedSyncAWSModule(
        argument_spec=argument_spec,
        required_one_of=[("listener_arn", "load_balancer_name")],
        mutually_exclusive=[("listener_arn", "load_balancer_name"), ("listener_arn", "port")],
        required_together=[("load_balancer_name", "port")],
        supports_check_mode=True,
    )
    check_ranges(module)
    switch = TrafficSwitch(module)
    try:
        module.exit_json(**switch.run())
    except GateRefusal as e:
        module.fail_json(msg=str(e), changed=False, **e.details)
    except RolledBack as e:
        fail_rolled_back(module, switch, e)
    except WriteFailed as e:
        fail_write(module, switch, e)
    except SwitchError as e:
        module.fail_json(msg=str(e), changed=False)
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()
