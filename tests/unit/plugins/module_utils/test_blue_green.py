"""The blue/green runbook's decisions: the view of both colors, the deploy plan, the rollback, resuming."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.wedsync.platform.plugins.filter.blue_green import FilterModule
from ansible_collections.wedsync.platform.plugins.module_utils.blue_green import (
    blue_green_plan,
    blue_green_retire,
    blue_green_rollback,
    blue_green_unhealthy,
    blue_green_view,
    deploy_input_problems,
    resume_skips,
)

ARNS = {
    color: f"arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/p-{color}/{i}"
    for i, color in enumerate(("blue", "green"))
}


def listener(port: int, action: dict[str, Any]) -> dict[str, Any]:
    return {"port": port, "listener_arn": f"arn:listener/{port}", "default_actions": [action]}


def weighted(blue: int, green: int) -> dict[str, Any]:
    groups = [{"target_group_arn": ARNS["blue"], "weight": blue}, {"target_group_arn": ARNS["green"], "weight": green}]
    return {"type": "forward", "forward_config": {"target_groups": groups}}


def target_group(color: str, states: list[str]) -> dict[str, Any]:
    return {
        "target_group_name": f"p-{color}",
        "target_group_arn": ARNS[color],
        "targets_health_description": [
            {
                "target": {"id": f"i-{color}{n}"},
                "target_health": {"state": state, **({"reason": "Elb.X"} if state != "healthy" else {})},
            }
            for n, state in enumerate(states)
        ],
    }


def group(color: str, version: str, size: int, instance_version: str | None = None) -> dict[str, Any]:
    instances = [
        {"instance_id": f"i-{color}{n}", "launch_template": {"version": instance_version or version}}
        for n in range(size)
    ]
    return {
        "auto_scaling_group_name": f"p-app-{color}",
        "launch_template": {"launch_template_name": "p-app", "version": version},
        "min_size": size,
        "max_size": 12,
        "desired_capacity": size,
        "instances": instances,
    }


def version(number: int, release: str | None, default: bool = False) -> dict[str, Any]:
    tags = [{"key": "Name", "value": "p-app"}] + ([{"key": "wedsync:version", "value": release}] if release else [])
    return {
        "version_number": number,
        "default_version": default,
        "launch_template_data": {"tag_specifications": [{"resource_type": "instance", "tags": tags}]},
    }


VERSIONS = [version(1, None), version(2, "1.2.2"), version(3, "1.2.3", default=True)]


def view(
    action: dict[str, Any],
    blue: list[str] | None = None,
    green: list[str] | None = None,
    blue_version: str = "2",
    green_version: str = "$Default",
) -> dict[str, Any]:
    blue = ["healthy"] * 2 if blue is None else blue
    green = ["healthy"] * 2 if green is None else green
    balancer = {"dns_name": "p-alb.elb", "listeners": [listener(443, action), listener(8443, weighted(0, 1))]}
    return blue_green_view(
        balancer,
        [target_group("blue", blue), target_group("green", green)],
        [group("blue", blue_version, len(blue)), group("green", green_version, len(green))],
        VERSIONS,
        "p",
        443,
        8443,
    )


class TestView:
    def test_a_plain_forward_makes_its_color_live(self):
        seen = view({"type": "forward", "target_group_arn": ARNS["blue"]})
        assert (seen["live"], seen["idle"], seen["split"]) == ("blue", "green", False)
        assert seen["listener"]["percent"] == {"blue": 100.0, "green": 0.0}
        assert seen["test_listener"]["weights"] == {"blue": 0, "green": 1}
        assert seen["missing"] == []

    def test_weights_and_split(self):
        seen = view(weighted(90, 10))
        assert seen["listener"]["weights"] == {"blue": 90, "green": 10}
        assert (seen["live"], seen["split"]) == ("blue", True)
        assert view(weighted(50, 50))["live"] == ""

    def test_release_follows_the_pinned_version(self):
        colors = view(weighted(100, 0))["colors"]
        assert (colors["blue"]["launch_template_version_number"], colors["blue"]["release"]) == (2, "1.2.2")
        assert (colors["green"]["launch_template_version_number"], colors["green"]["release"]) == (3, "1.2.3")
        assert view(weighted(100, 0), blue_version="1")["colors"]["blue"]["release"] == ""
        assert view(weighted(100, 0), blue_version="$Latest")["colors"]["blue"]["release"] == "1.2.3"

    def test_a_group_on_default_runs_what_its_instances_were_launched_from(self):
        balancer = {"listeners": [listener(443, weighted(100, 0))]}
        groups = [group("blue", "$Default", 2, instance_version="2"), group("green", "$Default", 0)]
        blue = blue_green_view(balancer, [], groups, VERSIONS, "p", 443, 8443)["colors"]["blue"]
        assert (blue["launch_template_version_number"], blue["release"], blue["running_versions"]) == (
            2,
            "1.2.2",
            ["2"],
        )

    def test_health_counts_and_leaving_targets(self):
        blue = view(weighted(100, 0), blue=["healthy", "unhealthy", "draining", "initial"])["colors"]["blue"]
        assert (blue["registered"], blue["healthy"]) == (3, 1)
        assert blue["unhealthy_targets"] == ["i-blue1 unhealthy (Elb.X)", "i-blue3 initial (Elb.X)"]

    def test_names_what_is_missing(self):
        seen = blue_green_view({}, [], [], [], "p", 443, 8443)
        assert seen["missing"][0] == "the load balancer p-alb"
        assert "the Auto Scaling group p-app-green" in seen["missing"]
        assert seen["live"] == ""


class TestPlan:
    def test_deploys_from_live_to_idle(self):
        plan = blue_green_plan(view(weighted(100, 0)), "1.2.4")
        assert (plan["action"], plan["source"], plan["target"], plan["start_percent"]) == (
            "deploy",
            "blue",
            "green",
            0.0,
        )

    def test_nothing_to_do_when_the_release_is_live(self):
        plan = blue_green_plan(view(weighted(0, 100)), "1.2.3")
        assert plan["action"] == "nothing"
        assert plan["reasons"] == ["green already serves release 1.2.3"]

    def test_resumes_a_shift_to_the_same_release(self):
        plan = blue_green_plan(view(weighted(50, 50)), "1.2.3")
        assert (plan["action"], plan["source"], plan["target"], plan["start_percent"]) == (
            "resume",
            "blue",
            "green",
            50.0,
        )

    def test_refuses_a_split_left_by_another_switch(self):
        plan = blue_green_plan(view(weighted(90, 10)), "1.2.4")
        assert plan["action"] == "refuse"
        assert "split 90.0% blue / 10.0% green" in plan["reasons"][0]
        assert "blue_green_repair=true" in plan["reasons"][0]

    def test_repair_puts_a_split_back_on_the_color_with_more(self):
        plan = blue_green_plan(view(weighted(90, 10)), "1.2.4", repair=True)
        assert (plan["action"], plan["source"], plan["target"], plan["repair_traffic"]) == (
            "deploy",
            "blue",
            "green",
            True,
        )

    def test_an_even_split_is_refused_even_with_repair(self):
        plan = blue_green_plan(view(weighted(50, 50)), "1.2.4", repair=True)
        assert plan["action"] == "refuse"
        assert "playbooks/rollback.yml" in plan["reasons"][0]

    def test_refuses_an_unhealthy_live_color_unless_repairing(self):
        sick = view(weighted(100, 0), blue=["healthy", "unhealthy"])
        refused = blue_green_plan(sick, "1.2.4")
        assert refused["action"] == "refuse"
        assert (
            "the live color blue is not healthy: 1 of 2 targets healthy (i-blue1 unhealthy (Elb.X))"
            in refused["reasons"][0]
        )
        assert blue_green_plan(sick, "1.2.4", repair=True)["action"] == "deploy"

    def test_the_first_release_of_a_new_estate_needs_no_healthy_live_color(self):
        fresh = view(weighted(100, 0), blue=["unhealthy"], green=["unhealthy"], blue_version="1", green_version="1")
        plan = blue_green_plan(fresh, "1.0.0")
        assert (plan["action"], plan["source"], plan["target"], plan["first_release"]) == (
            "deploy",
            "blue",
            "green",
            True,
        )
        assert plan["reasons"] == ["the live color blue runs no release yet: 1.0.0 is the first, all traffic at once"]
        # A first deploy that staged the idle color and stopped: still nothing served.
        staged = view(weighted(100, 0), blue=["unhealthy"], green=["healthy"], blue_version="1")
        assert blue_green_plan(staged, "1.0.0")["first_release"] is True
        served = view(weighted(100, 0), blue=["unhealthy"], green=["unhealthy"], green_version="1")
        assert blue_green_plan(served, "1.0.0")["action"] == "refuse"
        assert blue_green_plan(view(weighted(100, 0)), "1.2.4")["first_release"] is False

    def test_refuses_other_target_groups(self):
        other = {
            "type": "forward",
            "forward_config": {"target_groups": [{"target_group_arn": "arn:other", "weight": 1}]},
        }
        assert blue_green_plan(view(other), "1.2.4")["action"] == "refuse"

    def test_needs_a_release(self):
        with pytest.raises(ValueError, match="needs the release"):
            blue_green_plan(view(weighted(100, 0)), "")


def switch(state: str, moved: bool = True, source: str = "blue", target: str = "green") -> dict[str, Any]:
    """The journal's facts after a deploy of 1.2.3 from blue (1.2.2) to green; both colors verified."""
    return {
        "switch": {
            "release": "1.2.3",
            "from_color": source,
            "from_release": "1.2.2",
            "to_color": target,
            "state": state,
            "moved": moved,
            "percent": 100.0 if state == "complete" else 0.0,
            "at": "2026-12-06T04:10:00Z",
        },
        "verified": {"blue": "1.2.2", "green": "1.2.3"},
    }


class TestRollback:
    def test_goes_back_to_the_color_a_recorded_deploy_left(self):
        for state, weights in (("complete", weighted(0, 100)), ("in-progress", weighted(50, 50))):
            decision = blue_green_rollback(view(weights), switch(state))
            assert (decision["action"], decision["target"], decision["source"]) == ("switch", "blue", "green")
            assert decision["reason"] == (
                f"recorded: release 1.2.3 moved traffic from blue (release 1.2.2) to green at 2026-12-06T04:10:00Z"
                f" ({state})"
            )
            assert decision["record"] == {
                "release": "1.2.3",
                "from_color": "blue",
                "from_release": "1.2.2",
                "to_color": "green",
                "state": "rolled-back",
                "moved": True,
                "percent": 0.0,
            }
            assert decision["forced"] == ""

    def test_running_it_again_changes_nothing(self):
        rolled_back = blue_green_rollback(view(weighted(0, 100)), switch("complete"))["record"]
        facts = {"switch": {**rolled_back, "at": "2026-12-06T04:20:00Z"}, "verified": switch("complete")["verified"]}
        again = blue_green_rollback(view(weighted(100, 0)), facts)
        assert (again["action"], again["target"]) == ("nothing", "blue")
        assert again["reason"].endswith(
            "was rolled back to blue at 2026-12-06T04:20:00Z; all traffic is already on blue"
        )
        assert again["record"] == {}

    def test_after_a_deploy_that_put_traffic_back_itself_it_changes_nothing(self):
        decision = blue_green_rollback(view(weighted(100, 0)), switch("rolled-back"))
        assert (decision["action"], decision["target"]) == ("nothing", "blue")

    def test_a_deploy_that_never_moved_traffic_leaves_nothing_to_roll_back(self):
        # The deploy staged green and stopped at its first listener change: green is not verified
        # and takes no traffic; sending users there would be the failure itself.
        facts = switch("in-progress", moved=False)
        facts["verified"] = {"blue": "1.2.2"}
        decision = blue_green_rollback(view(weighted(100, 0)), facts)
        assert decision["action"] == "nothing"
        assert "stopped before any traffic moved" in decision["reason"]

    def test_no_record_means_nothing_to_roll_back(self):
        for facts in ({}, {"switch": {"from_color": "blue", "to_color": "blue", "state": "complete"}}):
            decision = blue_green_rollback(view(weighted(100, 0)), facts)
            assert (decision["action"], decision["reason"]) == ("nothing", "no switch is recorded in the journal")

    def test_a_named_color_wins_and_is_recorded_so_that_it_sticks(self):
        undo = blue_green_rollback(view(weighted(100, 0)), switch("rolled-back"), "green")
        assert (undo["action"], undo["target"], undo["reason"]) == (
            "switch",
            "green",
            "asked for (blue_green_rollback_to)",
        )
        assert undo["record"] == {
            "release": "1.2.2",
            "from_color": "green",
            "from_release": "1.2.3",
            "to_color": "blue",
            "state": "rolled-back",
            "moved": True,
            "percent": 0.0,
        }
        facts = {"switch": undo["record"], "verified": switch("complete")["verified"]}
        assert blue_green_rollback(view(weighted(0, 100)), facts)["action"] == "nothing"

    def test_refuses_a_color_whose_release_did_not_pass_its_checks_unless_forced(self):
        facts = {"verified": {"blue": "1.2.2"}}
        refused = blue_green_rollback(view(weighted(100, 0)), facts, "green")
        assert refused["action"] == "refuse"
        assert "green runs release 1.2.3, which has not passed health and smoke checks there" in refused["reason"]
        forced = blue_green_rollback(view(weighted(100, 0)), facts, "green", force=True)
        assert (forced["action"], forced["target"]) == ("switch", "green")
        assert "has not passed health and smoke checks" in forced["forced"]

    def test_a_color_that_runs_another_release_since_its_checks_is_refused(self):
        facts = {**switch("complete"), "verified": {"blue": "1.0.0", "green": "1.2.3"}}
        refused = blue_green_rollback(view(weighted(0, 100)), facts)
        assert refused["action"] == "refuse"
        assert "blue now runs release 1.2.2, not 1.0.0" in refused["reason"]

    def test_a_split_without_a_record_goes_back_to_the_color_with_more(self):
        decision = blue_green_rollback(view(weighted(90, 10)), {})
        assert (decision["action"], decision["target"]) == ("switch", "blue")
        assert "traffic is split 90.0% blue / 10.0% green, so a shift from blue stopped" in decision["reason"]
        assert decision["record"]["from_color"] == "blue"

    @pytest.mark.parametrize("facts", [{}, {"switch": {"from_color": "blue", "to_color": "blue"}}, switch("unknown")])
    def test_an_even_split_without_a_usable_record_is_refused(self, facts):
        decision = blue_green_rollback(view(weighted(50, 50)), facts)
        assert decision["action"] == "refuse"
        assert "split evenly (50.0% blue / 50.0% green)" in decision["reason"]

    def test_a_color_that_is_not_blue_or_green_is_an_error(self):
        with pytest.raises(ValueError, match="blue_green_rollback_to must be blue or green"):
            blue_green_rollback(view(weighted(100, 0)), {}, "purple")


class TestResume:
    def test_skips_what_aws_still_shows_done(self):
        seen = view(weighted(90, 10), green_version="3")
        plan = blue_green_plan(seen, "1.2.3")
        assert resume_skips(seen, plan, "1.2.3", ["stage", "smoke"]) == {"stage": True, "smoke": True}
        assert resume_skips(seen, plan, "1.2.3", ["stage"]) == {"stage": True, "smoke": False}
        assert resume_skips(seen, plan, "1.2.3", []) == {"stage": False, "smoke": False}

    def test_redoes_staging_when_the_color_changed_since(self):
        sick = view(weighted(90, 10), green=["healthy", "unhealthy"], green_version="3")
        plan = {"target": "green"}
        assert resume_skips(sick, plan, "1.2.3", ["stage", "smoke"]) == {"stage": False, "smoke": False}
        other = view(weighted(90, 10), green_version="2")
        assert resume_skips(other, plan, "1.2.3", ["stage", "smoke"]) == {"stage": False, "smoke": False}


class TestDeployInput:
    def test_good_input_has_no_problem(self):
        assert deploy_input_problems("1.2.3", [10, 50, 100], [{"path": "/api/ready"}]) == []

    def test_each_problem_names_only_its_variable(self):
        assert deploy_input_problems("1.2.3", [50, 10], []) == [
            "blue_green_steps must rise to 100 within 1-100, e.g. 10,50,100 (got 50,10)"
        ]
        assert deploy_input_problems("../etc", [100], []) == ['blue_green_version must look like 1.2.3 (got "../etc")']
        assert len(deploy_input_problems("", [0, 100], [])) == 2

    def test_each_smoke_check_without_a_path_is_named(self):
        checks = [{"path": "/api/ready"}, {"name": "login", "path": "api/login"}, {"status": 204}]
        assert deploy_input_problems("1.2.3", [100], checks) == [
            "blue_green_smoke_checks[1] (login) needs a path starting with / (got 'api/login')",
            "blue_green_smoke_checks[2] needs a path starting with / (got '')",
        ]


def test_the_filters_report_errors_as_filter_errors():
    filters = FilterModule().filters()
    with pytest.raises(AnsibleFilterError, match="blue_green_rollback_to must be blue or green"):
        filters["blue_green_rollback"](view(weighted(100, 0)), {}, "purple")


def test_unhealthy_names_each_instance_with_its_reason():
    group = target_group("green", ["healthy", "unhealthy"])
    group["targets_health_description"][1]["target_health"]["description"] = (
        "Health checks failed with these codes: [503]"
    )
    assert blue_green_unhealthy(group, ["i-green0", "i-green1", "i-green9"]) == [
        "i-green1 unhealthy (Elb.X: Health checks failed with these codes: [503])",
        "i-green9 not registered",
    ]


class TestRetire:
    def test_the_idle_color_goes_when_the_live_one_is_all_healthy(self):
        decision = blue_green_retire(view(weighted(0, 100)))
        assert (decision["action"], decision["color"], decision["live"]) == ("retire", "blue", "green")
        assert "release 1.2.3, 2 of 2 targets healthy" in decision["reason"]

    def test_nothing_when_it_is_already_at_zero(self):
        decision = blue_green_retire(view(weighted(0, 100), blue=[]))
        assert (decision["action"], decision["reason"]) == ("nothing", "blue is already scaled to zero")

    @pytest.mark.parametrize("weights", [(90, 10), (50, 50), (0, 0)])
    def test_split_or_unrouted_traffic_is_refused(self, weights):
        decision = blue_green_retire(view(weighted(*weights)))
        assert decision["action"] == "refuse"
        assert "not on one color" in decision["reason"]

    def test_a_live_color_short_of_healthy_targets_keeps_the_way_back(self):
        shaky = view(weighted(0, 100), green=["healthy", "unhealthy"])
        assert blue_green_retire(shaky)["action"] == "refuse"
        assert "1 of 2 targets healthy, under 100%" in blue_green_retire(shaky)["reason"]
        assert blue_green_retire(shaky, 50)["action"] == "retire"
        assert blue_green_retire(view(weighted(0, 100), green=[]), 1)["action"] == "refuse"

    def test_the_percentage_is_checked(self):
        with pytest.raises(ValueError, match="blue_green_retire_min_healthy_percent"):
            blue_green_retire(view(weighted(0, 100)), 0)
