"""wedsync.platform.cloudwatch_dashboard and cloudwatch_dashboard_info against the twin, run as a user runs them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from twin.client import TwinClient

pytestmark = pytest.mark.twin

MODULE = "wedsync.platform.cloudwatch_dashboard"
NAME = "wedsync-test-application-us-east-1"


def body(title: str = "Requests per minute") -> dict[str, Any]:
    return {
        "widgets": [
            {
                "type": "metric",
                "x": 0,
                "y": 0,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": "us-east-1",
                    "stat": "Sum",
                    "period": 60,
                    "metrics": [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", "app/wedsync-test-alb/1"]],
                },
            }
        ]
    }


@pytest.fixture
def cloudwatch(twin: TwinClient) -> Iterator[Any]:
    """The twin's CloudWatch, without this test's dashboard before or after; other state is left alone."""
    client = boto3.client("cloudwatch", region_name="us-east-1")
    forget(client)
    yield client
    twin.clear_faults()
    forget(client)


def forget(cloudwatch: Any) -> None:
    with contextlib.suppress(cloudwatch.exceptions.ResourceNotFound):
        cloudwatch.delete_dashboards(DashboardNames=[NAME])


def stored(cloudwatch: Any) -> dict[str, Any]:
    return json.loads(cloudwatch.get_dashboard(DashboardName=NAME)["DashboardBody"])


def test_dashboard_lifecycle(cloudwatch: Any, ansible_module: Any) -> None:
    predicted = ansible_module(MODULE, {"name": NAME, "body": body()}, check=True, diff=True)
    assert predicted["changed"] is True
    assert predicted["dashboard"]["body"] == body()
    assert predicted["diff"]["before"] == {}
    assert NAME not in [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]

    created = ansible_module(MODULE, {"name": NAME, "body": json.dumps(body())})
    assert created["changed"] is True
    assert created["dashboard"]["arn"].endswith(f":dashboard/{NAME}")
    assert stored(cloudwatch) == body()
    assert ansible_module(MODULE, {"name": NAME, "body": body()})["changed"] is False
    assert ansible_module(MODULE, {"name": NAME, "body": body()}, check=True)["changed"] is False

    renamed = ansible_module(MODULE, {"name": NAME, "body": body("Requests")}, diff=True)
    assert renamed["changed"] is True
    assert renamed["diff"]["before"]["body"]["widgets"][0]["properties"]["title"] == "Requests per minute"
    assert stored(cloudwatch)["widgets"][0]["properties"]["title"] == "Requests"

    found = ansible_module("wedsync.platform.cloudwatch_dashboard_info", {"names": [NAME]})
    assert [d["name"] for d in found["dashboards"]] == [NAME]
    assert found["dashboards"][0]["body"] == body("Requests")

    assert ansible_module(MODULE, {"name": NAME, "state": "absent"})["changed"] is True
    assert ansible_module(MODULE, {"name": NAME, "state": "absent"})["changed"] is False


def test_a_throttled_put_is_retried(twin: TwinClient, cloudwatch: Any, ansible_module: Any) -> None:
    twin.inject_fault("PutDashboard", "throttle", count=2)
    assert ansible_module(MODULE, {"name": NAME, "body": body()})["changed"] is True
    assert [f for f in twin.faults() if f["action"] == "PutDashboard"] == []
    assert stored(cloudwatch) == body()


def test_bad_input_is_refused_before_any_call(ansible_module: Any) -> None:
    no_widgets = ansible_module(MODULE, {"name": NAME, "body": {"rows": []}})
    assert no_widgets["failed"] and "'widgets' list" in no_widgets["msg"]
    bad_name = ansible_module(MODULE, {"name": "a/b", "body": body()})
    assert bad_name["failed"] and "letters, digits" in bad_name["msg"]
