"""The arithmetic of a traffic switch: both shapes of a forward action, weights, stickiness, target health."""

from __future__ import annotations

import pytest
from ansible_collections.wedsync.platform.plugins.module_utils.traffic_switch import (
    Forward,
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

BLUE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/p-blue/0f2b1c4d5e6f7a8b"
GREEN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/p-green/1a2b3c4d5e6f7a8b"


def weighted(blue: int, green: int, sticky: int | None = None) -> dict:
    config = {"TargetGroups": [{"TargetGroupArn": BLUE, "Weight": blue}, {"TargetGroupArn": GREEN, "Weight": green}]}
    if sticky is not None:
        config["TargetGroupStickinessConfig"] = {"Enabled": bool(sticky), "DurationSeconds": sticky}
    return {"Type": "forward", "ForwardConfig": config}


class TestForwardOf:
    def test_plain_target_group_arn_is_one_group_at_weight_1(self):
        assert forward_of({"Type": "forward", "TargetGroupArn": BLUE}) == Forward({BLUE: 1})

    def test_forward_config_weights_and_stickiness(self):
        assert forward_of(weighted(90, 10, sticky=3600)) == Forward({BLUE: 90, GREEN: 10}, 3600)

    def test_both_shapes_as_elb_returns_them_prefer_forward_config(self):
        action = {**weighted(0, 100), "TargetGroupArn": GREEN}
        assert forward_of(action).weights == {BLUE: 0, GREEN: 100}

    def test_disabled_stickiness_is_none_whatever_the_duration(self):
        action = weighted(1, 1)
        action["ForwardConfig"]["TargetGroupStickinessConfig"] = {"Enabled": False, "DurationSeconds": 3600}
        assert forward_of(action).stickiness is None

    def test_a_group_without_weight_counts_1(self):
        action = {"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": BLUE}]}}
        assert forward_of(action).weights == {BLUE: 1}

    def test_no_target_group_is_an_error(self):
        with pytest.raises(SwitchError, match="without a target group"):
            forward_of({"Type": "forward"})


class TestSameAs:
    def test_plain_arn_equals_a_lone_weighted_group(self):
        assert forward_of({"Type": "forward", "TargetGroupArn": GREEN}).same_as(Forward({GREEN: 100}))

    def test_a_lone_group_differs_from_it_with_a_zero_weight_partner(self):
        # Green alone and green 100 / blue 0 send the same traffic, but only the second keeps blue
        # attached and health-checked for a rollback.
        assert not Forward({GREEN: 1}).same_as(Forward({GREEN: 100, BLUE: 0}))

    def test_weights_compare_exactly_and_in_any_order(self):
        assert Forward({BLUE: 90, GREEN: 10}).same_as(Forward({GREEN: 10, BLUE: 90}))
        assert not Forward({BLUE: 90, GREEN: 10}).same_as(Forward({BLUE: 9, GREEN: 1}))

    def test_stickiness_matters(self):
        assert not Forward({BLUE: 1, GREEN: 1}, 3600).same_as(Forward({BLUE: 1, GREEN: 1}))
        assert not Forward({GREEN: 1}, 60).same_as(Forward({GREEN: 1}))


class TestWanted:
    def test_stickiness_none_keeps_the_current(self):
        assert wanted_forward({GREEN: 100, BLUE: 0}, None, Forward({BLUE: 1}, 600)).stickiness == 600

    def test_stickiness_zero_turns_it_off(self):
        assert wanted_forward({GREEN: 100}, 0, Forward({BLUE: 1}, 600)).stickiness is None

    @pytest.mark.parametrize(
        ("weights", "message"),
        [
            ({}, "at least one target group"),
            ({BLUE: 0, GREEN: 0}, "weight above 0"),
            ({BLUE: 1000}, "0 to 999"),
            ({BLUE: -1, GREEN: 5}, "0 to 999"),
            ({f"tg{i}": 1 for i in range(6)}, "at most 5"),
        ],
    )
    def test_bad_weights_are_refused(self, weights, message):
        with pytest.raises(SwitchError, match=message):
            wanted_forward(weights, None, Forward({BLUE: 1}))

    def test_stickiness_out_of_range(self):
        with pytest.raises(SwitchError, match="604800"):
            wanted_forward({BLUE: 1}, 604801, Forward({BLUE: 1}))


class TestWithForward:
    def test_replaces_only_the_forward_action_and_keeps_its_order(self):
        auth = {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {"Issuer": "x"}}
        actions = [auth, {"Type": "forward", "Order": 2, "TargetGroupArn": BLUE}]
        shifted = with_forward(actions, Forward({GREEN: 100, BLUE: 0}), "listener")
        assert shifted[0] == auth
        assert shifted[1] == {
            "Type": "forward",
            "Order": 2,
            "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": GREEN, "Weight": 100}, {"TargetGroupArn": BLUE, "Weight": 0}],
                "TargetGroupStickinessConfig": {"Enabled": False},
            },
        }
        assert actions[1] == {"Type": "forward", "Order": 2, "TargetGroupArn": BLUE}, "input left unchanged"

    def test_writes_stickiness_when_on(self):
        shifted = with_forward([weighted(1, 1)], Forward({BLUE: 50, GREEN: 50}, 3600), "listener")
        assert shifted[0]["ForwardConfig"]["TargetGroupStickinessConfig"] == {"Enabled": True, "DurationSeconds": 3600}

    def test_round_trip(self):
        forward = Forward({BLUE: 90, GREEN: 10}, 120)
        assert forward_of(with_forward([weighted(1, 1)], forward, "listener")[0]) == forward

    def test_refuses_actions_without_a_forward(self):
        with pytest.raises(SwitchError, match=r"no forward action.*fixed-response"):
            forward_index([{"Type": "fixed-response"}], "the listener")


def test_traffic_percent():
    assert traffic_percent({"p-blue": 90, "p-green": 10}) == {"p-blue": 90.0, "p-green": 10.0}
    assert traffic_percent({"a": 1, "b": 2}) == {"a": 33.3, "b": 66.7}
    assert traffic_percent({"p-green": 100, "p-blue": 0}) == {"p-green": 100.0, "p-blue": 0.0}


def test_names():
    assert name_from_arn(GREEN) == "p-green"
    assert name_from_arn("not-an-arn") == "not-an-arn"
    assert named({BLUE: 1, "arn:other": 2}, {BLUE: "p-blue"}) == {"p-blue": 1, "arn:other": 2}


def target(instance: str, state: str, reason: str | None = None, description: str | None = None) -> dict:
    health = {"State": state}
    if reason:
        health |= {"Reason": reason, "Description": description}
    return {"Target": {"Id": instance, "Port": 3000}, "TargetHealth": health}


class TestGroupHealth:
    def test_counts_and_names_what_is_not_healthy(self):
        health = group_health(
            "p-green",
            [
                target("i-1", "healthy"),
                target("i-2", "unhealthy", "Target.FailedHealthChecks", "Health checks failed"),
                target("i-3", "initial", "Elb.RegistrationInProgress", "Target registration is in progress"),
                target("i-4", "draining", "Target.DeregistrationInProgress", "Target deregistration is in progress"),
            ],
        )
        assert (health.registered, health.healthy) == (3, 1)
        assert [t["id"] for t in health.unhealthy] == ["i-2:3000", "i-3:3000"]
        summary = health.summary(1, 100)
        assert "p-green: 1 of 3 registered targets healthy (needs at least 1 and 100%)" in summary
        assert "i-2:3000 unhealthy (Target.FailedHealthChecks: Health checks failed)" in summary
        assert "i-3:3000 initial (Elb.RegistrationInProgress" in summary

    @pytest.mark.parametrize(
        ("healthy", "registered", "minimum", "percent", "passes"),
        [
            (4, 4, 1, 100, True),
            (3, 4, 1, 100, False),
            (3, 4, 1, 75, True),
            (2, 4, 1, 75, False),
            (0, 0, 1, 100, False),  # an empty group never takes traffic
            (0, 0, 0, 100, True),
            (2, 2, 3, 100, False),
        ],
    )
    def test_thresholds(self, healthy, registered, minimum, percent, passes):
        targets = [target(f"i-{i}", "healthy") for i in range(healthy)]
        targets += [target(f"i-u{i}", "unhealthy") for i in range(registered - healthy)]
        assert group_health("g", targets).passes(minimum, percent) is passes

    def test_refusal_says_the_listener_is_unchanged(self):
        failing = group_health("p-green", [target("i-9", "unused", "Target.NotInUse", "Target group is not in use")])
        message = health_refusal([failing], 1, 100)
        assert message.startswith("Refusing to shift traffic, the listener is unchanged.")
        assert "i-9:3000 unused (Target.NotInUse: Target group is not in use)" in message
