"""Integration tests run against the local twin: `make twin-up` (scripts/test.sh starts it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from twin.client import TwinClient, TwinError, use_running_twin

REPO = Path(__file__).resolve().parents[2]
ENV_FILE = Path(os.environ.get("WEDSYNC_TWIN_STATE", REPO / ".twin")) / "env"


try:
    use_running_twin(ENV_FILE)
except TwinError as error:
    raise pytest.UsageError(str(error)) from None


@pytest.fixture(scope="session")
def twin() -> TwinClient:
    client = TwinClient.from_env()
    client.health()
    return client


@pytest.fixture(scope="module")
def clean_twin(twin: TwinClient) -> Iterator[TwinClient]:
    """A twin with no AWS state, faults or overrides, for a module that builds its own estate."""
    twin.reset()
    yield twin
    twin.clear_faults()
    twin.clear_target_health()
    twin.set_transition_seconds(creating=0, modifying=0, rebooting=0, promoting=0)


@pytest.fixture(scope="session")
def aws() -> boto3.Session:
    return boto3.Session(region_name="us-east-1")


def run_module(module: str, args: dict[str, Any], *, check: bool = False, diff: bool = False) -> dict[str, Any]:
    """One run of a module as a user runs it, `ansible localhost -m`, its result as the json callback reports it."""
    command = [str(Path(sys.executable).parent / "ansible"), "localhost", "-m", module, "-a", json.dumps(args)]
    command += ["--check"] * check + ["--diff"] * diff
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_NOCOLOR": "1",
    }
    completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)
    try:
        result = json.loads(completed.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, LookupError):
        pytest.fail(f"ansible gave no result (rc {completed.returncode}): {completed.stdout}{completed.stderr}")
    assert bool(completed.returncode) == bool(result.get("failed")), result
    return result


@pytest.fixture(scope="session")
def ansible_module() -> Callable[..., dict[str, Any]]:
    """`ansible_module("wedsync.platform.budget", {...}, check=True)`: run a module against the twin."""
    return run_module
