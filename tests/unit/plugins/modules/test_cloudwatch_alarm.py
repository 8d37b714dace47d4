"""cloudwatch_alarm: one canonical shape for what is asked and what CloudWatch says, and the module against moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import cloudwatch_alarm
from moto import mock_aws

REGION = "us-east-1"
LB = "app/it-alb/50dc6c495c0c9188"
TOPIC = "arn:aws:sns:us-east-1:123456789012:it-alerts"
PAGER = "arn:aws:sns:us-east-1:123456789012:it-paging"


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


ERROR_RATE = [
    {"id": "error_rate", "expression": "100 * FILL(errors, 0) / requests", "label": "5xx %", "return_data": True},
    alb_sum("errors", "HTTPCode_Target_5XX_Count"),
    alb_sum("requests", "RequestCount"),
]


def math_args(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "it-alb-error-rate-critical",
        "comparison": "GreaterThanThreshold",
        "threshold": 5,
        "evaluation_periods": 3,
        "treat_missing_data": "notBreaching",
        "metrics": ERROR_RATE,
        "alarm_actions": [PAGER, TOPIC],
        "ok_actions": [TOPIC],
        "tags": {"Name": "it-alb-error-rate-critical", "wedsync:severity": "critical"},
        **overrides,
    }


def p95_args(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "it-alb-response-time-warning",
        "description": "p95 above 500 ms",
        "namespace": "AWS/ApplicationELB",
        "metric_name": "TargetResponseTime",
        "dimensions": {"LoadBalancer": LB},
        "extended_statistic": "p95",
        "evaluate_low_sample_count_percentile": "ignore",
        "period": 60,
        "evaluation_periods": 5,
        "comparison": "GreaterThanThreshold",
        "threshold": 0.5,
        "treat_missing_data": "notBreaching",
        "alarm_actions": [TOPIC],
        **overrides,
    }


# -- pure logic --------------------------------------------------------------------------------


def defaults(args: dict[str, Any]) -> dict[str, Any]:
    """The parameters as AnsibleModule hands them over: every option present."""
    base = dict.fromkeys(
        (
            "description",
            "datapoints_to_alarm",
            "namespace",
            "metric_name",
            "statistic",
            "extended_statistic",
            "evaluate_low_sample_count_percentile",
            "period",
            "unit",
            "metrics",
            "tags",
            "comparison",
            "threshold",
            "evaluation_periods",
        )
    )
    base |= {
        "state": "present",
        "actions_enabled": True,
        "alarm_actions": [],
        "ok_actions": [],
        "insufficient_data_actions": [],
        "treat_missing_data": "missing",
        "dimensions": {},
        "purge_tags": True,
    }
    params = base | args
    params["metrics"] = [
        {"expression": None, "label": None, "return_data": False, "period": None, "metric_stat": None} | q
        for q in params["metrics"] or []
    ]
    for query in params["metrics"]:
        if query["metric_stat"]:
            query["metric_stat"] = {"unit": None} | query["metric_stat"]
    return params


def test_what_is_asked_equals_what_cloudwatch_describes_after_the_put() -> None:
    for args in (math_args(), p95_args()):
        wanted = cloudwatch_alarm.desired_alarm(defaults(args))
        request = cloudwatch_alarm.put_request(wanted)
        described = {**request, "AlarmArn": "arn", "StateValue": "OK", "Metrics": request.get("Metrics", [])}
        assert cloudwatch_alarm.configuration(cloudwatch_alarm.current_alarm(described, {})) == wanted


def test_actions_are_compared_as_sets_and_datapoints_default_to_every_period() -> None:
    wanted = cloudwatch_alarm.desired_alarm(defaults(math_args()))
    assert wanted["alarm_actions"] == [TOPIC, PAGER]
    assert wanted["datapoints_to_alarm"] == 3


def test_an_omitted_return_data_is_true_as_cloudwatch_reads_it() -> None:
    query = cloudwatch_alarm.query_from_api({"Id": "e", "Expression": "1"})
    assert query["return_data"] is True


def test_input_errors_are_said_before_any_call() -> None:
    assert cloudwatch_alarm.input_errors(defaults({"name": "x"})) == [
        "comparison is required",
        "threshold is required",
        "evaluation_periods is required",
        "namespace is required without metrics",
        "metric_name is required without metrics",
        "period is required without metrics",
        "give exactly one of statistic and extended_statistic",
    ]
    no_result = [dict(q, return_data=False) for q in ERROR_RATE]
    assert "exactly one of metrics must have return_data true" in " ".join(
        cloudwatch_alarm.input_errors(defaults(math_args(metrics=no_result)))
    )
    both = [{"id": "e", "expression": "1", "return_data": True, "metric_stat": ERROR_RATE[1]["metric_stat"]}]
    errors = cloudwatch_alarm.input_errors(defaults(math_args(metrics=both)))
    assert "metrics id e: give exactly one" in " ".join(errors)
    assert "datapoints_to_alarm must be between" in " ".join(
        cloudwatch_alarm.input_errors(defaults(p95_args(datapoints_to_alarm=9)))
    )


# -- against moto ------------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch) -> Any:
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("cloudwatch", region_name=REGION)


def run(capsys, check_mode: bool = False, diff: bool = False, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        cloudwatch_alarm.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def described(cloudwatch, name: str) -> dict[str, Any]:
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]


def test_check_mode_predicts_a_new_alarm_and_creates_nothing(aws, capsys) -> None:
    result = run(capsys, check_mode=True, diff=True, **math_args())
    assert result["changed"]
    assert result["alarm"]["threshold"] == 5.0
    assert result["alarm"]["arn"] == ""
    assert result["alarm"]["tags"]["wedsync:severity"] == "critical"
    assert result["diff"]["before"] == {}
    assert aws.describe_alarms()["MetricAlarms"] == []


def test_a_metric_math_alarm_is_created_then_converges(aws, capsys) -> None:
    created = run(capsys, **math_args())
    assert created["changed"]
    alarm = described(aws, "it-alb-error-rate-critical")
    assert alarm["Threshold"] == 5.0
    assert {q["Id"] for q in alarm["Metrics"]} == {"error_rate", "errors", "requests"}
    assert sorted(alarm["AlarmActions"]) == [TOPIC, PAGER]
    tags = aws.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    wanted_tags = {"Name": "it-alb-error-rate-critical", "wedsync:severity": "critical"}
    assert {t["Key"]: t["Value"] for t in tags} == wanted_tags
    assert not run(capsys, **math_args())["changed"]
    assert not run(capsys, check_mode=True, **math_args(alarm_actions=[TOPIC, PAGER]))["changed"]


def test_a_percentile_alarm_converges(aws, capsys) -> None:
    assert run(capsys, **p95_args())["changed"]
    alarm = described(aws, "it-alb-response-time-warning")
    assert alarm["ExtendedStatistic"] == "p95"
    assert alarm["EvaluateLowSampleCountPercentile"] == "ignore"
    assert not run(capsys, **p95_args())["changed"]


def test_a_new_threshold_or_expression_is_a_change_shown_in_the_diff(aws, capsys) -> None:
    run(capsys, **math_args())
    predicted = run(capsys, check_mode=True, diff=True, **math_args(threshold=4))
    assert predicted["changed"]
    assert (predicted["diff"]["before"]["threshold"], predicted["diff"]["after"]["threshold"]) == (5.0, 4.0)
    assert described(aws, "it-alb-error-rate-critical")["Threshold"] == 5.0
    assert run(capsys, **math_args(threshold=4))["changed"]
    assert described(aws, "it-alb-error-rate-critical")["Threshold"] == 4.0
    new_math = [dict(ERROR_RATE[0], expression="100 * errors / requests"), *ERROR_RATE[1:]]
    assert run(capsys, **math_args(threshold=4, metrics=new_math))["changed"]
    assert not run(capsys, **math_args(threshold=4, metrics=new_math))["changed"]


def test_tags_change_alone_and_are_purged(aws, capsys) -> None:
    run(capsys, **math_args())
    result = run(capsys, **math_args(tags={"Name": "it-alb-error-rate-critical", "Owner": "sre"}))
    assert result["changed"]
    assert result["alarm"]["tags"] == {"Name": "it-alb-error-rate-critical", "Owner": "sre"}
    arn = described(aws, "it-alb-error-rate-critical")["AlarmArn"]
    assert {t["Key"] for t in aws.list_tags_for_resource(ResourceARN=arn)["Tags"]} == {"Name", "Owner"}
    assert not run(capsys, **math_args(tags=None))["changed"]


def test_absent_deletes_then_reports_no_change(aws, capsys) -> None:
    run(capsys, **p95_args())
    assert run(capsys, check_mode=True, name="it-alb-response-time-warning", state="absent")["changed"]
    assert run(capsys, name="it-alb-response-time-warning", state="absent")["changed"]
    assert not run(capsys, name="it-alb-response-time-warning", state="absent")["changed"]


def test_bad_input_is_refused_naming_the_alarm(aws, capsys) -> None:
    result = run(capsys, **p95_args(statistic="Average"))
    assert result["failed"] and "it-alb-response-time-warning: give exactly one of statistic" in result["msg"]
    mixed = run(capsys, **math_args(namespace="AWS/ApplicationELB"))
    assert mixed["failed"] and "mutually exclusive" in mixed["msg"]


def test_every_returned_key_is_documented(aws, capsys) -> None:
    result = run(capsys, **math_args())
    documented = yaml.safe_load(cloudwatch_alarm.RETURN)
    assert set(result) - {"changed", "diff", "invocation", "warnings"} == set(documented)
    assert set(result["alarm"]) == set(documented["alarm"]["contains"])
