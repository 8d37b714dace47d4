"""End-to-end tests of the runbooks, run as a user runs them, on one provisioned estate of the twin.

The Molecule scenario `site` leaves the estate it built and verified; these tests run on it rather
than provisioning again (a test run that finds no estate runs site.yml first). Each runbook run gets
a report directory of its own, and the tests assert on its report.json, on AWS and on what the load
balancer serves, not on the wording of the output.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from harness import PREFIX, REPO, Runbooks, publish_release

from twin.client import TwinClient, TwinError, use_running_twin

ENV_FILE = Path(os.environ.get("WEDSYNC_TWIN_STATE", REPO / ".twin")) / "env"


try:
    use_running_twin(ENV_FILE)
except TwinError as error:
    raise pytest.UsageError(str(error)) from None


@pytest.fixture(scope="session")
def twin() -> TwinClient:
    client = TwinClient.from_env()
    if not client.health()["instance_hosts"]:
        raise pytest.UsageError(
            "the runbooks run on real app servers: start the twin without WEDSYNC_TWIN_INSTANCE_HOSTS=0"
        )
    # Health checks at a twentieth of the groups' interval (1.5 s for 30 s): thresholds stay the groups' own.
    client.set_health_check_scale(0.05)
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


# What a test that needs a release serving deploys when the tests before it left none.
FIRST_RELEASE = "0.9.0"


@pytest.fixture(scope="module")
def serving(estate: str, twin: TwinClient, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The release the HTTPS listener serves from real hosts: the one the tests before left, or FIRST_RELEASE."""
    status, body = twin.alb_request(f"{PREFIX}-alb", 443)
    if status != 200:
        publish_release(FIRST_RELEASE)
        deploy = Runbooks(tmp_path_factory.mktemp("deploy")).run(
            "deploy_blue_green.yml",
            *("-e", f"blue_green_version={FIRST_RELEASE}", "-e", "blue_green_steps=100"),
            *("-e", "blue_green_observe_seconds=2", "-e", "blue_green_poll_interval=1"),
        )
        assert deploy.rc == 0, deploy.tail()
        status, body = twin.alb_request(f"{PREFIX}-alb", 443)
    assert status == 200, body
    return body["version"]


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
