"""The same blue/green switch by alb_traffic_switch and by elb_application_lb: AWS API calls and wall time.

    make benchmarks        (or, with the twin up and .twin/env sourced: python benchmarks/alb_traffic_switch.py)

Builds its own estate (a VPC, two subnets, a security group, an ALB whose HTTP listener on port 80
forwards to blue, target groups blue and green with two running instances each) under names of its
own, and removes it again. Each module moves all of the listener's traffic to the other color,
SWITCHES times in this process, after one untimed warm-up (called as the unit tests call modules,
so its AWS requests can be counted), then ANSIBLE_RUNS times as `ansible localhost -m` (Python and
Ansible start-up included: the time a user waits). Every run must change the listener, and after
each one the listener is read back and asked through the twin's data plane, so a run that switched
nothing fails the benchmark instead of being timed.

What is counted: every HTTP request botocore sends, by operation, during an in-process run (a
paginator's pages and a retried call's attempts count once each), by wrapping
botocore.endpoint.Endpoint._get_response, which botocore calls once per attempt.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args
from botocore.endpoint import Endpoint

from twin.client import TwinClient

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REGION = "us-east-1"
SWITCHES = 6
ANSIBLE_RUNS = 3
PREFIX = f"bench-switch-{os.getpid()}"
COLORS = ("blue", "green")

# The collection as ansible.cfg's collections_path links it, for the in-process runs.
sys.path.insert(0, str(REPO / ".cache" / "collections"))


# -- the estate ----------------------------------------------------------------------------------


def build_estate(estate: dict[str, Any]) -> None:
    """Fills `estate` as it goes, so that what was built is removed even if building fails."""
    ec2 = boto3.client("ec2", region_name=REGION)
    elb = boto3.client("elbv2", region_name=REGION)
    vpc = estate["vpc"] = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    estate["subnets"] = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.77.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    estate["security_group"] = ec2.create_security_group(GroupName=PREFIX, Description="benchmark ALB", VpcId=vpc)[
        "GroupId"
    ]
    estate["alb"] = elb.create_load_balancer(
        Name=PREFIX, Subnets=estate["subnets"], SecurityGroups=[estate["security_group"]]
    )["LoadBalancers"][0]["LoadBalancerArn"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for color in COLORS:
        group = elb.create_target_group(Name=f"{PREFIX}-{color}", Protocol="HTTP", Port=3000, VpcId=vpc)
        arn = estate["groups"][color] = group["TargetGroups"][0]["TargetGroupArn"]
        instances = ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, SubnetId=estate["subnets"][0])
        ids = [instance["InstanceId"] for instance in instances["Instances"]]
        estate["instances"] += ids
        elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": i} for i in ids])
    estate["listener"] = elb.create_listener(
        LoadBalancerArn=estate["alb"], Port=80, Protocol="HTTP", DefaultActions=forward_all(estate, "blue")
    )["Listeners"][0]["ListenerArn"]


def remove_estate(estate: dict[str, Any]) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    elb = boto3.client("elbv2", region_name=REGION)
    if "alb" in estate:
        elb.delete_load_balancer(LoadBalancerArn=estate["alb"])  # its listeners go with it
    for arn in estate["groups"].values():
        elb.delete_target_group(TargetGroupArn=arn)
    if estate["instances"]:
        ec2.terminate_instances(InstanceIds=estate["instances"])
    if "security_group" in estate:
        ec2.delete_security_group(GroupId=estate["security_group"])
    for subnet in estate.get("subnets", []):
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=estate["vpc"])


def forward_all(estate: dict[str, Any], color: str) -> list[dict[str, Any]]:
    return [{"Type": "forward", "TargetGroupArn": estate["groups"][color]}]


def verify(estate: dict[str, Any], twin: TwinClient, color: str, who: str) -> None:
    """The listener forwards every request to `color`, as the API says and as the data plane answers."""
    listener = boto3.client("elbv2", region_name=REGION).describe_listeners(ListenerArns=[estate["listener"]])
    action = listener["Listeners"][0]["DefaultActions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [{"TargetGroupArn": action["TargetGroupArn"]}]
    receiving = {group["TargetGroupArn"] for group in groups if group.get("Weight", 1) > 0}
    if receiving != {estate["groups"][color]}:
        raise SystemExit(f"{who}: the listener should forward everything to {color}, it forwards {groups}")
    status, body = twin.alb_request(PREFIX, 80)
    if status != 200 or body.get("target_group") != f"{PREFIX}-{color}":
        raise SystemExit(f"{who}: a request through the listener should reach {color}, it got {status} {body}")


# -- the two ways of switching -------------------------------------------------------------------


def traffic_switch_args(estate: dict[str, Any], color: str) -> dict[str, Any]:
    other = next(c for c in COLORS if c != color)
    return {
        "region": REGION,
        "load_balancer_name": PREFIX,
        "port": 80,
        "target_groups": [{"name": f"{PREFIX}-{color}", "weight": 100}, {"name": f"{PREFIX}-{other}", "weight": 0}],
    }


def application_lb_args(estate: dict[str, Any], color: str) -> dict[str, Any]:
    # Everything state=present needs to leave the rest of the load balancer as it is.
    return {
        "region": REGION,
        "name": PREFIX,
        "state": "present",
        "subnets": estate["subnets"],
        "security_groups": [estate["security_group"]],
        "purge_listeners": False,
        "purge_tags": False,
        "listeners": [
            {
                "Protocol": "HTTP",
                "Port": 80,
                "DefaultActions": [{"Type": "forward", "TargetGroupName": f"{PREFIX}-{color}"}],
            }
        ],
    }


MODULES: dict[str, tuple[str, Callable[[dict[str, Any], str], dict[str, Any]]]] = {
    "wedsync.platform.alb_traffic_switch": (
        "ansible_collections.wedsync.platform.plugins.modules.alb_traffic_switch",
        traffic_switch_args,
    ),
    "amazon.aws.elb_application_lb": (
        "ansible_collections.amazon.aws.plugins.modules.elb_application_lb",
        application_lb_args,
    ),
}


# -- measuring -----------------------------------------------------------------------------------


@contextlib.contextmanager
def counting_requests() -> Iterator[Counter[str]]:
    """Every HTTP request botocore sends while inside, by operation name."""
    requests: Counter[str] = Counter()
    original = Endpoint._get_response

    def counted(self: Endpoint, request: Any, operation_model: Any, context: Any) -> Any:
        requests[operation_model.name] += 1
        return original(self, request, operation_model, context)

    Endpoint._get_response = counted
    try:
        yield requests
    finally:
        Endpoint._get_response = original


def in_process(module: Any, args: dict[str, Any]) -> tuple[dict[str, Any], float, Counter[str]]:
    """One run of the module's main() in this process: its result, wall time and AWS requests."""
    # Warnings are process-global in Ansible; a real module run is its own process.
    warnings._global_warnings.clear()
    warnings._global_deprecations.clear()
    output = io.StringIO()
    with counting_requests() as requests, patch_module_args(args), contextlib.redirect_stdout(output):
        started = time.perf_counter()
        with contextlib.suppress(SystemExit):  # exit_json and fail_json end with sys.exit
            module.main()
        wall = time.perf_counter() - started
    return json.loads(output.getvalue()), wall, requests


def ansible_run(name: str, args: dict[str, Any]) -> tuple[dict[str, Any], float]:
    """One `ansible localhost -m` run: its result and wall time."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
    }
    started = time.perf_counter()
    completed = subprocess.run(
        [BIN / "ansible", "localhost", "-m", name, "-a", json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - started
    try:
        result = json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, LookupError):
        raise SystemExit(f"{name}: ansible gave no result: {completed.stdout}{completed.stderr}") from None
    return result, wall


def switched(name: str, result: dict[str, Any]) -> None:
    if result.get("failed") or not result.get("changed"):
        raise SystemExit(f"{name}: the switch should have changed the listener: {result.get('msg', result)}")


def measure(name: str, estate: dict[str, Any], twin: TwinClient) -> dict[str, Any]:
    path, make_args = MODULES[name]
    module = importlib.import_module(path)
    # Each module starts from the same listener, all traffic on blue; every run moves it.
    boto3.client("elbv2", region_name=REGION).modify_listener(
        ListenerArn=estate["listener"], DefaultActions=forward_all(estate, "blue")
    )
    colors = itertools.cycle(("green", "blue"))
    runs: list[tuple[float, Counter[str]]] = []
    for index in range(1 + SWITCHES):
        color = next(colors)
        result, wall, requests = in_process(module, make_args(estate, color))
        switched(name, result)
        verify(estate, twin, color, name)
        if index:  # the first run pays for imports and connection set-up
            runs.append((wall, requests))
    ansible_walls = []
    for _ in range(ANSIBLE_RUNS):
        color = next(colors)
        result, wall = ansible_run(name, make_args(estate, color))
        switched(name, result)
        verify(estate, twin, color, name)
        ansible_walls.append(wall)
    return {
        "walls": [wall for wall, _ in runs],
        "requests": [requests for _, requests in runs],
        "ansible": ansible_walls,
    }


def per_switch(requests: list[Counter[str]]) -> tuple[str, str]:
    """Requests per switch in total and by operation; a range where runs differed."""

    def spread(values: list[int]) -> str:
        return str(values[0]) if min(values) == max(values) else f"{min(values)}-{max(values)}"

    operations = sorted({operation for counted in requests for operation in counted})
    total = spread([sum(counted.values()) for counted in requests])
    return total, ", ".join(f"{op} {spread([counted[op] for counted in requests])}" for op in operations)


def report(figures: dict[str, dict[str, Any]]) -> None:
    print(
        f"ALB listener switch, all traffic to the other color (blue/green alternately): per module {SWITCHES} "
        f"switches in process after one warm-up, then {ANSIBLE_RUNS} as `ansible localhost -m`"
    )
    # Wall times on a shared machine mean little without how busy it was.
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    width = max(len(name) for name in figures) + 2
    print(f"{'module':<{width}}{'in process median':>18}{'min':>9}{'max':>9}{'ansible -m median':>19}{'requests':>10}")
    for name, measured in figures.items():
        walls = measured["walls"]
        total, by_operation = per_switch(measured["requests"])
        print(
            f"{name:<{width}}{statistics.median(walls):>16.3f} s{min(walls):>7.3f} s{max(walls):>7.3f} s"
            f"{statistics.median(measured['ansible']):>17.3f} s{total:>10}"
        )
        print(f"{'':<{width}}requests per switch: {by_operation}")
    print(
        "Both do the plain all-to-one switch: elb_application_lb compares a forward action's TargetGroupArn "
        "only, so it cannot express or detect weights (ForwardConfig), such as a 10/90 canary step."
    )


def main() -> int:
    twin = TwinClient.from_env()
    estate: dict[str, Any] = {"instances": [], "groups": {}}
    try:
        build_estate(estate)
        report({name: measure(name, estate, twin) for name in MODULES})
    finally:
        if "vpc" in estate:
            remove_estate(estate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
