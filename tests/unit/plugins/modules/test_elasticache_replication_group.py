"""elasticache_replication_group and its _info twin against moto, with the twin's ElastiCache patch.

moto alone cannot build a primary with replicas or show what a node carries; the twin's patch
(twin/patches/elasticache.py) closes those gaps, so these tests install it too.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.module_utils import elasticache
from ansible_collections.wedsync.platform.plugins.modules import (
    elasticache_replication_group,
    elasticache_replication_group_info,
)
from moto import mock_aws

from twin import patching
from twin.patches import elasticache as twin_elasticache

REGION = "us-east-1"
TOKEN = "Redis-AUTH-token-0123456789abcdef"  # a throwaway token for moto
GROUP = "wedsync-test-redis"


@pytest.fixture
def aws(monkeypatch) -> dict[str, Any]:
    """A VPC with private subnets in two AZs, a cache subnet group, a security group and a KMS key."""
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    patching.install(twin_elasticache)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"][
                "SubnetId"
            ]
            for i, az in enumerate("ab")
        ]
        boto3.client("elasticache", region_name=REGION).create_cache_subnet_group(
            CacheSubnetGroupName="wedsync-test-cache", CacheSubnetGroupDescription="test", SubnetIds=subnets
        )
        groups = [
            ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
            for name in ("cache", "other")
        ]
        kms = boto3.client("kms", region_name=REGION)
        key = kms.create_key()["KeyMetadata"]["Arn"]
        kms.create_alias(AliasName="alias/wedsync-test-cache", TargetKeyId=key)
        yield {"security_groups": groups, "key_arn": key}


def run(capsys, module=elasticache_replication_group, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        module.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def group_args(aws: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """What the cache role asks for, at test size."""
    args = {
        "replication_group_id": GROUP,
        "description": "test cache",
        "engine_version": "7.1",
        "cache_node_type": "cache.t4g.micro",
        "num_cache_clusters": 2,
        "preferred_cache_cluster_azs": [f"{REGION}a", f"{REGION}b"],
        "automatic_failover": True,
        "multi_az": True,
        "at_rest_encryption": True,
        "kms_key_id": "alias/wedsync-test-cache",
        "transit_encryption": True,
        "auth_token": TOKEN,
        "cache_subnet_group": "wedsync-test-cache",
        "security_group_ids": [aws["security_groups"][0]],
        "cache_parameter_group": "default.redis7",
        "snapshot_retention_limit": 7,
        "snapshot_window": "02:00-03:00",
        "preferred_maintenance_window": "sun:04:00-sun:05:00",
        "tags": {"Name": GROUP, "Environment": "test"},
    }
    args.update(overrides)
    return args


def described(name: str = GROUP) -> dict[str, Any]:
    return boto3.client("elasticache", region_name=REGION).describe_replication_groups(ReplicationGroupId=name)[
        "ReplicationGroups"
    ][0]


# -- pure logic ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "wanted", "expected"),
    [
        ("7.1.0", "7.1", True),
        ("7.1", "7.1", True),
        ("7.10.0", "7.1", False),
        ("6.2.6", "7.1", False),
        (None, "7.1", False),
    ],
)
def test_version_matches(current, wanted, expected) -> None:
    assert elasticache.version_matches(current, wanted) is expected


def test_same_ignores_order_and_case() -> None:
    same = elasticache.same
    assert same("security_group_ids", ["sg-b", "sg-a"], ["sg-a", "sg-b"])
    assert same("preferred_maintenance_window", "sun:04:00-sun:05:00", "Sun:04:00-Sun:05:00")
    assert not same("snapshot_window", "02:00-03:00", "03:00-04:00")


# -- create, converge, check mode ----------------------------------------------------------------


def test_check_mode_on_nothing_predicts_and_creates_nothing(aws, capsys) -> None:
    result = run(capsys, _ansible_check_mode=True, _ansible_diff=True, **group_args(aws))
    assert result["changed"]
    predicted = result["replication_group"]
    assert predicted["status"] == "creating"
    assert predicted["member_clusters"] == [f"{GROUP}-001", f"{GROUP}-002"]
    assert predicted["availability_zones"] == {f"{GROUP}-001": f"{REGION}a", f"{GROUP}-002": f"{REGION}b"}
    assert predicted["kms_key_id"] == aws["key_arn"]  # the alias resolved to what AWS will report
    assert result["diff"] == {"before": {}, "after": predicted}
    assert boto3.client("elasticache", region_name=REGION).describe_replication_groups()["ReplicationGroups"] == []


def test_create_then_converged(aws, capsys) -> None:
    created = run(capsys, **group_args(aws))
    assert created["changed"]
    view = created["replication_group"]
    assert view["status"] == "available"
    assert view["num_cache_clusters"] == 2
    assert view["replicas_per_node_group"] == 1
    assert set(view["availability_zones"].values()) == {f"{REGION}a", f"{REGION}b"}
    assert view["automatic_failover"] and view["multi_az"]
    assert view["at_rest_encryption"] and view["transit_encryption"] and view["auth_token_enabled"]
    assert view["kms_key_id"] == aws["key_arn"]
    assert view["security_group_ids"] == [aws["security_groups"][0]]
    assert view["cache_subnet_group"] == "wedsync-test-cache"
    assert view["preferred_maintenance_window"] == "sun:04:00-sun:05:00"
    assert view["snapshot_retention_limit"] == 7
    assert view["snapshot_window"] == "02:00-03:00"
    assert view["tags"] == {"Name": GROUP, "Environment": "test"}
    assert view["primary_endpoint"]["port"] == 6379
    assert TOKEN not in json.dumps(created)

    again = run(capsys, _ansible_diff=True, **group_args(aws))
    assert not again["changed"]
    assert again["diff"]["before"] == again["diff"]["after"]
    assert not run(capsys, _ansible_check_mode=True, **group_args(aws))["changed"]


def test_info_returns_the_same_view(aws, capsys) -> None:
    created = run(capsys, **group_args(aws))["replication_group"]
    info = run(capsys, module=elasticache_replication_group_info, replication_group_id=GROUP)
    assert info["replication_groups"] == [created]
    assert run(capsys, module=elasticache_replication_group_info)["replication_groups"] == [created]
    assert (
        run(capsys, module=elasticache_replication_group_info, replication_group_id="nope")["replication_groups"] == []
    )


# -- changes ---------------------------------------------------------------------------------------


def test_modify_in_check_mode_then_for_real(aws, capsys) -> None:
    run(capsys, **group_args(aws))
    changes = {
        "security_group_ids": aws["security_groups"],
        "preferred_maintenance_window": "sun:05:00-sun:06:00",
        "snapshot_retention_limit": 14,
        "tags": {"Name": GROUP, "Owner": "sre"},
    }
    predicted = run(capsys, _ansible_check_mode=True, _ansible_diff=True, **group_args(aws, **changes))
    assert predicted["changed"]
    assert predicted["diff"]["before"]["snapshot_retention_limit"] == 7
    assert predicted["diff"]["after"]["snapshot_retention_limit"] == 14
    assert described()["SnapshotRetentionLimit"] == 7  # check mode changed nothing

    applied = run(capsys, **group_args(aws, **changes))["replication_group"]
    expected = {k: v for k, v in predicted["replication_group"].items() if k != "auth_token_last_modified_date"}
    assert {k: v for k, v in applied.items() if k != "auth_token_last_modified_date"} == expected
    assert applied["security_group_ids"] == sorted(aws["security_groups"])
    assert applied["tags"] == {"Name": GROUP, "Owner": "sre"}
    assert not run(capsys, **group_args(aws, **changes))["changed"]


def test_replicas_added_and_removed(aws, capsys) -> None:
    run(capsys, **group_args(aws))
    grown = run(capsys, **group_args(aws, num_cache_clusters=3, preferred_cache_cluster_azs=None))
    assert grown["changed"]
    assert grown["replication_group"]["num_cache_clusters"] == 3
    assert len(described()["MemberClusters"]) == 3
    shrunk = run(capsys, **group_args(aws, num_cache_clusters=2, preferred_cache_cluster_azs=None))
    assert shrunk["replication_group"]["replicas_per_node_group"] == 1


def test_auth_token_sent_only_when_asked(aws, capsys) -> None:
    run(capsys, **group_args(aws))
    set_at = described()["AuthTokenLastModifiedDate"]
    # A plain run with another token changes nothing: the token is never re-sent.
    assert not run(capsys, **group_args(aws, auth_token="Another-token-0123456789"))["changed"]
    assert described()["AuthTokenLastModifiedDate"] == set_at
    rotated = run(capsys, **group_args(aws, auth_token="Another-token-0123456789", auth_token_update_strategy="rotate"))
    assert rotated["changed"]
    assert described()["AuthTokenLastModifiedDate"] > set_at
    assert "Another-token-0123456789" not in json.dumps(rotated)


def test_fixed_settings_fail_with_what_differs(aws, capsys) -> None:
    run(capsys, **group_args(aws))
    result = run(capsys, **group_args(aws, at_rest_encryption=False, kms_key_id=None, port=6380))
    assert result["failed"]
    assert "at_rest_encryption (is True, asked False)" in result["msg"]
    assert "port (is 6379, asked 6380)" in result["msg"]


# -- bad input -------------------------------------------------------------------------------------


FAKE_AWS = {"security_groups": ["sg-0123456789abcdef0"], "key_arn": None}


@pytest.fixture
def credentials(monkeypatch) -> None:
    """Enough for a boto3 client; the checks below fail before any call."""
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"preferred_maintenance_window": "sunday 04:00"},
            "preferred_maintenance_window must be ddd:hh24:mi-ddd:hh24:mi",
        ),
        ({"snapshot_window": "2-3"}, "snapshot_window must be hh24:mi-hh24:mi"),
        ({"auth_token": "short"}, "auth_token must be 16 to 128 printable ASCII characters"),
        ({"auth_token": "has/a/slash-0123456789"}, "auth_token must be 16 to 128"),
        ({"preferred_cache_cluster_azs": [f"{REGION}a"]}, "preferred_cache_cluster_azs has 1 zones"),
        ({"replication_group_id": "Bad_Name"}, "replication_group_id must be 1 to 40 lowercase"),
        ({"num_cache_clusters": 7, "preferred_cache_cluster_azs": None}, "num_cache_clusters must be 1 to 6"),
        ({"auth_token_update_strategy": "delete"}, "give no auth_token with it"),
    ],
)
def test_malformed_input_fails_before_any_call(credentials, capsys, overrides, message) -> None:
    result = run(capsys, **group_args(FAKE_AWS, **overrides))
    assert result["failed"]
    assert message in result["msg"]
    assert TOKEN not in json.dumps(result)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"multi_az": True, "automatic_failover": False}, "multi_az needs automatic_failover"),
        (
            {"num_cache_clusters": 1, "preferred_cache_cluster_azs": None},
            "automatic_failover needs at least one replica",
        ),
        ({"transit_encryption": False}, "an AUTH token needs transit_encryption"),
        ({"cache_node_type": None}, "cache_node_type is required to create"),
    ],
)
def test_inconsistent_input_fails_before_any_change(aws, capsys, overrides, message) -> None:
    result = run(capsys, **group_args(aws, **overrides))
    assert result["failed"]
    assert message in result["msg"]
    assert TOKEN not in json.dumps(result)
    assert boto3.client("elasticache", region_name=REGION).describe_replication_groups()["ReplicationGroups"] == []


# -- absent ------------------------------------------------------------------------------------------


def test_absent(aws, capsys) -> None:
    assert not run(capsys, replication_group_id=GROUP, state="absent")["changed"]
    run(capsys, **group_args(aws))
    assert run(capsys, replication_group_id=GROUP, state="absent", _ansible_check_mode=True)["changed"]
    assert described()["Status"] == "available"
    assert run(capsys, replication_group_id=GROUP, state="absent")["changed"]
    assert boto3.client("elasticache", region_name=REGION).describe_replication_groups()["ReplicationGroups"] == []
    assert not run(capsys, replication_group_id=GROUP, state="absent")["changed"]
