"""How long one rds_replica_lag check of three replicas takes on the twin, by each source.

    make benchmarks        (or, with the twin up and .twin/env sourced: python benchmarks/replica_lag.py)

Builds its own estate (a primary, two replicas beside it, one in us-west-2) under names of its
own, times CHECKS checks per source, and removes the estate again. Two figures per check: the
module's own elapsed_seconds (discovery and measurement: what a runbook step waits for) and the
wall time of the whole `ansible localhost -m` run (Python and Ansible start-up included).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from twin.client import TwinClient

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHECKS = 5
TARGET_SECONDS = {"postgres": 0.5}
PASSWORD = "benchmark-password"  # a throwaway instance on loopback
PREFIX = f"bench-lag-{os.getpid()}"
REPLICAS = [(f"{PREFIX}-r1", "us-east-1"), (f"{PREFIX}-r2", "us-east-1"), (f"{PREFIX}-dr", "us-west-2")]


def build_estate(twin: TwinClient) -> None:
    east = boto3.client("rds", region_name="us-east-1")
    source = east.create_db_instance(
        DBInstanceIdentifier=PREFIX,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="wedsync",
        MasterUserPassword=PASSWORD,
    )["DBInstance"]
    for identifier, region in REPLICAS:
        source_id = PREFIX if region == "us-east-1" else source["DBInstanceArn"]
        boto3.client("rds", region_name=region).create_db_instance_read_replica(
            DBInstanceIdentifier=identifier, SourceDBInstanceIdentifier=source_id, SourceRegion="us-east-1"
        )
    twin.publish_metrics()  # the CloudWatch source needs a ReplicaLag datapoint per replica


def remove_estate() -> None:
    # Replicas first: deleting a source promotes its replicas, as RDS does.
    for identifier, region in [*REPLICAS, (PREFIX, "us-east-1")]:
        boto3.client("rds", region_name=region).delete_db_instance(
            DBInstanceIdentifier=identifier, SkipFinalSnapshot=True
        )


def check(source: str) -> tuple[float, float]:
    """(the module's elapsed_seconds, the wall time of the ansible run) of one check."""
    args = {"db_instance_identifier": PREFIX, "source": source, "max_lag_seconds": 3600}
    if source == "postgres":
        args["login_password"] = PASSWORD
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
    }
    started = time.perf_counter()
    completed = subprocess.run(
        [BIN / "ansible", "localhost", "-m", "wedsync.platform.rds_replica_lag", "-a", json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - started
    result: dict[str, Any] = json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    if result.get("failed") or len(result["replicas"]) != len(REPLICAS):
        raise SystemExit(f"the {source} check failed: {result.get('msg')}")
    return result["elapsed_seconds"], wall


def main() -> int:
    twin = TwinClient.from_env()
    build_estate(twin)
    try:
        print(f"rds_replica_lag: one check of {len(REPLICAS)} replicas (2 in us-east-1, 1 in us-west-2), {CHECKS} runs")
        # Wall times on a shared machine mean little without how busy it was.
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'source':<12}{'check median':>14}{'min':>8}{'max':>8}{'ansible run median':>21}  target")
        for source in ("postgres", "cloudwatch"):
            check(source)  # warm the twin's connections and caches once, untimed
            runs = [check(source) for _ in range(CHECKS)]
            elapsed = [run[0] for run in runs]
            median = statistics.median(elapsed)
            target = TARGET_SECONDS.get(source)
            verdict = "-" if target is None else f"{'met' if median < target else 'MISSED'} (< {target} s)"
            print(
                f"{source:<12}{median:>12.3f} s{min(elapsed):>6.3f} s{max(elapsed):>6.3f} s"
                f"{statistics.median(run[1] for run in runs):>19.3f} s  {verdict}"
            )
    finally:
        remove_estate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
