"""The Auto Scaling layer describes groups by name, across pages, and never asks AWS for every group."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from ansible_collections.wedsync.platform.plugins.module_utils._autoscaling import (
    AutoScalingError,
    describe_auto_scaling_groups,
    enable_metrics_collection,
)
from botocore.stub import Stubber


@pytest.fixture
def autoscaling(monkeypatch) -> Iterator[tuple[object, Stubber]]:
    """An Auto Scaling client that answers only what the test queued, checking each request against the model."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("autoscaling", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def group(name: str) -> dict:
    return {
        "AutoScalingGroupName": name,
        "MinSize": 0,
        "MaxSize": 4,
        "DesiredCapacity": 0,
        "DefaultCooldown": 300,
        "AvailabilityZones": ["us-east-1a"],
        "HealthCheckType": "EC2",
        "CreatedTime": datetime(2026, 12, 7, tzinfo=UTC),
    }


def test_no_names_is_no_groups_without_asking_aws(autoscaling) -> None:
    client, _ = autoscaling  # nothing queued: any call would fail
    assert describe_auto_scaling_groups(client, []) == []


def test_groups_are_described_by_name_across_pages(autoscaling) -> None:
    client, stubber = autoscaling
    names = ["app-blue", "app-green"]
    stubber.add_response(
        "describe_auto_scaling_groups",
        {"AutoScalingGroups": [group("app-blue")], "NextToken": "t1"},
        {"AutoScalingGroupNames": names},
    )
    stubber.add_response(
        "describe_auto_scaling_groups",
        {"AutoScalingGroups": [group("app-green")]},
        {"AutoScalingGroupNames": names, "NextToken": "t1"},
    )
    found = describe_auto_scaling_groups(client, names)
    assert [g["AutoScalingGroupName"] for g in found] == names


def test_metrics_are_collected_at_the_one_granularity(autoscaling) -> None:
    client, stubber = autoscaling
    expected = {"AutoScalingGroupName": "app-blue", "Metrics": ["GroupMinSize"], "Granularity": "1Minute"}
    stubber.add_response("enable_metrics_collection", {}, expected)
    enable_metrics_collection(client, "app-blue", ["GroupMinSize"])


def test_an_error_is_the_service_error(autoscaling) -> None:
    client, stubber = autoscaling
    stubber.add_client_error("describe_auto_scaling_groups", "AccessDenied", http_status_code=403)
    with pytest.raises(AutoScalingError, match="Failed to describe Auto Scaling groups"):
        describe_auto_scaling_groups(client, ["app-blue"])
