"""cloudwatch_dashboard(_info): the body as JSON, and both modules against moto (create, converge, check, diff)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import cloudwatch_dashboard, cloudwatch_dashboard_info
from moto import mock_aws

REGION = "us-east-1"
NAME = "it-application-us-east-1"
BODY = {
    "widgets": [
        {
            "type": "metric",
            "x": 0,
            "y": 0,
            "width": 12,
            "height": 6,
            "properties": {"title": "Requests", "region": REGION, "metrics": [["AWS/ApplicationELB", "RequestCount"]]},
        }
    ]
}

# -- pure logic --------------------------------------------------------------------------------


def test_a_body_must_be_an_object_with_widgets() -> None:
    assert cloudwatch_dashboard.parse_body(json.dumps(BODY)) == BODY
    with pytest.raises(ValueError, match="not JSON"):
        cloudwatch_dashboard.parse_body("{widgets")
    with pytest.raises(ValueError, match="'widgets' list"):
        cloudwatch_dashboard.parse_body('{"widget": []}')
    with pytest.raises(ValueError, match="'widgets' list"):
        cloudwatch_dashboard.parse_body("[]")


def test_the_arn_has_no_region() -> None:
    caller = "arn:aws-us-gov:iam::123456789012:user/ops"
    assert cloudwatch_dashboard.dashboard_arn(caller, "d") == "arn:aws-us-gov:cloudwatch::123456789012:dashboard/d"


# -- against moto ------------------------------------------------------------------------------


@pytest.fixture
def aws(monkeypatch) -> Any:
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("cloudwatch", region_name=REGION)


def run(module: Any, capsys, check_mode: bool = False, diff: bool = False, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        module.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def dashboard(capsys, **args: Any) -> dict[str, Any]:
    args.setdefault("name", NAME)
    return run(cloudwatch_dashboard, capsys, **args)


def reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value


def stored(cloudwatch) -> dict[str, Any]:
    return json.loads(cloudwatch.get_dashboard(DashboardName=NAME)["DashboardBody"])


def test_check_mode_predicts_the_dashboard_and_creates_nothing(aws, capsys) -> None:
    result = dashboard(capsys, check_mode=True, diff=True, body=BODY)
    assert result["changed"]
    assert result["dashboard"] == {
        "name": NAME,
        "arn": f"arn:aws:cloudwatch::123456789012:dashboard/{NAME}",
        "body": BODY,
    }
    assert result["diff"]["before"] == {}
    assert aws.list_dashboards()["DashboardEntries"] == []


def test_creates_then_converges_whatever_the_key_order(aws, capsys) -> None:
    assert dashboard(capsys, body=BODY)["changed"]
    assert stored(aws) == BODY
    again = dashboard(capsys, body=json.dumps(reversed_keys(BODY), indent=4))
    assert not again["changed"]
    assert again["dashboard"]["body"] == BODY
    assert not dashboard(capsys, check_mode=True, body=json.dumps(BODY, indent=2))["changed"]


def test_a_changed_widget_replaces_the_body_with_a_diff(aws, capsys) -> None:
    dashboard(capsys, body=BODY)
    changed_body = json.loads(json.dumps(BODY))
    changed_body["widgets"][0]["properties"]["title"] = "Requests per minute"
    predicted = dashboard(capsys, check_mode=True, diff=True, body=changed_body)
    assert predicted["changed"]
    assert predicted["diff"]["before"]["body"] == BODY
    assert predicted["diff"]["after"]["body"] == changed_body
    assert stored(aws) == BODY
    assert dashboard(capsys, body=changed_body)["changed"]
    assert stored(aws) == changed_body


def test_absent_deletes_then_reports_no_change(aws, capsys) -> None:
    dashboard(capsys, body=BODY)
    assert dashboard(capsys, check_mode=True, state="absent")["changed"]
    assert dashboard(capsys, state="absent")["changed"]
    assert not dashboard(capsys, state="absent")["changed"]
    assert aws.list_dashboards()["DashboardEntries"] == []


def test_bad_input_is_refused_before_any_call(aws, capsys) -> None:
    assert "letters, digits" in dashboard(capsys, name="bad name!", body=BODY)["msg"]
    assert "'widgets' list" in dashboard(capsys, body={"rows": []})["msg"]
    assert "body" in dashboard(capsys)["msg"]


def test_info_reads_bodies_by_name_or_prefix(aws, capsys) -> None:
    dashboard(capsys, body=BODY)
    dashboard(capsys, name="other-dashboard", body={"widgets": []})
    by_prefix = run(cloudwatch_dashboard_info, capsys, name_prefix="it-")["dashboards"]
    assert [d["name"] for d in by_prefix] == [NAME]
    assert by_prefix[0]["body"] == BODY
    by_name = run(cloudwatch_dashboard_info, capsys, names=["other-dashboard", "missing"])["dashboards"]
    assert [d["name"] for d in by_name] == ["other-dashboard"]
    every = run(cloudwatch_dashboard_info, capsys)["dashboards"]
    assert [d["name"] for d in every] == [NAME, "other-dashboard"]


def test_every_returned_key_is_documented(aws, capsys) -> None:
    result = dashboard(capsys, body=BODY)
    documented = yaml.safe_load(cloudwatch_dashboard.RETURN)
    assert set(result) - {"changed", "diff", "invocation", "warnings"} == set(documented)
    assert set(result["dashboard"]) == set(documented["dashboard"]["contains"])
    info = run(cloudwatch_dashboard_info, capsys)
    documented_info = yaml.safe_load(cloudwatch_dashboard_info.RETURN)
    # The info module documents its entries as the dashboard module's, plus the keys it names.
    extra = {"last_modified", "size"}
    assert set(info["dashboards"][0]) == set(documented["dashboard"]["contains"]) | extra
    assert all(f"C({key})" in " ".join(documented_info["dashboards"]["description"]) for key in extra)
