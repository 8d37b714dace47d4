"""wedsync.platform.cloudwatch_alarm against the twin: the metric math alarm amazon.aws cannot converge, converging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from twin.client import TwinClient

pytestmark = pytest.mark.twin

MODULE = "wedsync.platform.cloudwatch_alarm"
NAME = "wedsync-test-alb-error-rate-critical"
LB = "app/wedsync-test-alb/50dc6c495c0c9188"
TOPIC = "arn:aws:sns:us-east-1:123456789012:wedsync-test-paging"


def alb_sum(query_id: str, metric: str) -> dict[str, Any]:
    return {
        "id": query_id,
        "metric_stat": {
            "namespace": "AWS/ApplicationELB",
            "metric_name": metric,
            "dimensions": {"LoadBalancer": LB},
            "period": 60,
            "stat": "Sum",
        },
    }


def error_rate(threshold: float = 5) -> dict[str, Any]:
    return {
        "name": NAME,
        "comparison": "GreaterThanThreshold",
        "threshold": threshold,
        "evaluation_periods": 3,
        "treat_missing_data": "notBreaching",
        "metrics": [
            {
                "id": "error_rate",
                "return_data": True,
                "expression": "IF(requests >= 50, 100 * (FILL(target_5xx, 0) + FILL(elb_5xx, 0)) / requests, 0)",
            },
            alb_sum("target_5xx", "HTTPCode_Target_5XX_Count"),
            alb_sum("elb_5xx", "HTTPCode_ELB_5XX_Count"),
            alb_sum("requests", "RequestCount"),
        ],
        "alarm_actions": [TOPIC],
        "ok_actions": [TOPIC],
        "tags": {"Name": NAME, "wedsync:severity": "critical"},
    }


@pytest.fixture
def cloudwatch(twin: TwinClient) -> Iterator[Any]:
    """The twin's CloudWatch without this test's alarm before or after; other state is left alone."""
    client = boto3.client("cloudwatch", region_name="us-east-1")
    client.delete_alarms(AlarmNames=[NAME])
    yield client
    twin.clear_faults()
    client.delete_alarms(AlarmNames=[NAME])


def test_metric_math_alarm_converges_and_follows_changes(
    twin: TwinClient, cloudwatch: Any, ansible_module: Any
) -> None:
    assert ansible_module(MODULE, error_rate(), check=True)["changed"] is True
    assert cloudwatch.describe_alarms(AlarmNames=[NAME])["MetricAlarms"] == []

    twin.inject_fault("PutMetricAlarm", "throttle", count=1)
    created = ansible_module(MODULE, error_rate())
    assert created["changed"] is True
    alarm = cloudwatch.describe_alarms(AlarmNames=[NAME])["MetricAlarms"][0]
    assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["AlarmActions"]) == (5.0, 3, [TOPIC])
    assert {q["Id"] for q in alarm["Metrics"]} == {"error_rate", "target_5xx", "elb_5xx", "requests"}

    assert ansible_module(MODULE, error_rate())["changed"] is False
    assert ansible_module(MODULE, error_rate(), check=True)["changed"] is False

    lowered = ansible_module(MODULE, error_rate(4), diff=True)
    assert lowered["changed"] is True
    assert (lowered["diff"]["before"]["threshold"], lowered["diff"]["after"]["threshold"]) == (5.0, 4.0)
    assert cloudwatch.describe_alarms(AlarmNames=[NAME])["MetricAlarms"][0]["Threshold"] == 4.0

    assert ansible_module(MODULE, {"name": NAME, "state": "absent"})["changed"] is True
    assert ansible_module(MODULE, {"name": NAME, "state": "absent"})["changed"] is False


def test_an_alarm_without_a_result_query_is_refused(ansible_module: Any) -> None:
    args = error_rate()
    args["metrics"][0]["return_data"] = False
    refused = ansible_module(MODULE, args)
    assert refused["failed"] and "exactly one of metrics must have return_data true" in refused["msg"]
