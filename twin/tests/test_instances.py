"""The instances plane's decisions, on moto's EC2 with podman recorded instead of called: one host per
running instance, seeded as EC2's metadata would seed it, stopped, started and removed with it, and
the release's fault file. The hosts themselves boot in tests/e2e/test_instance_hosts.py."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from twin import hosts, instances
from twin.instances import InstancePlane

USER_DATA = "#cloud-config\nruncmd:\n  - [echo, hello]\n"


class Calls:
    def __init__(self) -> None:
        self.made: list[tuple[str, Any]] = []

    def named(self, kind: str) -> list[Any]:
        return [args for made, args in self.made if made == kind]


@pytest.fixture
def podman(monkeypatch: pytest.MonkeyPatch) -> Calls:
    calls = Calls()
    monkeypatch.setattr(hosts, "ensure_app_image", lambda: "localhost/app-image")
    monkeypatch.setattr(
        hosts,
        "launch",
        lambda name, image, *options, hostname=None: calls.made.append(("launch", (name, image, options, hostname))),
    )
    monkeypatch.setattr(hosts, "stop", lambda name: calls.made.append(("stop", name)))
    monkeypatch.setattr(hosts, "resume", lambda name: calls.made.append(("resume", name)))
    monkeypatch.setattr(hosts, "remove", lambda names: calls.made.append(("remove", list(names))))
    return calls


class FakeCA:
    def __init__(self, directory: Path) -> None:
        self.bundle = directory / "ca.pem"

    def ensure(self) -> Path:
        self.bundle.write_text("ca")
        return self.bundle


@pytest.fixture
def ec2(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("ec2", region_name="us-west-2")


@pytest.fixture
def plane(tmp_path: Path) -> InstancePlane:
    return InstancePlane(tmp_path / "instances", FakeCA(tmp_path), lambda: "http://127.0.0.1:4566")  # type: ignore[arg-type]


def run_instance(ec2: Any, version: str = "1.2.3") -> str:
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    reservation = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        UserData=USER_DATA,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "wedsync:version", "Value": version}]}],
    )
    return reservation["Instances"][0]["InstanceId"]


def settle(plane: InstancePlane) -> None:
    plane.reconcile()
    plane.wait_idle(timeout=10)


def test_a_running_instance_gets_one_host_seeded_as_ec2_would(ec2: Any, plane: InstancePlane, podman: Calls) -> None:
    instance_id = run_instance(ec2)
    settle(plane)
    settle(plane)
    [(name, image, options, hostname)] = podman.named("launch")
    assert (name, image) == (f"wedsync-twin-{instance_id}", "localhost/app-image")
    assert list(options[:2]) == ["--network", "host"]
    seed = plane.directory / instance_id / "seed"
    assert f"{seed}:{instances.SEED_MOUNT}:ro" in options
    meta = yaml.safe_load((seed / "meta-data").read_text())
    assert meta["instance-id"] == instance_id
    assert meta["local-ipv4"] == "127.77.0.2" == plane.address(instance_id)
    assert meta["tags"]["instance"]["wedsync:version"] == "1.2.3"
    assert meta["placement"]["region"] == "us-west-2"
    assert hostname == meta["local-hostname"]
    assert (seed / "user-data").read_text() == USER_DATA
    environment = (plane.directory / instance_id / "systemd.conf").read_text()
    for expected in ('"AWS_ENDPOINT_URL=http://127.0.0.1:4566"', '"AWS_REGION=us-west-2"', '"HOST=127.77.0.2"'):
        assert expected in environment


def test_each_host_has_its_own_address(ec2: Any, plane: InstancePlane, podman: Calls) -> None:
    first, second = run_instance(ec2), run_instance(ec2)
    settle(plane)
    assert {plane.address(first), plane.address(second)} == {"127.77.0.2", "127.77.0.3"}


def test_the_host_follows_its_instance_through_stop_start_and_termination(
    ec2: Any, plane: InstancePlane, podman: Calls
) -> None:
    instance_id = run_instance(ec2)
    name = f"wedsync-twin-{instance_id}"
    settle(plane)
    ec2.stop_instances(InstanceIds=[instance_id])
    settle(plane)
    assert podman.named("stop") == [name]
    assert plane.address(instance_id) is None
    ec2.start_instances(InstanceIds=[instance_id])
    settle(plane)
    assert podman.named("resume") == [name]
    ec2.terminate_instances(InstanceIds=[instance_id])
    settle(plane)
    settle(plane)
    assert podman.named("remove") == [[name]]
    assert plane.address(instance_id) is None


def test_a_host_that_cannot_start_is_failed_with_the_reason(
    ec2: Any, plane: InstancePlane, podman: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise hosts.HostError("podman run failed")

    monkeypatch.setattr(hosts, "launch", refuse)
    instance_id = run_instance(ec2)
    settle(plane)
    [host] = plane.public()
    assert (host["instance_id"], host["state"], host["error"]) == (instance_id, "failed", "podman run failed")
    assert plane.address(instance_id) is None


def test_a_release_told_to_fail_gets_its_fault_file_now_and_at_launch(
    ec2: Any, plane: InstancePlane, podman: Calls
) -> None:
    failing, other = run_instance(ec2, "2.0.0"), run_instance(ec2, "1.0.0")
    settle(plane)
    assert plane.set_fault("2.0.0", {"status": 500, "health_check": True}) == [failing]
    fault = plane.directory / failing / "fault" / instances.FAULT_FILE
    assert json.loads(fault.read_text()) == {"status": 500, "health_check": True}
    assert not (plane.directory / other / "fault" / instances.FAULT_FILE).exists()
    later = run_instance(ec2, "2.0.0")
    settle(plane)
    assert (plane.directory / later / "fault" / instances.FAULT_FILE).exists()
    plane.clear_faults()
    assert not fault.exists()


def test_user_data_reaches_the_seed_decoded() -> None:
    class Encoded:
        def as_bytes(self) -> bytes:
            return base64.b64encode(b"#!/bin/sh\necho hi\n")

    assert instances._user_data(type("Instance", (), {"user_data": Encoded()})()) == b"#!/bin/sh\necho hi\n"
    assert instances._user_data(type("Instance", (), {"user_data": None})()) == b""
