"""elasticache_replication_group against the running twin: over HTTP, through botocore's retries.

What the unit tests cannot show: the module's calls as the twin's server answers them (member
clusters, replica counts, AUTH strategies, real deletion), throttling retried rather than failed,
and the group read back by plain boto3 as an operator would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import (
    elasticache_replication_group,
    elasticache_replication_group_info,
)

from twin.client import TwinClient

REGION = "us-east-1"
GROUP = "wedsync-it-redis"
TOKEN = "Integration-AUTH-token-0123456789"  # a throwaway token on loopback
NEW_TOKEN = "Integration-AUTH-token-rotated-42"


@pytest.fixture(scope="module")
def estate(clean_twin: TwinClient, aws: boto3.Session) -> Iterator[dict[str, Any]]:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("abc")
    ]
    aws.client("elasticache").create_cache_subnet_group(
        CacheSubnetGroupName="wedsync-it-cache", CacheSubnetGroupDescription="integration", SubnetIds=subnets
    )
    security_group = ec2.create_security_group(GroupName="wedsync-it-cache", Description="cache", VpcId=vpc)["GroupId"]
    key = aws.client("kms").create_key(Description="integration cache")["KeyMetadata"]["Arn"]
    yield {"security_group": security_group, "key": key}
    clean_twin.clear_faults()


def run(capsys, module=elasticache_replication_group, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        module.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def wanted(estate: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    args = {
        "replication_group_id": GROUP,
        "engine_version": "7.1",
        "cache_node_type": "cache.t4g.micro",
        "num_cache_clusters": 3,
        "preferred_cache_cluster_azs": [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
        "automatic_failover": True,
        "multi_az": True,
        "at_rest_encryption": True,
        "kms_key_id": estate["key"],
        "transit_encryption": True,
        "auth_token": TOKEN,
        "cache_subnet_group": "wedsync-it-cache",
        "security_group_ids": [estate["security_group"]],
        "snapshot_retention_limit": 7,
        "snapshot_window": "02:00-03:00",
        "preferred_maintenance_window": "sun:04:00-sun:05:00",
        "tags": {"Name": GROUP},
        "wait_timeout": 120,
    }
    args.update(overrides)
    return args


def test_lifecycle(estate, twin: TwinClient, aws: boto3.Session, capsys) -> None:
    client = aws.client("elasticache")
    # Throttled twice on its first read: retried with backoff, not failed.
    twin.inject_fault("DescribeReplicationGroups", kind="throttle", count=2)
    created = run(capsys, **wanted(estate))
    assert created["changed"]
    # A rule with a count leaves once used up: both throttles were answered and retried.
    assert not [f for f in twin.faults() if f["action"] == "DescribeReplicationGroups"]
    assert TOKEN not in json.dumps(created)

    group = client.describe_replication_groups(ReplicationGroupId=GROUP)["ReplicationGroups"][0]
    assert (group["MultiAZ"], group["AutomaticFailover"]) == ("enabled", "enabled")
    assert group["AtRestEncryptionEnabled"] and group["TransitEncryptionEnabled"] and group["AuthTokenEnabled"]
    assert group["KmsKeyId"] == estate["key"]
    members = client.describe_cache_clusters()["CacheClusters"]
    assert sorted(m["PreferredAvailabilityZone"] for m in members) == [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
    assert {m["PreferredMaintenanceWindow"] for m in members} == {"sun:04:00-sun:05:00"}
    assert {m["SecurityGroups"][0]["SecurityGroupId"] for m in members} == {estate["security_group"]}

    assert not run(capsys, **wanted(estate))["changed"]
    info = run(capsys, module=elasticache_replication_group_info, replication_group_id=GROUP)
    assert info["replication_groups"][0]["member_clusters"] == [f"{GROUP}-001", f"{GROUP}-002", f"{GROUP}-003"]

    # Rotate, then set: sent only when asked, and reported every time it is.
    set_at = group["AuthTokenLastModifiedDate"]
    rotated = run(capsys, **wanted(estate, auth_token=NEW_TOKEN, auth_token_update_strategy="rotate"))
    assert rotated["changed"]
    assert NEW_TOKEN not in json.dumps(rotated)
    rotated_at = client.describe_replication_groups(ReplicationGroupId=GROUP)["ReplicationGroups"][0][
        "AuthTokenLastModifiedDate"
    ]
    assert rotated_at > set_at
    assert run(capsys, **wanted(estate, auth_token=NEW_TOKEN, auth_token_update_strategy="set"))["changed"]
    assert not run(capsys, **wanted(estate, auth_token=NEW_TOKEN))["changed"]

    # One replica fewer, predicted by check mode, then applied.
    smaller = wanted(estate, num_cache_clusters=2, preferred_cache_cluster_azs=None)
    predicted = run(capsys, _ansible_check_mode=True, **smaller)
    shrunk = run(capsys, **smaller)
    assert shrunk["replication_group"]["member_clusters"] == predicted["replication_group"]["member_clusters"]
    assert len(client.describe_cache_clusters()["CacheClusters"]) == 2

    assert run(capsys, replication_group_id=GROUP, state="absent", wait_timeout=120)["changed"]
    assert client.describe_replication_groups()["ReplicationGroups"] == []
    assert client.describe_cache_clusters()["CacheClusters"] == []
