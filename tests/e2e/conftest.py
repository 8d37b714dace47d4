"""End-to-end tests of the runbooks, run as a user runs them, on one provisioned estate of the twin.

The Molecule scenario `site` leaves the estate it built and verified; these tests run on it rather
than provisioning again (a session that finds no estate runs site.yml first). Each runbook run gets
a report directory of its own, and the tests assert on its report.json, on AWS and on what the load
balancer serves, not on the wording of the output.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from harness import PREFIX, REPO, Runbooks
from twin.client import TwinClient

ENV_FILE = Path(os.environ.get("WEDSYNC_TWIN_STATE", REPO / ".twin")) / "env"


def _load_twin_env() -> None:
    if os.environ.get("WEDSYNC_TWIN_CONTROL_URL"):
        return
    if not ENV_FILE.exists():
        raise pytest.UsageError("the twin is not running: `make twin-up` first (it writes .twin/env)")
    for line in ENV_FILE.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            os.environ[key] = shlex.split(value)[0] if value else ""


_load_twin_env()


@pytest.fixture(scope="session")
def twin() -> TwinClient:
    client = TwinClient.from_env()
    client.health()
    return client


@pytest.fixture(scope="session")
def estate(twin: TwinClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The estate site.yml builds, as the Molecule scenario `site` left it, or built now."""
    elb = boto3.client("elbv2", region_name="us-east-1")
    names = [lb["LoadBalancerName"] for lb in elb.describe_load_balancers()["LoadBalancers"]]
    if f"{PREFIX}-alb" not in names:
        site = Runbooks(tmp_path_factory.mktemp("site")).run("site.yml")
        assert site.rc == 0, site.tail()
    return PREFIX


@pytest.fixture
def runbooks(estate: str, tmp_path: Path) -> Runbooks:
    return Runbooks(tmp_path)


@pytest.fixture
def clean_overrides(twin: TwinClient) -> Iterator[None]:
    """Whatever a test makes fail in the twin is put right afterwards."""
    yield
    twin.clear_faults()
    twin.clear_target_health()
    twin.clear_app_responses()
