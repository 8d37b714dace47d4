"""Integration tests run against the local twin: `make twin-up` (scripts/test.sh starts it)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from twin.client import TwinClient

ENV_FILE = Path(__file__).resolve().parents[2] / ".twin" / "env"


def _load_twin_env() -> None:
    if os.environ.get("WEDSYNC_TWIN_CONTROL_URL"):
        return
    if not ENV_FILE.exists():
        raise pytest.UsageError("the twin is not running: `make twin-up` first (it writes .twin/env)")
    for line in ENV_FILE.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            os.environ[key] = shlex.split(value)[0] if value else ""


_load_twin_env()


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
