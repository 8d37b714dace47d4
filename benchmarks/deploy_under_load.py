"""Blue/green deploys and a rollback under a steady load: requests sent, failed and latency percentiles.

    make benchmarks        (or, with the twin up and .twin/env sourced: python benchmarks/deploy_under_load.py)

On the estate site.yml builds (provisioned first when the twin has none), with real app servers, side
by side in one run and under the same load (RATE GET requests a second to /api/health through the ALB's
HTTPS listener, twin.load.SteadyLoad): a canary deploy (10%, 50%, 100%), a deploy in one step, and the
rollback from it. Each row: the runbook's outcome and wall time, requests sent and failed, and the p50,
p95 and p99 latency of the answered requests. A runbook that fails, or a request that fails, fails the
benchmark. The figures are the twin's data plane on this machine, not production's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from twin import release
from twin.client import TwinClient
from twin.load import SteadyLoad

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PREFIX = "wedsync-local"
RATE = 20
RELEASES = ("7.0.0", "7.1.0", "7.2.0")
FAST = ("-e", "blue_green_observe_seconds=5", "-e", "blue_green_poll_interval=1")


def playbook(name: str, *args: str) -> tuple[int, float]:
    """Run playbooks/<name> on the local inventory: its exit code and wall time."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "WEDSYNC_REPORT_DIR": str(REPO / ".cache" / "bench"),
    }
    started = time.monotonic()
    done = subprocess.run(
        [BIN / "ansible-playbook", "-i", REPO / "inventories" / "local", REPO / "playbooks" / name, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        print(done.stdout[-3000:], done.stderr[-2000:], sep="\n", file=sys.stderr)
    return done.returncode, time.monotonic() - started


def ensure_estate(twin: TwinClient) -> None:
    names = [
        lb["LoadBalancerName"]
        for lb in boto3.client("elbv2", region_name="us-east-1").describe_load_balancers()["LoadBalancers"]
    ]
    if f"{PREFIX}-alb" not in names:
        print("no estate on this twin: site.yml first", flush=True)
        if playbook("site.yml")[0]:
            raise SystemExit("site.yml failed")
    twin.set_health_check_scale(0.05)
    s3 = boto3.client("s3", region_name="us-east-1")
    for version in RELEASES:
        s3.put_object(
            Bucket=f"{PREFIX}-deployments-us-east-1",
            Key=f"app-v{version}.zip",
            Body=release.bundle(version, offline=True),
        )
    # A release serving before the timed runs, so that each deploy moves live traffic.
    if playbook(
        "deploy_blue_green.yml", "-e", f"blue_green_version={RELEASES[0]}", "-e", "blue_green_steps=100", *FAST
    )[0]:
        raise SystemExit("the first deploy failed")


def under_load(twin: TwinClient, name: str, *args: str) -> dict[str, Any]:
    url = f"{twin.control_url}/alb/{PREFIX}-alb/443/api/health"
    with SteadyLoad(url, rate=RATE) as load:
        rc, seconds = playbook(name, *args)
    return {"rc": rc, "runbook_seconds": round(seconds, 1), **load.result.summary()}


def main() -> int:
    twin = TwinClient.from_env()
    ensure_estate(twin)
    rows = {
        "canary deploy 10,50,100": under_load(
            twin,
            "deploy_blue_green.yml",
            "-e",
            f"blue_green_version={RELEASES[1]}",
            "-e",
            "blue_green_steps=10,50,100",
            *FAST,
        ),
        "deploy in one step": under_load(
            twin,
            "deploy_blue_green.yml",
            "-e",
            f"blue_green_version={RELEASES[2]}",
            "-e",
            "blue_green_steps=100",
            *FAST,
        ),
        "rollback": under_load(twin, "rollback.yml"),
    }
    print(f"\n{RATE} requests a second through {PREFIX}-alb:443 while each runbook runs (the twin's data plane)\n")
    print(f"{'':26} {'rc':>3} {'runbook s':>10} {'sent':>6} {'failed':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for name, row in rows.items():
        p50, p95, p99 = (f"{row[k]:.1f}" if row[k] is not None else "-" for k in ("p50_ms", "p95_ms", "p99_ms"))
        print(
            f"{name:26} {row['rc']:>3} {row['runbook_seconds']:>10} {row['sent']:>6} {row['failed']:>7} "
            f"{p50:>8} {p95:>8} {p99:>8}"
        )
    print(json.dumps(rows, indent=2, default=str))
    return 1 if any(row["rc"] or row["failed"] for row in rows.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
