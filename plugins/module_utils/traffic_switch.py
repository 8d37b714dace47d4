# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The arithmetic of an ALB traffic switch, apart from AWS: weights, forward actions, target health.

A forward action comes in two shapes that can mean the same thing: a plain ``TargetGroupArn``, or a
``ForwardConfig`` listing target groups with weights. Everything here reads both and writes only
the second, so that a group at weight 0 stays attached to the load balancer (and health-checked)
for a later rollback.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

MAX_WEIGHT = 999
MAX_TARGET_GROUPS = 5
MAX_STICKINESS_SECONDS = 604800

# Targets leaving the group are not counted against it.
LEAVING_STATES = ("draining", "unhealthy.draining")


class SwitchError(Exception):
    """Input or state that stops the switch with a message."""


@dataclass(frozen=True)
class Forward:
    """What a forward action means: the weight of each target group (by ARN) and group stickiness.

    ``stickiness`` is the duration in seconds, or None when group stickiness is off.
    """

    weights: dict[str, int]
    stickiness: int | None = None

    def same_as(self, other: Forward) -> bool:
        # A lone target group takes all traffic whatever its weight says.
        if len(self.weights) == 1 and len(other.weights) == 1:
            return set(self.weights) == set(other.weights) and self.stickiness == other.stickiness
        return self.weights == other.weights and self.stickiness == other.stickiness


def forward_of(action: dict[str, Any]) -> Forward:
    """The Forward an ELBv2 forward action describes, in either shape."""
    config = action.get("ForwardConfig") or {}
    groups = config.get("TargetGroups")
    if groups:
        weights = {group["TargetGroupArn"]: int(group.get("Weight", 1)) for group in groups}
    elif action.get("TargetGroupArn"):
        weights = {action["TargetGroupArn"]: 1}
    else:
        raise SwitchError(f"forward action without a target group: {action}")
    sticky = config.get("TargetGroupStickinessConfig") or {}
    stickiness = int(sticky.get("DurationSeconds") or 0) if sticky.get("Enabled") else None
    return Forward(weights, stickiness or None)


def forward_index(actions: list[dict[str, Any]], where: str) -> int:
    """The position of the one forward action among a listener's or a rule's actions."""
    found = [i for i, action in enumerate(actions) if action.get("Type") == "forward"]
    if len(found) != 1:
        kinds = ", ".join(str(action.get("Type")) for action in actions) or "none"
        raise SwitchError(f"{where} has no forward action to shift (its actions: {kinds})")
    return found[0]


def with_forward(actions: list[dict[str, Any]], forward: Forward, where: str) -> list[dict[str, Any]]:
    """The actions with their forward action replaced by ``forward``; the others are kept as they are."""
    index = forward_index(actions, where)
    replaced = copy.deepcopy(actions)
    action = {key: value for key, value in replaced[index].items() if key not in ("TargetGroupArn", "ForwardConfig")}
    action["ForwardConfig"] = {
        "TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in forward.weights.items()],
        "TargetGroupStickinessConfig": (
            {"Enabled": True, "DurationSeconds": forward.stickiness} if forward.stickiness else {"Enabled": False}
        ),
    }
    replaced[index] = action
    return replaced


def wanted_forward(weights: dict[str, int], stickiness: int | None, current: Forward) -> Forward:
    """The Forward asked for: ``stickiness`` None keeps the current setting, 0 turns it off."""
    check_weights(weights)
    if stickiness is None:
        return Forward(dict(weights), current.stickiness)
    if not 0 <= stickiness <= MAX_STICKINESS_SECONDS:
        raise SwitchError(f"stickiness_duration must be 0 (off) to {MAX_STICKINESS_SECONDS} seconds, not {stickiness}")
    return Forward(dict(weights), stickiness or None)


def check_weights(weights: dict[str, int]) -> None:
    if not weights:
        raise SwitchError("target_groups must list at least one target group")
    if len(weights) > MAX_TARGET_GROUPS:
        raise SwitchError(f"a forward action takes at most {MAX_TARGET_GROUPS} target groups, not {len(weights)}")
    bad = {group: weight for group, weight in weights.items() if not 0 <= weight <= MAX_WEIGHT}
    if bad:
        raise SwitchError(f"weights must be 0 to {MAX_WEIGHT}: {bad}")
    if not any(weights.values()):
        raise SwitchError("at least one target group needs a weight above 0, or the listener would serve nothing")


def traffic_percent(weights: dict[str, int]) -> dict[str, float]:
    """Each group's share of requests, in percent, rounded to one decimal."""
    total = sum(weights.values())
    return {group: round(100.0 * weight / total, 1) if total else 0.0 for group, weight in weights.items()}


def named(weights: dict[str, int], names: dict[str, str]) -> dict[str, int]:
    """Weights keyed by target group name rather than ARN (the ARN when the name is unknown)."""
    return {names.get(arn, arn): weight for arn, weight in weights.items()}


def name_from_arn(arn: str) -> str:
    """arn:...:targetgroup/<name>/<id> -> <name>."""
    parts = arn.rsplit(":", maxsplit=1)[-1].split("/")
    return parts[1] if len(parts) >= 3 and parts[0] == "targetgroup" else arn


# -- target health ------------------------------------------------------------------------------


@dataclass
class GroupHealth:
    """One target group's targets as the health gate sees them."""

    name: str
    registered: int = 0
    healthy: int = 0
    unhealthy: list[dict[str, str | None]] = field(default_factory=list)

    def passes(self, min_healthy_targets: int, min_healthy_percent: int) -> bool:
        return self.healthy >= min_healthy_targets and self.healthy * 100 >= min_healthy_percent * self.registered

    def summary(self, min_healthy_targets: int, min_healthy_percent: int) -> str:
        line = (
            f"{self.name}: {self.healthy} of {self.registered} registered targets healthy "
            f"(needs at least {min_healthy_targets} and {min_healthy_percent}%)"
        )
        if self.unhealthy:
            line += "; " + "; ".join(describe_target(target) for target in self.unhealthy)
        return line

    def as_dict(self) -> dict[str, Any]:
        return {
            "target_group_name": self.name,
            "registered": self.registered,
            "healthy": self.healthy,
            "unhealthy_targets": self.unhealthy,
        }


def describe_target(target: dict[str, str | None]) -> str:
    reason = ": ".join(part for part in (target.get("reason"), target.get("description")) if part)
    return f"{target['id']} {target['state']}" + (f" ({reason})" if reason else "")


def group_health(name: str, descriptions: list[dict[str, Any]]) -> GroupHealth:
    """A target group's health from DescribeTargetHealth's TargetHealthDescriptions."""
    health = GroupHealth(name)
    for description in descriptions:
        target_health = description.get("TargetHealth") or {}
        state = target_health.get("State", "unknown")
        if state in LEAVING_STATES:
            continue
        health.registered += 1
        if state == "healthy":
            health.healthy += 1
            continue
        target = description.get("Target") or {}
        port = target.get("Port")
        health.unhealthy.append(
            {
                "id": f"{target.get('Id')}:{port}" if port else str(target.get("Id")),
                "state": state,
                "reason": target_health.get("Reason"),
                "description": target_health.get("Description"),
            }
        )
    return health


def health_refusal(failing: list[GroupHealth], min_healthy_targets: int, min_healthy_percent: int) -> str:
    groups = "; ".join(group.summary(min_healthy_targets, min_healthy_percent) for group in failing)
    return f"Refusing to shift traffic, the listener is unchanged. Not healthy enough: {groups}"
