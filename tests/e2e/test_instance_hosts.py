"""Every app server of the estate is a real host: a systemd Debian container per running instance,
booted by cloud-init from the launch template's user data (configuration and secrets read from AWS,
the release fetched from the deployments bucket and run under systemd), answering through the load
balancer, with target health from real HTTP health checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from harness import PREFIX, REPO

from twin.client import TwinClient

ANSIBLE_BIN = Path(sys.executable).parent
elb = boto3.client("elbv2", region_name="us-east-1")
autoscaling = boto3.client("autoscaling", region_name="us-east-1")


def podman(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=False)


def on_host(container: str, *command: str) -> str:
    return podman("exec", container, *command).stdout.strip()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def live_group() -> dict[str, Any]:
    balancer = elb.describe_load_balancers(Names=[f"{PREFIX}-alb"])["LoadBalancers"][0]
    listener = next(
        li
        for li in elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
        if li["Port"] == 443
    )
    action = listener["DefaultActions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": action["TargetGroupArn"]}]
    arn = max(groups, key=lambda g: g.get("Weight", 1))["TargetGroupArn"]
    color = elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]["TargetGroupName"].rsplit("-", 1)[1]
    return {"arn": arn, "color": color}


def health(arn: str) -> dict[str, dict[str, Any]]:
    descriptions = elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    return {d["Target"]["Id"]: d["TargetHealth"] for d in descriptions}


@pytest.fixture
def live(serving: str) -> dict[str, Any]:
    """The live colour's group and target group, and the release it serves."""
    return {**live_group(), "release": serving}


def hosts_by_instance(twin: TwinClient) -> dict[str, dict[str, Any]]:
    return {host["instance_id"]: host for host in twin.instances() if host["state"] == "running"}


def test_every_running_instance_is_a_booted_host_running_the_release(live: dict[str, Any], twin: TwinClient) -> None:
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[f"{PREFIX}-app-{live['color']}"])
    instances = [i["InstanceId"] for i in group["AutoScalingGroups"][0]["Instances"]]
    assert instances
    hosts = hosts_by_instance(twin)
    for instance in instances:
        container = hosts[instance]["container"]
        assert podman("container", "inspect", "--format", "{{.State.Status}}", container).stdout.strip() == "running"
        assert "status: done" in on_host(container, "cloud-init", "status")
        assert on_host(container, "systemctl", "is-active", "wedsync-app.service") == "active"
        assert on_host(container, "readlink", "/opt/wedsync/current") == f"/opt/wedsync/releases/{live['release']}"
        # Secrets and settings were read from AWS into /run at boot, never written to the image.
        assert on_host(container, "stat", "-c", "%a %U", "/run/wedsync/secrets.env") == "600 root"


def test_the_load_balancer_forwards_to_the_app_itself(live: dict[str, Any], twin: TwinClient) -> None:
    answers = [twin.alb_request(f"{PREFIX}-alb", 443) for _ in range(6)]
    assert {status for status, _ in answers} == {200}
    assert {body["version"] for _, body in answers} == {live["release"]}
    # A worker's pid: the answer came from the app's process, not from the twin.
    assert all(isinstance(body["worker"], int) for _, body in answers)
    status, deep = twin.alb_request(f"{PREFIX}-alb", 443, "/api/health/deep")
    assert status == 200, deep
    assert deep["failing"] == []


def test_a_stopped_app_fails_its_health_checks_and_passes_them_again(live: dict[str, Any], twin: TwinClient) -> None:
    instance, host = next(iter((i, h) for i, h in hosts_by_instance(twin).items() if i in health(live["arn"])))
    podman("exec", host["container"], "systemctl", "stop", "wedsync-app.service")
    try:
        unhealthy = wait_for(
            f"{instance} unhealthy",
            lambda: health(live["arn"])[instance]["State"] == "unhealthy" and health(live["arn"])[instance],
        )
        assert unhealthy["Reason"] == "Target.FailedHealthChecks"
        # The load balancer sends users to the others only.
        assert {twin.alb_request(f"{PREFIX}-alb", 443)[0] for _ in range(4)} == {200}
    finally:
        podman("exec", host["container"], "systemctl", "start", "wedsync-app.service")
    wait_for(f"{instance} healthy again", lambda: health(live["arn"])[instance]["State"] == "healthy")


def test_a_terminated_instance_takes_its_host_with_it_and_its_replacement_boots(
    live: dict[str, Any], twin: TwinClient
) -> None:
    name = f"{PREFIX}-app-{live['color']}"
    before = {
        i["InstanceId"]
        for i in autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0][
            "Instances"
        ]
    }
    victim = sorted(before)[0]
    container = hosts_by_instance(twin)[victim]["container"]
    autoscaling.terminate_instance_in_auto_scaling_group(InstanceId=victim, ShouldDecrementDesiredCapacity=False)
    wait_for(f"{container} removed", lambda: podman("container", "exists", container).returncode == 1)
    after = wait_for(
        "a replacement",
        lambda: (
            {
                i["InstanceId"]
                for i in autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[name])["AutoScalingGroups"][0][
                    "Instances"
                ]
            }
            - before
        ),
    )
    (replacement,) = after
    wait_for(f"{replacement} healthy", lambda: health(live["arn"]).get(replacement, {}).get("State") == "healthy")


def test_the_inventory_lists_the_app_servers_by_color_and_ansible_reaches_them(
    live: dict[str, Any], twin: TwinClient
) -> None:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    graph = subprocess.run(
        [
            ANSIBLE_BIN / "ansible-inventory",
            "-i",
            str(REPO / "inventories" / "local"),
            "--graph",
            f"color_{live['color']}",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout
    in_service = set(health(live["arn"]))
    assert in_service and all(f"--{instance}" in graph for instance in in_service), graph
    pinged = subprocess.run(
        [
            ANSIBLE_BIN / "ansible",
            "-i",
            str(REPO / "inventories" / "local"),
            f"color_{live['color']}",
            "-m",
            "ansible.builtin.ping",
            "-o",
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert pinged.returncode == 0, pinged.stdout + pinged.stderr
    assert {line.split(" | ")[0] for line in pinged.stdout.splitlines() if " | SUCCESS" in line} == in_service


def test_the_app_servers_boot_on_the_os_baseline_and_the_role_finds_nothing_to_change(live: dict[str, Any]) -> None:
    """host_baseline reaches the servers in their user data; run over the inventory in check mode, as
    an SRE checks a fleet for drift (roles/host_baseline/README.md), it reports no change."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.json",
    }
    checked = subprocess.run(
        [
            *(ANSIBLE_BIN / "ansible", "-i", str(REPO / "inventories" / "local"), f"color_{live['color']}"),
            *("--become", "--check", "--diff"),
            *("-m", "ansible.builtin.include_role", "-a", "name=wedsync.platform.host_baseline"),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    run = json.loads(checked.stdout)
    in_service = set(health(live["arn"]))
    assert set(run["stats"]) == in_service
    changed = [
        f"{host}: {task['task']['name']}"
        for play in run["plays"]
        for task in play["tasks"]
        for host, result in task["hosts"].items()
        if result.get("changed")
    ]
    assert changed == [], changed
    container = f"wedsync-twin-{sorted(in_service)[0]}"
    # The app started after the baseline's systemd defaults took effect (the process itself gets at
    # most the container's 16384: docs/twin.md, Limits).
    app_limits = on_host(container, "systemctl", "show", "--property=LimitNOFILE,LimitNOFILESoft", "wedsync-app")
    assert app_limits.split() == ["LimitNOFILE=65536", "LimitNOFILESoft=65536"]
    assert on_host(container, "readlink", "/etc/localtime").endswith("/UTC")
    assert on_host(container, "systemctl", "is-active", "chrony", "apt-daily-upgrade.timer").split() == ["active"] * 2
