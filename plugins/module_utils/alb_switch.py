# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An ALB traffic switch against AWS, for wedsync.platform.alb_traffic_switch.

TrafficSwitch reads the listener (and its rules), gates the change on target health and CloudWatch
alarms, writes the new forward actions and puts the previous ones back when a write fails or an
alarm closes the gate. The arithmetic is traffic_switch's; the AWS calls are _elbv2's and
_cloudwatch's. What stops the switch is raised as one of the exceptions below, which the module
reports.
"""

from __future__ import annotations

import time
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.wedsync.platform.plugins.module_utils._cloudwatch import describe_alarms
from ansible_collections.wedsync.platform.plugins.module_utils._elbv2 import (
    ELBv2Error,
    describe_listener,
    describe_listeners,
    describe_load_balancer,
    describe_rules,
    describe_target_group,
    describe_target_health,
    modify_listener,
    modify_rule,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule
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

# What a failure reports of a listener it could not read back: nothing it does not know.
UNREAD: dict[str, Any] = {"default_actions": [], "weights": {}, "stickiness_duration": 0}


class GateRefusal(SwitchError):
    """A gate refused the switch before anything was written."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = {
            key: [group.as_dict() for group in value] if key == "health" else value for key, value in details.items()
        }


class WriteFailed(Exception):
    """A write failed part-way; those before it were put back (but for the errors listed)."""

    def __init__(self, error: ELBv2Error, restore_errors: list[str]) -> None:
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


def reason(error: Exception) -> str:
    """What went wrong, in botocore's words when a layer's error wraps botocore's."""
    return str(getattr(error, "exception", None) or error)


def now_forwards(actual: dict[str, Any]) -> str:
    return (
        f"the listener now forwards {actual['weights']}"
        if actual is not UNREAD
        else "the listener could not be read back"
    )


def shown_actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [camel_dict_to_snake_dict(action) for action in actions]


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
            found = self.listener_on_port(self.params["load_balancer_name"], self.params["port"])
            where = f"port {self.params['port']} of {self.params['load_balancer_name']}"
        if found is None:
            raise SwitchError(f"no listener {where}")
        return found

    def listener_on_port(self, load_balancer_name: str, port: int) -> dict[str, Any] | None:
        balancer = describe_load_balancer(self.elbv2, load_balancer_name)
        if balancer is None:
            raise SwitchError(f"load balancer {load_balancer_name} not found")
        listeners = describe_listeners(self.elbv2, balancer["LoadBalancerArn"]) or []
        return next((listener for listener in listeners if listener["Port"] == port), None)

    def wanted_weights(self) -> dict[str, int]:
        """The asked weights by target group ARN; remembers each group's name."""
        entries = self.params["target_groups"]
        for entry in entries:
            if bool(entry.get("name")) == bool(entry.get("arn")):
                raise SwitchError(f"each of target_groups needs exactly one of name and arn: {entry}")
        weights: dict[str, int] = {}
        for entry in entries:
            arn = self.target_group_arn(entry.get("name"), entry.get("arn"))
            if arn in weights:
                raise SwitchError(f"target group {self.names.get(arn, arn)} is listed twice in target_groups")
            weights[arn] = entry["weight"]
        return weights

    def target_group_arn(self, name: str | None, arn: str | None) -> str:
        group = describe_target_group(self.elbv2, name=name, arn=arn)
        if group is None:
            raise SwitchError(f"target group not found: {name or arn}")
        self.names[group["TargetGroupArn"]] = group["TargetGroupName"]
        return group["TargetGroupArn"]

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
        found = describe_alarms(self.cloudwatch, names=names)
        states = {alarm["AlarmName"]: alarm["StateValue"] for alarms in found.values() for alarm in alarms}
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
            modify_listener(self.elbv2, part.arn, {"DefaultActions": actions})
        else:
            modify_rule(self.elbv2, part.arn, actions)

    def apply(self, changes: list[tuple[Part, Forward]]) -> None:
        """Write every change; if one fails, put back those already written."""
        written: list[Part] = []
        try:
            for part, forward in changes:
                self.write(part, part.shifted(forward))
                written.append(part)
        except ELBv2Error as e:
            raise WriteFailed(e, self.restore(written)) from e

    def restore(self, parts: list[Part]) -> list[str]:
        """Put back each part's previous actions; the errors of those that could not be."""
        errors = []
        for part in reversed(parts):
            try:
                self.write(part, part.actions)
            except ELBv2Error as e:
                errors.append(f"{part.where}: {reason(e)}")
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
        except (SwitchError, WedSyncAWSError) as e:
            errors = self.restore([part for part, _ in changes])
            raise RolledBack(f"the rollback alarms could not be read ({reason(e)})", None, errors, outcome) from e
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
        except (SwitchError, WedSyncAWSError):
            return UNREAD
        return {
            "default_actions": shown_actions(actions),
            "weights": self.by_name(forward.weights),
            "stickiness_duration": forward.stickiness or 0,
        }
