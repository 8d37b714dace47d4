"""Running the runbooks as a user runs them, and reading the reports they leave."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import jsonschema

from twin import release
from twin.client import TwinClient

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "meta" / "run_report.schema.json").read_text())
PREFIX = "wedsync-local"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


@dataclass
class Run:
    """One runbook run: its exit code, output and the report it left."""

    rc: int
    output: str
    reports: list[dict[str, Any]] = field(default_factory=list)

    @property
    def report(self) -> dict[str, Any]:
        assert len(self.reports) == 1, f"expected one report, found {len(self.reports)}:\n{self.tail()}"
        return self.reports[0]

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.output.splitlines()[-lines:])

    def gate(self, name: str) -> dict[str, Any]:
        return next(g for g in self.report["gates"] if g["name"] == name)

    def phases(self) -> list[str]:
        return [phase["name"] for phase in self.report["phases"]]


def read_reports(directory: Path) -> list[dict[str, Any]]:
    """Every report.json a run left, each valid against the collection's schema."""
    reports = [json.loads(path.read_text()) for path in sorted(directory.glob("*/report.json"))]
    for report in reports:
        jsonschema.Draft202012Validator(SCHEMA).validate(report)
    return reports


class Runbooks:
    """Runs playbooks/<name> with inventories/local, each run with its own report directory."""

    def __init__(self, reports: Path) -> None:
        self.reports = reports
        self.count = 0

    def _command(self, playbook: str, args: tuple[str, ...]) -> tuple[list[str], dict[str, str], Path]:
        self.count += 1
        report_dir = self.reports / f"{self.count:02d}-{Path(playbook).stem}"
        env = {
            **os.environ,
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "PYTHONUNBUFFERED": "1",
            "WEDSYNC_REPORT_DIR": str(report_dir),
        }
        command = [ANSIBLE_PLAYBOOK, "-i", str(REPO / "inventories" / "local"), str(REPO / "playbooks" / playbook)]
        return [*command, *args], env, report_dir

    def run(self, playbook: str, *args: str) -> Run:
        command, env, report_dir = self._command(playbook, args)
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        return Run(done.returncode, done.stdout + done.stderr, read_reports(report_dir))

    def start(self, playbook: str, *args: str) -> Started:
        command, env, report_dir = self._command(playbook, args)
        process = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        return Started(process, report_dir)


class Started:
    """A runbook run in the background, to be watched, killed or waited for."""

    def __init__(self, process: subprocess.Popen, report_dir: Path) -> None:
        self.process = process
        self.report_dir = report_dir
        self.lines: list[str] = []

    def wait_for(self, text: str, timeout: float = 600) -> None:
        """Read the output until a line contains `text`."""
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            if text in line:
                return
            if time.monotonic() > deadline:
                break
        self.kill()
        raise AssertionError(f"never saw {text!r}:\n" + "".join(self.lines[-60:]))

    def kill(self) -> None:
        """SIGKILL the run and every process it started, as a lost AWX pod or `kill -9` would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)

    def finish(self, timeout: float = 900) -> Run:
        output, _ = self.process.communicate(timeout=timeout)
        return Run(self.process.returncode, "".join(self.lines) + output, read_reports(self.report_dir))


@contextmanager
def replica_behind(twin: TwinClient, replica: str, seconds: float = 2.0) -> Iterator[None]:
    """The replica stops replaying and a write on the primary is at least `seconds` old for it, until the block ends."""
    twin.sql(f"{PREFIX}-db", "CREATE TABLE IF NOT EXISTS e2e_heartbeat (at timestamptz)")
    twin.pause_replay(replica)
    try:
        twin.sql(f"{PREFIX}-db", "INSERT INTO e2e_heartbeat VALUES (now())")
        time.sleep(seconds)
        yield
    finally:
        twin.resume_replay(replica)


def publish_release(version: str, region: str = "us-east-1") -> None:
    """Put release ``version`` of the twin's app in the deployments bucket, as CI would, ready to deploy."""
    s3 = boto3.client("s3", region_name=region)
    s3.put_object(
        Bucket=f"{PREFIX}-deployments-{region}", Key=f"app-v{version}.zip", Body=release.bundle(version, offline=True)
    )
