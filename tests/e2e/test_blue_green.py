"""The blue/green runbook end to end: deploy, rollback, refusals, alarms, and the journal under kills.

The tests run in file order on one estate, each starting from where the one before left traffic.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest
from harness import PREFIX, Runbooks, publish_release

from twin.client import TwinClient
from twin.load import SteadyLoad

FAST = ("-e", "blue_green_observe_seconds=2", "-e", "blue_green_poll_interval=1")
ALARM = f"{PREFIX}-alb-error-rate-critical"
# Requests a second through the load balancer while a deploy or rollback runs.
LOAD_RATE = 10

elb = boto3.client("elbv2", region_name="us-east-1")
autoscaling = boto3.client("autoscaling", region_name="us-east-1")
cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
s3 = boto3.client("s3", region_name="us-east-1")


def target_group_arns() -> dict[str, str]:
    groups = elb.describe_target_groups(Names=[f"{PREFIX}-blue", f"{PREFIX}-green"])["TargetGroups"]
    return {g["TargetGroupName"].rsplit("-", 1)[1]: g["TargetGroupArn"] for g in groups}


def listener(port: int = 443) -> dict[str, Any]:
    balancer = elb.describe_load_balancers(Names=[f"{PREFIX}-alb"])["LoadBalancers"][0]
    listeners = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    return next(li for li in listeners if li["Port"] == port)


def weights(port: int = 443) -> dict[str, int]:
    action = listener(port)["DefaultActions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [
        {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}
    ]
    names = {arn: color for color, arn in target_group_arns().items()}
    found = {"blue": 0, "green": 0}
    for group in groups:
        found[names[group["TargetGroupArn"]]] += int(group.get("Weight", 1))
    return found


def live() -> str:
    current = weights()
    return max(current, key=current.__getitem__)


def other(color: str) -> str:
    return "green" if color == "blue" else "blue"


def group(color: str) -> dict[str, Any]:
    return autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{PREFIX}-app-{color}"])[
        "AutoScalingGroups"
    ][0]


def journal() -> dict[str, Any]:
    body = s3.get_object(Bucket=f"{PREFIX}-runbooks-us-east-1", Key="journal/local/blue_green.json")["Body"]
    return json.load(body)


def served(twin: TwinClient) -> dict[str, Any]:
    status, body = twin.alb_request(f"{PREFIX}-alb", 443)
    assert status == 200, body
    return body


def alarm(state: str) -> None:
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue=state, StateReason="end-to-end test")


@pytest.fixture(scope="module", autouse=True)
def releases(estate: str, twin: TwinClient) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0", "1.3.0"):
        publish_release(version)
    # New targets take two seconds to pass their health checks, as on an ALB.
    twin.set_transition_seconds(target_registration=2)


def deploy(runbooks: Runbooks, version: str, *args: str):
    """A deploy in one step, unless the test asks for steps: canaries are tested where they matter."""
    steps = () if any(arg.startswith("blue_green_steps=") for arg in args) else ("-e", "blue_green_steps=100")
    return runbooks.run("deploy_blue_green.yml", "-e", f"blue_green_version={version}", *FAST, *steps, *args)


def test_bad_input_is_refused_naming_only_what_is_wrong(runbooks: Runbooks) -> None:
    steps = deploy(runbooks, "1.1.0", "-e", "blue_green_steps=50,10")
    assert steps.rc != 0
    assert steps.report["outcome"] == "REFUSED"
    assert steps.gate("input")["reason"] == "blue_green_steps must rise to 100 within 1-100, e.g. 10,50,100 (got 50,10)"
    assert steps.report["resources"] == []

    color = runbooks.run("rollback.yml", "-e", "blue_green_rollback_to=purple")
    assert color.rc != 0
    assert color.report["outcome"] == "REFUSED"
    assert "blue_green_rollback_to" in color.report["failure"]["message"]
    assert "purple" in color.report["failure"]["message"]

    missing = runbooks.run("deploy_blue_green.yml")
    assert missing.report["outcome"] == "REFUSED"
    assert "blue_green_version" in missing.report["failure"]["message"]


def test_a_first_release_goes_to_the_idle_color(runbooks: Runbooks, twin: TwinClient) -> None:
    target = other(live())
    run = deploy(runbooks, "1.0.0")
    assert run.rc == 0, run.tail()
    assert run.report["outcome"] == "SUCCEEDED"
    assert weights()[target] == 100
    assert served(twin)["version"] == "1.0.0"
    assert journal()["facts"]["verified"][target] == "1.0.0"


def under_load(twin: TwinClient) -> SteadyLoad:
    """Users' requests through the HTTPS listener while a runbook runs: every one must be answered 200."""
    return SteadyLoad(f"{twin.control_url}/alb/{PREFIX}-alb/443/api/health", rate=LOAD_RATE)


def assert_no_request_lost(load: SteadyLoad) -> None:
    result = load.result
    assert result.sent > 0
    assert result.failed == 0, result.summary()


def test_a_canary_deploy_moves_traffic_step_by_step(runbooks: Runbooks, twin: TwinClient) -> None:
    source = live()
    target = other(source)
    with under_load(twin) as load:
        run = deploy(runbooks, "1.1.0", "-e", "blue_green_steps=10,50,100")
    assert run.rc == 0, run.tail()
    assert_no_request_lost(load)
    report = run.report
    assert report["outcome"] == "SUCCEEDED"
    assert report["runbook"] == "blue_green" and report["action"] == "deploy"
    assert report["inputs"]["blue_green_version"] == "1.1.0"
    phases = run.phases()
    assert phases[:3] == ["discover", f"stage {target}", f"smoke test {target}"]
    assert phases[3:6] == [f"shift {step}% to {target}" for step in (10, 50, 100)]
    assert all(phase["status"] == "succeeded" for phase in report["phases"])
    assert {g["name"] for g in report["gates"]} >= {"input", "estate", "clean state", "journal"}
    assert all(g["passed"] for g in report["gates"])
    measured = {m["name"]: m for m in report["measurements"]}
    assert measured["time to full shift"]["value"] > 0
    assert measured[f"time to a healthy {target}"]["met"] is True
    listener_changes = [r for r in report["resources"] if r["type"] == "AWS::ElasticLoadBalancingV2::Listener"]
    assert [change["after"][f"{PREFIX}-{target}"] for change in listener_changes] == [10, 50, 100]

    assert weights() == {target: 100, source: 0}
    assert weights(8443)[target] == 100
    status, headers, answer = twin.alb_answer(f"{PREFIX}-alb", 443)
    assert (status, answer["version"], headers["X-Twin-Target-Group"]) == (200, "1.1.0", f"{PREFIX}-{target}")
    assert group(source)["Instances"], "the old color keeps running for a rollback"
    facts = journal()["facts"]
    assert facts["switch"]["state"] == "complete" and facts["switch"]["to_color"] == target
    assert facts["verified"] == {source: "1.0.0", target: "1.1.0"}


def test_deploying_the_live_release_again_changes_nothing(runbooks: Runbooks) -> None:
    before = weights()
    run = deploy(runbooks, "1.1.0")
    assert run.rc == 0, run.tail()
    assert run.report["outcome"] == "SUCCEEDED"
    assert "already serves all traffic" in run.report["summary"]
    assert run.report["resources"] == []
    assert weights() == before


def test_a_dry_run_changes_nothing(runbooks: Runbooks) -> None:
    before, record = weights(), journal()
    run = deploy(runbooks, "1.2.0", "--check")
    assert run.rc == 0, run.tail()
    assert run.report["check_mode"] is True
    assert run.report["outcome"] == "SUCCEEDED"
    assert weights() == before
    assert journal() == record


def test_a_rollback_goes_back_and_a_second_one_changes_nothing(runbooks: Runbooks, twin: TwinClient) -> None:
    source = other(live())
    with under_load(twin) as load:
        run = runbooks.run("rollback.yml")
    assert run.rc == 0, run.tail()
    assert_no_request_lost(load)
    assert run.report["outcome"] == "SUCCEEDED"
    assert weights()[source] == 100
    assert served(twin)["version"] == "1.0.0"
    assert journal()["facts"]["switch"]["state"] == "rolled-back"

    again = runbooks.run("rollback.yml")
    assert again.rc == 0, again.tail()
    assert again.report["resources"] == []
    assert "all traffic is already on " + source in again.report["summary"]
    assert weights()[source] == 100


def test_a_release_that_fails_its_health_checks_gets_no_traffic_nor_a_rollback(
    runbooks: Runbooks, twin: TwinClient, clean_overrides: None
) -> None:
    source = live()
    target = other(source)
    twin.set_app_response("1.2.0", 503, health_check=True)
    run = deploy(runbooks, "1.2.0", "-e", "blue_green_health_timeout=40")
    assert run.rc != 0
    report = run.report
    assert report["outcome"] == "FAILED"
    assert "is not healthy after 40 s" in report["failure"]["message"]
    assert "unhealthy (Target." in report["failure"]["message"]
    assert "Traffic never moved" in report["summary"]
    # Whether or not they had booted by then, once up they answer their checks with the release's 503.
    answered = time.monotonic() + 90
    while time.monotonic() < answered and not all(
        h["TargetHealth"].get("Reason") == "Target.ResponseCodeMismatch"
        for h in elb.describe_target_health(TargetGroupArn=target_group_arns()[target])["TargetHealthDescriptions"]
    ):
        time.sleep(1)
    reasons = {
        h["TargetHealth"].get("Reason")
        for h in elb.describe_target_health(TargetGroupArn=target_group_arns()[target])["TargetHealthDescriptions"]
    }
    assert reasons == {"Target.ResponseCodeMismatch"}
    assert report["phases"][-1]["status"] == "failed"
    assert weights()[source] == 100

    # The color now runs a release that never passed its checks: no rollback sends users there.
    refused = runbooks.run("rollback.yml", "-e", f"blue_green_rollback_to={target}")
    assert refused.rc != 0
    assert refused.report["outcome"] == "REFUSED"
    reason = refused.gate("target color verified")["reason"]
    assert f"{target} now runs release 1.2.0" in reason
    assert "blue_green_rollback_force=true" in reason
    assert weights()[source] == 100


def test_a_deploy_stopped_before_any_traffic_moved_leaves_nothing_to_roll_back(
    runbooks: Runbooks, clean_overrides: None
) -> None:
    source = live()
    target = other(source)
    alarm("ALARM")  # the first step refuses to start under an alarm: after staging and smoke test
    try:
        run = deploy(runbooks, "1.3.0", "-e", "blue_green_steps=10,100")
    finally:
        alarm("OK")
    assert run.rc != 0
    assert run.report["outcome"] == "FAILED"
    assert "Traffic never moved" in run.report["summary"]
    switch = journal()["facts"]["switch"]
    assert (switch["release"], switch["to_color"], switch["moved"]) == ("1.3.0", target, False)

    rollback = runbooks.run("rollback.yml")
    assert rollback.rc == 0, rollback.tail()
    assert "stopped before any traffic moved" in rollback.report["summary"]
    assert rollback.report["resources"] == []
    assert weights()[source] == 100


def test_an_unhealthy_live_color_is_refused_before_any_change(
    runbooks: Runbooks, twin: TwinClient, clean_overrides: None
) -> None:
    source = live()
    instance = group(source)["Instances"][0]["InstanceId"]
    twin.set_target_health(target_group_arns()[source], instance, "unhealthy")
    record = journal()
    run = deploy(runbooks, "1.1.0")
    assert run.rc != 0
    assert run.report["outcome"] == "REFUSED"
    assert f"the live color {source} is not healthy" in run.gate("clean state")["reason"]
    assert journal() == record, "a refused run does not even take the journal"


def test_an_alarm_during_a_canary_step_puts_all_traffic_back(runbooks: Runbooks, clean_overrides: None) -> None:
    source = live()
    target = other(source)
    arn = target_group_arns()[target]
    stop = threading.Event()

    def fire_when_the_target_takes_traffic() -> None:
        while not stop.wait(0.2):
            if weights()[target] > 0:
                alarm("ALARM")
                return

    watcher = threading.Thread(target=fire_when_the_target_takes_traffic, daemon=True)
    watcher.start()
    try:
        run = deploy(runbooks, "1.1.0", "-e", "blue_green_steps=10,50,100", "-e", "blue_green_observe_seconds=20")
    finally:
        stop.set()
        alarm("OK")
    assert arn
    assert run.rc != 0
    report = run.report
    assert report["outcome"] == "ROLLED_BACK"
    assert ALARM in report["failure"]["message"]
    assert f"shift 50% to {target}" not in run.phases()
    assert weights()[source] == 100
    assert journal()["facts"]["switch"]["state"] == "rolled-back"

    after = runbooks.run("rollback.yml")
    assert after.rc == 0, after.tail()
    assert after.report["resources"] == []
    assert weights()[source] == 100


def test_retire_scales_the_idle_color_to_zero_only_while_the_live_one_stands_alone(
    runbooks: Runbooks, twin: TwinClient, clean_overrides: None
) -> None:
    source = live()
    idle = other(source)
    assert group(idle)["DesiredCapacity"] > 0
    instance = group(source)["Instances"][0]["InstanceId"]
    twin.set_target_health(target_group_arns()[source], instance, "unhealthy")
    refused = runbooks.run("retire_old_color.yml")
    assert refused.rc != 0
    assert refused.report["outcome"] == "REFUSED"
    assert f"{idle} stays, it is the way back" in refused.gate("live color proven")["reason"]
    assert group(idle)["DesiredCapacity"] > 0
    twin.clear_target_health()

    dry = runbooks.run("retire_old_color.yml", "--check")
    assert dry.rc == 0, dry.tail()
    assert group(idle)["DesiredCapacity"] > 0, "a dry run changes nothing"

    run = runbooks.run("retire_old_color.yml")
    assert run.rc == 0, run.tail()
    assert run.report["outcome"] == "SUCCEEDED"
    assert [r["id"] for r in run.report["resources"]] == [f"{PREFIX}-app-{idle}"]
    assert (group(idle)["DesiredCapacity"], group(idle)["MinSize"]) == (0, 0)
    assert weights()[source] == 100
    assert journal()["lock"] is None

    again = runbooks.run("retire_old_color.yml")
    assert again.rc == 0, again.tail()
    assert again.report["resources"] == []
    assert f"{idle} is already scaled to zero" in again.report["summary"]


def test_a_deploy_that_scales_the_old_color_down_and_the_rollback_that_brings_it_back(
    runbooks: Runbooks, twin: TwinClient, clean_overrides: None
) -> None:
    source = live()
    target = other(source)
    # Three throttles at discovery, as AWS answers a busy account: retried, not a failed deploy.
    twin.inject_fault("DescribeAutoScalingGroups", kind="throttle", count=3)
    run = deploy(runbooks, "1.1.0", "-e", "blue_green_scale_down_old=true")
    assert run.rc == 0, run.tail()
    assert group(source)["DesiredCapacity"] == 0
    assert twin.faults() == [], "all three throttles were met, and retried"

    refused = runbooks.run("rollback.yml")
    assert refused.rc != 0
    assert refused.report["outcome"] == "REFUSED"
    assert "blue_green_rollback_scale_up=true" in refused.gate("target color running")["reason"]
    assert weights()[target] == 100

    back = runbooks.run("rollback.yml", "-e", "blue_green_rollback_scale_up=true")
    assert back.rc == 0, back.tail()
    assert weights()[source] == 100
    assert group(source)["DesiredCapacity"] == group(target)["DesiredCapacity"] > 0
    assert group(source)["HealthCheckType"] == "ELB"


@pytest.mark.parametrize(
    ("version", "kill_at"),
    [
        ("1.2.0", "Record the switch as started, before any traffic moves"),
        ("1.3.0", "Shift traffic to the new color, then watch the alarms, 50%"),
        ("1.1.0", "Record the switch as complete"),
    ],
    ids=["before-the-shift", "mid-canary", "after-the-last-step"],
)
def test_a_deploy_killed_at_any_point_completes_when_run_again(
    runbooks: Runbooks, twin: TwinClient, version: str, kill_at: str
) -> None:
    source = live()
    target = other(source)
    args = ("-e", f"blue_green_version={version}", "-e", "blue_green_steps=10,50,100", *FAST)
    started = runbooks.start("deploy_blue_green.yml", *args)
    started.wait_for(kill_at)
    time.sleep(1)  # into the task: the step's module is running
    started.kill()
    assert journal()["lock"] is not None, "the killed run still holds the journal"

    again = runbooks.run("deploy_blue_green.yml", *args)
    assert again.rc == 0, again.tail()
    report = again.report
    assert report["outcome"] == "SUCCEEDED"
    assert report["journal"]["took_over"] is not None
    assert "is gone" in report["journal"]["took_over"]["reason"]
    assert weights() == {target: 100, source: 0}
    assert served(twin)["version"] == version
    record = journal()
    assert record["lock"] is None
    assert record["facts"]["switch"] == {**record["facts"]["switch"], "state": "complete", "release": version}
    assert record["facts"]["verified"][target] == version
    if kill_at.startswith("Shift"):
        # Staging and the smoke test were done: the resumed run skips them and goes on from the
        # share AWS shows, 10% or 50% depending on whether the killed step had written its weights.
        assert report["journal"]["resumed_from"]
        assert f"stage {target}" not in again.phases()
        shifts = [p for p in again.phases() if p.startswith("shift")]
        assert shifts in ([f"shift {s}% to {target}" for s in (50, 100)], [f"shift 100% to {target}"])


def test_a_second_deploy_while_one_runs_is_refused_naming_it(runbooks: Runbooks) -> None:
    source = live()
    first = runbooks.start(
        "deploy_blue_green.yml",
        "-e",
        "blue_green_version=1.2.0",
        "-e",
        # One step, watched long enough for the two runs below to meet it holding the journal.
        "blue_green_steps=100",
        "-e",
        "blue_green_observe_seconds=30",
        "-e",
        "blue_green_poll_interval=1",
    )
    first.wait_for("Phase shift 100%")
    holder = journal()["lock"]
    second = deploy(runbooks, "1.3.0")
    rollback = runbooks.run("rollback.yml")
    done = first.finish()

    assert second.rc != 0
    assert second.report["outcome"] == "REFUSED"
    reason = second.gate("journal")["reason"]
    assert holder["run_id"] in reason
    assert rollback.report["outcome"] == "REFUSED"
    assert holder["run_id"] in rollback.gate("journal")["reason"]
    assert done.rc == 0, done.tail()
    assert done.report["run_id"] == holder["run_id"]
    assert weights()[other(source)] == 100
