"""ec2_vpc_flow_log against moto: create, converge, replace what AWS cannot change, delete, refuse bad input."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import ec2_vpc_flow_log
from moto import mock_aws

REGION = "us-east-1"
GROUP = "/wedsync/wedsync-test/vpc-flow-logs"
OTHER_GROUP = "/wedsync/other"
ROLE_ARN = "arn:aws:iam::123456789012:role/wedsync-test-vpc-flow-logs"


@pytest.fixture
def vpc(monkeypatch) -> str:
    """A VPC and two log groups; returns the VPC's ID."""
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        logs = boto3.client("logs", region_name=REGION)
        logs.create_log_group(logGroupName=GROUP)
        logs.create_log_group(logGroupName=OTHER_GROUP)
        yield boto3.client("ec2", region_name=REGION).create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]


def run(capsys, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        ec2_vpc_flow_log.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def flow_logs(vpc_id: str) -> list[dict[str, Any]]:
    ec2 = boto3.client("ec2", region_name=REGION)
    return ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]


def present(vpc_id: str, **extra: Any) -> dict[str, Any]:
    return dict(resource_id=vpc_id, log_group_name=GROUP, deliver_logs_permission_arn=ROLE_ARN, **extra)


def test_creates_the_flow_log_then_changes_nothing(vpc, capsys):
    created = run(capsys, **present(vpc, max_aggregation_interval=60, tags={"Name": "wedsync-test-vpc-flow-logs"}))
    again = run(capsys, **present(vpc, max_aggregation_interval=60, tags={"Name": "wedsync-test-vpc-flow-logs"}))

    assert created["changed"] and not again["changed"]
    flow_log = created["flow_log"]
    assert flow_log["flow_log_id"].startswith("fl-")
    assert again["flow_log"]["flow_log_id"] == flow_log["flow_log_id"]
    assert flow_log["resource_id"] == vpc
    assert flow_log["traffic_type"] == "ALL"
    assert flow_log["log_destination_type"] == "cloud-watch-logs"
    assert flow_log["log_group_name"] == GROUP
    assert flow_log["deliver_logs_permission_arn"] == ROLE_ARN
    assert flow_log["max_aggregation_interval"] == 60
    assert flow_log["tags"] == {"Name": "wedsync-test-vpc-flow-logs"}
    assert isinstance(flow_log["creation_time"], str)
    (stored,) = flow_logs(vpc)
    assert stored["TrafficType"] == "ALL" and stored["MaxAggregationInterval"] == 60


def test_check_mode_predicts_a_new_flow_log_and_creates_none(vpc, capsys):
    result = run(capsys, _ansible_check_mode=True, _ansible_diff=True, **present(vpc, tags={"Name": "n"}))

    assert result["changed"]
    assert result["flow_log"]["flow_log_id"] is None
    assert result["flow_log"]["log_group_name"] == GROUP
    assert result["flow_log"]["traffic_type"] == "ALL"
    assert result["flow_log"]["tags"] == {"Name": "n"}
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["resource_id"] == vpc
    assert flow_logs(vpc) == []


def test_check_mode_on_a_converged_flow_log_reports_no_change(vpc, capsys):
    created = run(capsys, **present(vpc, tags={"Name": "n"}))
    checked = run(capsys, _ansible_check_mode=True, _ansible_diff=True, **present(vpc, tags={"Name": "n"}))

    assert not checked["changed"]
    assert checked["flow_log"]["flow_log_id"] == created["flow_log"]["flow_log_id"]
    assert checked["diff"]["before"] == checked["diff"]["after"]


def test_tags_change_in_place(vpc, capsys):
    created = run(capsys, **present(vpc, tags={"Name": "n", "Old": "x"}))
    kept = run(capsys, **present(vpc, tags={"Name": "n", "Team": "sre"}, purge_tags=False))
    purged = run(capsys, **present(vpc, tags={"Name": "n"}))

    assert kept["changed"] and purged["changed"]
    assert kept["replaced"] == [] and purged["replaced"] == []
    assert kept["flow_log"]["flow_log_id"] == created["flow_log"]["flow_log_id"]
    assert kept["flow_log"]["tags"] == {"Name": "n", "Old": "x", "Team": "sre"}
    assert purged["flow_log"]["tags"] == {"Name": "n"}
    assert boto3.client("ec2", region_name=REGION).describe_flow_logs()["FlowLogs"][0]["Tags"] == [
        {"Key": "Name", "Value": "n"}
    ]


@pytest.mark.parametrize(
    ("change", "attribute"),
    [
        ({"traffic_type": "REJECT"}, "TrafficType"),
        ({"max_aggregation_interval": 60}, "MaxAggregationInterval"),
        ({"deliver_logs_permission_arn": ROLE_ARN + "-2"}, "DeliverLogsPermissionArn"),
        ({"log_format": "${srcaddr} ${dstaddr} ${action}"}, "LogFormat"),
    ],
)
def test_what_aws_cannot_change_is_replaced(vpc, capsys, change, attribute):
    created = run(capsys, **present(vpc))
    predicted = run(capsys, _ansible_check_mode=True, **{**present(vpc), **change})
    replaced = run(capsys, **{**present(vpc), **change})

    old_id = created["flow_log"]["flow_log_id"]
    assert predicted["changed"] and predicted["flow_log"]["flow_log_id"] is None
    assert predicted["replaced"] == [old_id]
    assert replaced["changed"] and replaced["replaced"] == [old_id]
    assert attribute in replaced["msg"]
    (stored,) = flow_logs(vpc)
    assert stored["FlowLogId"] == replaced["flow_log"]["flow_log_id"] != old_id
    assert stored[attribute] == next(iter(change.values()))


def test_a_log_group_arn_names_the_same_destination(vpc, capsys):
    created = run(capsys, **present(vpc))
    arn = f"arn:aws:logs:{REGION}:123456789012:log-group:{GROUP}:*"
    again = run(capsys, resource_id=vpc, log_destination=arn, deliver_logs_permission_arn=ROLE_ARN)

    assert not again["changed"]
    assert again["flow_log"]["flow_log_id"] == created["flow_log"]["flow_log_id"]


def test_keeps_one_flow_log_per_destination_and_leaves_other_destinations_alone(vpc, capsys):
    ec2 = boto3.client("ec2", region_name=REGION)
    arn = f"arn:aws:logs:{REGION}:123456789012:log-group:{GROUP}"
    common = dict(ResourceIds=[vpc], ResourceType="VPC", DeliverLogsPermissionArn=ROLE_ARN)
    duplicate = ec2.create_flow_logs(TrafficType="REJECT", LogDestination=arn, **common)["FlowLogIds"][0]
    wanted = ec2.create_flow_logs(TrafficType="ALL", LogGroupName=GROUP, **common)["FlowLogIds"][0]
    other = ec2.create_flow_logs(TrafficType="ALL", LogGroupName=OTHER_GROUP, **common)["FlowLogIds"][0]

    result = run(capsys, **present(vpc))

    assert result["changed"]
    assert result["replaced"] == [duplicate]
    assert result["flow_log"]["flow_log_id"] == wanted
    assert sorted(fl["FlowLogId"] for fl in flow_logs(vpc)) == sorted([wanted, other])


def test_absent_deletes_only_this_destination(vpc, capsys):
    created = run(capsys, **present(vpc))
    run(capsys, **{**present(vpc), "log_group_name": OTHER_GROUP})
    checked = run(capsys, _ansible_check_mode=True, resource_id=vpc, log_group_name=GROUP, state="absent")
    deleted = run(capsys, _ansible_diff=True, resource_id=vpc, log_group_name=GROUP, state="absent")
    again = run(capsys, resource_id=vpc, log_group_name=GROUP, state="absent")

    assert checked["changed"] and len(flow_logs(vpc)) == 1
    assert deleted["changed"] and deleted["replaced"] == [created["flow_log"]["flow_log_id"]]
    assert deleted["diff"]["before"]["log_group_name"] == GROUP and deleted["diff"]["after"] == {}
    assert not again["changed"] and again["replaced"] == []
    assert [fl["LogGroupName"] for fl in flow_logs(vpc)] == [OTHER_GROUP]


def test_a_refused_destination_fails_with_the_reason(vpc, capsys):
    result = run(capsys, resource_id=vpc, log_destination_type="s3", log_destination="arn:aws:s3:::no-such-bucket")

    assert result["failed"]
    assert "no-such-bucket" in result["msg"] and "does not exist" in result["msg"]


def test_a_missing_vpc_fails_with_the_aws_error(vpc, capsys):
    result = run(capsys, **present("vpc-0000000000000000f"))

    assert result["failed"]
    assert "InvalidVpcID.NotFound" in result["msg"], result["msg"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"log_group_name": GROUP}, "needs deliver_logs_permission_arn"),
        ({"deliver_logs_permission_arn": ROLE_ARN}, "needs log_group_name or a log group ARN"),
        ({"log_destination": "arn:aws:s3:::bucket", "deliver_logs_permission_arn": ROLE_ARN}, "log group ARN"),
        ({"log_destination_type": "s3", "log_group_name": GROUP}, "applies to cloud-watch-logs only"),
        ({"log_destination_type": "kinesis-data-firehose"}, "needs log_destination"),
        ({"max_aggregation_interval": 300, "log_group_name": GROUP}, "max_aggregation_interval"),
    ],
)
def test_bad_input_fails_before_any_call(vpc, capsys, args, message):
    result = run(capsys, resource_id=vpc, **args)

    assert result["failed"]
    assert message in result["msg"]
    assert flow_logs(vpc) == []


@pytest.mark.parametrize(
    ("arn", "name"),
    [
        ("arn:aws:logs:us-east-1:123456789012:log-group:/a/b", "/a/b"),
        ("arn:aws:logs:us-east-1:123456789012:log-group:/a/b:*", "/a/b"),
        ("arn:aws:logs:us-east-1:123456789012:log-group:with:colon", "with:colon"),
        ("arn:aws:s3:::bucket", None),
        ("/a/b", None),
        (None, None),
    ],
)
def test_log_group_from_arn(arn, name):
    assert ec2_vpc_flow_log.log_group_from_arn(arn) == name


def test_an_entry_shaped_as_aws_reports_it_matches_by_log_group():
    # AWS reports both the name and the ARN of the log group; moto reports only the name.
    entry = {
        "LogDestinationType": "cloud-watch-logs",
        "LogGroupName": GROUP,
        "LogDestination": f"arn:aws:logs:{REGION}:123456789012:log-group:{GROUP}",
    }
    assert ec2_vpc_flow_log.existing_destination_key(entry) == GROUP
    s3_entry = {"LogDestinationType": "s3", "LogDestination": "arn:aws:s3:::bucket/prefix/"}
    assert ec2_vpc_flow_log.existing_destination_key(s3_entry) == "arn:aws:s3:::bucket/prefix"
