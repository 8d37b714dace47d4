#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
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
extends_documentation_fragment:
  - wedsync.platform.aws
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
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

import contextlib
import time
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry
from ansible_collections.wedsync.platform.plugins.module_utils.traffic_switch import (
    Forward,
    GroupHealth,
    SwitchError,
    forward_index,
    forward_of,
    group_health,
    health_refusal,
    name_from_arn,
    named,
    traffic_percent,
    wanted_forward,
    with_forward,
)

retry = aws_retry


# -- AWS calls ---------------------------------------------------------------------------------


@retry
def describe_listener(client, arn: str) -> dict[str, Any] | None:
    try:
        return client.describe_listeners(ListenerArns=[arn])["Listeners"][0]
    except is_boto3_error_code("ListenerNotFound"):
        return None


@retry
def describe_listener_on_port(client, load_balancer_name: str, port: int) -> dict[str, Any] | None:
    try:
        balancer = client.describe_load_balancers(Names=[load_balancer_name])["LoadBalancers"][0]
    except is_boto3_error_code("LoadBalancerNotFound"):
        raise SwitchError(f"load balancer {load_balancer_name} not found") from None
    paginator = client.get_paginator("describe_listeners")
    listeners = paginator.paginate(LoadBalancerArn=balancer["LoadBalancerArn"]).build_full_result()["Listeners"]
    return next((listener for listener in listeners if listener["Port"] == port), None)


@retry
def describe_target_groups(client, names: list[str], arns: list[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for key, values in (("Names", names), ("TargetGroupArns", arns)):
        if values:
            try:
                found += client.describe_target_groups(**{key: values})["TargetGroups"]
            except is_boto3_error_code("TargetGroupNotFound") as e:
                raise SwitchError(f"target group not found: {e.response['Error'].get('Message', values)}") from None
    return found


@retry
def describe_target_health(client, arn: str) -> list[dict[str, Any]]:
    return client.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]


@retry
def describe_rules(client, listener_arn: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ListenerArn": listener_arn}
    while True:
        page = client.describe_rules(**kwargs)
        rules += page["Rules"]
        if not page.get("NextMarker"):
            return rules
        kwargs["Marker"] = page["NextMarker"]


@retry
def modify_listener(client, arn: str, actions: list[dict[str, Any]]) -> None:
    client.modify_listener(ListenerArn=arn, DefaultActions=actions)


@retry
def modify_rule(client, arn: str, actions: list[dict[str, Any]]) -> None:
    client.modify_rule(RuleArn=arn, Actions=actions)


@retry
def describe_alarm_states(client, names: list[str]) -> dict[str, str]:
    states: dict[str, str] = {}
    paginator = client.get_paginator("describe_alarms")
    pages = paginator.paginate(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    for page in pages:
        for alarm in page.get("MetricAlarms", []) + page.get("CompositeAlarms", []):
            states[alarm["AlarmName"]] = alarm["StateValue"]
    return states


# -- the switch --------------------------------------------------------------------------------


class Part:
    """A listener's default actions or one rule's actions: what they are, and what they become."""

    def __init__(self, arn: str, actions: list[dict[str, Any]], is_listener: bool) -> None:
        self.arn = arn
        self.actions = actions
        self.is_listener = is_listener
        self.where = "the listener's default action" if is_listener else f"rule {arn}"
        self.forward = forward_of(actions[forward_index(actions, self.where)])

    def shifted(self, forward: Forward) -> list[dict[str, Any]]:
        return with_forward(self.actions, forward, self.where)


class TrafficSwitch:
    def __init__(self, module: WedSyncAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.elbv2 = module.client("elbv2")
        self.names: dict[str, str] = {}
        self.listener_arn: str | None = None
        self.cloudwatch = None

    # -- reading

    def listener(self) -> dict[str, Any]:
        if self.params["listener_arn"]:
            found = describe_listener(self.elbv2, self.params["listener_arn"])
            where = self.params["listener_arn"]
        else:
            found = describe_listener_on_port(self.elbv2, self.params["load_balancer_name"], self.params["port"])
            where = f"port {self.params['port']} of {self.params['load_balancer_name']}"
        if found is None:
            raise SwitchError(f"no listener {where}")
        return found

    def wanted_weights(self) -> dict[str, int]:
        """The asked weights by target group ARN; remembers each group's name."""
        entries = self.params["target_groups"]
        for entry in entries:
            if bool(entry.get("name")) == bool(entry.get("arn")):
                raise SwitchError(f"each of target_groups needs exactly one of name and arn: {entry}")
        groups = describe_target_groups(
            self.elbv2,
            sorted({entry["name"] for entry in entries if entry.get("name")}),
            sorted({entry["arn"] for entry in entries if entry.get("arn")}),
        )
        by_name = {group["TargetGroupName"]: group["TargetGroupArn"] for group in groups}
        self.names.update({group["TargetGroupArn"]: group["TargetGroupName"] for group in groups})
        weights: dict[str, int] = {}
        for entry in entries:
            arn = entry.get("arn") or by_name[entry["name"]]
            if arn in weights:
                raise SwitchError(f"target group {self.names.get(arn, arn)} is listed twice in target_groups")
            weights[arn] = entry["weight"]
        return weights

    def parts(self, listener: dict[str, Any], wanted: dict[str, int]) -> list[Part]:
        parts = [Part(listener["ListenerArn"], listener["DefaultActions"], is_listener=True)]
        if self.params["include_rules"]:
            for rule in describe_rules(self.elbv2, listener["ListenerArn"]):
                forwards = [action for action in rule.get("Actions", []) if action.get("Type") == "forward"]
                if rule.get("IsDefault") or len(forwards) != 1:
                    continue
                if set(forward_of(forwards[0]).weights) <= set(wanted):
                    parts.append(Part(rule["RuleArn"], rule["Actions"], is_listener=False))
        return parts

    def name(self, arn: str) -> str:
        return self.names.get(arn) or name_from_arn(arn)

    def by_name(self, weights: dict[str, int]) -> dict[str, int]:
        return named(weights, {arn: self.name(arn) for arn in weights})

    # -- gates

    def health_gate(self, wanted: dict[str, int]) -> list[GroupHealth]:
        minimum, percent = self.params["min_healthy_targets"], self.params["min_healthy_percent"]
        checked = [
            group_health(self.name(arn), describe_target_health(self.elbv2, arn))
            for arn, weight in wanted.items()
            if weight > 0
        ]
        failing = [group for group in checked if not group.passes(minimum, percent)]
        if failing:
            raise GateRefusal(health_refusal(failing, minimum, percent), health=checked)
        return checked

    def alarm_states(self) -> dict[str, str]:
        names = self.params["rollback_alarms"]
        if not names:
            return {}
        if self.cloudwatch is None:
            self.cloudwatch = self.module.client("cloudwatch")
        states = describe_alarm_states(self.cloudwatch, names)
        missing = [name for name in names if name not in states]
        if missing:
            raise SwitchError(f"rollback_alarms not found in CloudWatch: {', '.join(missing)}")
        return states

    def observe(self, outcome: dict[str, Any]) -> str | None:
        """Watch the alarms for observe_seconds, keeping outcome's alarms and observed_seconds current.

        Returns the first alarm in ALARM, if any; raises if the alarms cannot be read.
        """
        started = time.monotonic()
        deadline = started + self.params["observe_seconds"]
        while True:
            states = self.alarm_states()
            now = time.monotonic()
            outcome.update(alarms=states, observed_seconds=round(now - started, 1))
            fired = next((name for name in self.params["rollback_alarms"] if states.get(name) == "ALARM"), None)
            if fired or now >= deadline:
                return fired
            time.sleep(min(self.params["poll_interval"], deadline - now))

    # -- writing

    def write(self, part: Part, actions: list[dict[str, Any]]) -> None:
        if part.is_listener:
            modify_listener(self.elbv2, part.arn, actions)
        else:
            modify_rule(self.elbv2, part.arn, actions)

    def apply(self, changes: list[tuple[Part, Forward]]) -> None:
        """Write every change; if one fails, put back those already written."""
        written: list[Part] = []
        try:
            for part, forward in changes:
                self.write(part, part.shifted(forward))
                written.append(part)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            raise WriteFailed(e, self.restore(written)) from e

    def restore(self, parts: list[Part]) -> list[str]:
        """Put back each part's previous actions; the errors of those that could not be."""
        errors = []
        for part in reversed(parts):
            try:
                self.write(part, part.actions)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                errors.append(f"{part.where}: {e}")
        return errors

    # -- the run

    def result(
        self, listener_arn: str, previous: Forward, now: Forward, actions: list[dict[str, Any]], **extra: Any
    ) -> dict[str, Any]:
        return {
            "listener_arn": listener_arn,
            "default_actions": shown_actions(actions),
            "weights": self.by_name(now.weights),
            "previous_weights": self.by_name(previous.weights),
            "traffic_percent": traffic_percent(self.by_name(now.weights)),
            "stickiness_duration": now.stickiness or 0,
            "alarms": {},
            "observed_seconds": 0.0,
            "rolled_back": False,
            **extra,
        }

    def diff(self, changes: list[tuple[Part, Forward]]) -> dict[str, Any]:
        def view(forward: Forward) -> dict[str, Any]:
            return {"weights": self.by_name(forward.weights), "stickiness_duration": forward.stickiness or 0}

        key = {True: "listener", False: "rule"}
        before = {f"{key[p.is_listener]} {p.arn}": view(p.forward) for p, _ in changes}
        after = {f"{key[p.is_listener]} {p.arn}": view(f) for p, f in changes}
        return {"before": before, "after": after}

    def run(self) -> dict[str, Any]:
        listener = self.listener()
        self.listener_arn = listener["ListenerArn"]
        wanted_weights = self.wanted_weights()
        parts = self.parts(listener, wanted_weights)
        default = parts[0]
        wanted = wanted_forward(wanted_weights, self.params["stickiness_duration"], default.forward)
        for arn in default.forward.weights:
            self.names.setdefault(arn, name_from_arn(arn))
        changes = [(part, wanted) for part in parts if not part.forward.same_as(wanted)]
        rules = [part.arn for part in parts if not part.is_listener]
        if not changes:
            return {
                "changed": False,
                **self.result(listener["ListenerArn"], default.forward, default.forward, default.actions, rules=rules),
            }

        health = self.health_gate(wanted.weights)
        before_states = self.alarm_states()
        already = [name for name, state in before_states.items() if state == "ALARM"]
        if already:
            raise GateRefusal(
                f"Refusing to shift traffic, the listener is unchanged: {', '.join(already)} already in ALARM",
                health=health,
                alarms=before_states,
            )
        outcome = self.result(
            listener["ListenerArn"],
            default.forward,
            wanted,
            default.actions if default.forward.same_as(wanted) else default.shifted(wanted),
            rules=rules,
            health=[group.as_dict() for group in health],
            alarms=before_states,
            diff=self.diff(changes),
        )
        if self.module.check_mode:
            return {"changed": True, **outcome}

        self.apply(changes)
        if not self.params["rollback_alarms"]:
            return {"changed": True, **outcome}
        # A gate that cannot be read is not a gate that passed: undo the shift as if it had closed.
        try:
            fired = self.observe(outcome)
        except (SwitchError, botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            errors = self.restore([part for part, _ in changes])
            raise RolledBack(f"the rollback alarms could not be read ({e})", None, errors, outcome) from e
        if fired:
            errors = self.restore([part for part, _ in changes])
            raise RolledBack(f"{fired} went to ALARM", fired, errors, outcome)
        return {"changed": True, **outcome}

    def actual(self, listener_arn: str | None) -> dict[str, Any]:
        """The listener as it is now, for a failure's report; UNREAD when it cannot be read back."""
        try:
            found = describe_listener(self.elbv2, listener_arn) if listener_arn else None
            if not found:
                return UNREAD
            actions = found["DefaultActions"]
            forward = forward_of(actions[forward_index(actions, "the listener")])
        except (SwitchError, botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
            return UNREAD
        return {
            "default_actions": shown_actions(actions),
            "weights": self.by_name(forward.weights),
            "stickiness_duration": forward.stickiness or 0,
        }


# What a failure reports of a listener it could not read back: nothing it does not know.
UNREAD: dict[str, Any] = {"default_actions": [], "weights": {}, "stickiness_duration": 0}


def now_forwards(actual: dict[str, Any]) -> str:
    return (
        f"the listener now forwards {actual['weights']}"
        if actual is not UNREAD
        else "the listener could not be read back"
    )


def shown_actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [camel_dict_to_snake_dict(action) for action in actions]


class GateRefusal(SwitchError):
    """A gate refused the switch before anything was written."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = {
            key: [group.as_dict() for group in value] if key == "health" else value for key, value in details.items()
        }


class WriteFailed(Exception):
    """A write failed part-way; those before it were put back (but for the errors listed)."""

    def __init__(self, error: Exception, restore_errors: list[str]) -> None:
        self.error = error
        self.restore_errors = restore_errors
        super().__init__(str(error))


class RolledBack(Exception):
    """The alarm gate closed after the change (an alarm fired, or the alarms could not be read)
    and the previous actions were put back, but for the errors listed."""

    def __init__(self, cause: str, fired_alarm: str | None, errors: list[str], outcome: dict[str, Any]) -> None:
        self.cause = cause
        self.fired_alarm = fired_alarm
        self.errors = errors
        self.outcome = outcome
        super().__init__(cause)


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
        failed.error,
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
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg="Could not shift the listener's traffic; the listener is as it was")


if __name__ == "__main__":
    main()
