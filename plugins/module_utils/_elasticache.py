# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ElastiCache API calls of the collection: one boto call each, retried, raising ElastiCacheError."""

from __future__ import annotations

import contextlib
import time
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.wedsync.platform.plugins.module_utils.elasticache import primary_cluster_id, to_view
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry

# Seconds between status checks while waiting; ElastiCache changes take minutes.
POLL_SECONDS = 15


class ElastiCacheError(WedSyncAWSError):
    pass


class ReplicationGroupErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = ElastiCacheError
    _MISSING_CODES = ("ReplicationGroupNotFoundFault",)


class CacheClusterErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = ElastiCacheError
    _MISSING_CODES = ("CacheClusterNotFound",)


@ReplicationGroupErrorHandler.list_error_handler("describe replication groups", [])
@aws_retry
def describe_replication_groups(client, replication_group_id: str | None = None) -> list[dict[str, Any]]:
    """The replication group asked for, or every one when replication_group_id is None."""
    request = {"ReplicationGroupId": replication_group_id} if replication_group_id else {}
    paginator = client.get_paginator("describe_replication_groups")
    return paginator.paginate(**request).build_full_result()["ReplicationGroups"]


@CacheClusterErrorHandler.list_error_handler("describe cache cluster")
@aws_retry
def describe_cache_cluster(client, cache_cluster_id: str) -> dict[str, Any] | None:
    result = client.describe_cache_clusters(CacheClusterId=cache_cluster_id)
    return result["CacheClusters"][0] if result["CacheClusters"] else None


@ReplicationGroupErrorHandler.common_error_handler("list replication group tags")
@aws_retry
def list_tags(client, arn: str) -> dict[str, str]:
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(ResourceName=arn).get("TagList", []))


@ReplicationGroupErrorHandler.common_error_handler("create replication group")
@aws_retry
def create_replication_group(client, request: dict[str, Any]) -> None:
    client.create_replication_group(**request)


@ReplicationGroupErrorHandler.common_error_handler("modify replication group")
@aws_retry
def modify_replication_group(client, request: dict[str, Any]) -> None:
    client.modify_replication_group(**request)


@ReplicationGroupErrorHandler.common_error_handler("change the replica count of replication group")
@aws_retry
def change_replica_count(client, replication_group_id: str, new_count: int, increase: bool) -> None:
    call = client.increase_replica_count if increase else client.decrease_replica_count
    call(ReplicationGroupId=replication_group_id, NewReplicaCount=new_count, ApplyImmediately=True)


@ReplicationGroupErrorHandler.common_error_handler("delete replication group")
@aws_retry
def delete_replication_group(client, request: dict[str, Any]) -> None:
    client.delete_replication_group(**request)


@ReplicationGroupErrorHandler.common_error_handler("tag replication group")
@aws_retry
def add_tags(client, arn: str, tags: dict[str, str]) -> None:
    client.add_tags_to_resource(ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(tags))


@ReplicationGroupErrorHandler.common_error_handler("untag replication group")
@aws_retry
def remove_tags(client, arn: str, keys: list[str]) -> None:
    client.remove_tags_from_resource(ResourceName=arn, TagKeys=keys)


@ReplicationGroupErrorHandler.common_error_handler("wait for replication group")
def wait_for(client, waiter_name: str, replication_group_id: str, deadline: float, wait_timeout: int) -> None:
    """Wait with the waiter until deadline (time.monotonic()); past it, say which group and timeout."""
    remaining = max(deadline - time.monotonic(), 0)
    attempts = max(int(remaining // POLL_SECONDS), 1)
    try:
        client.get_waiter(waiter_name).wait(
            ReplicationGroupId=replication_group_id, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": attempts}
        )
    except botocore.exceptions.WaiterError as e:
        raise ElastiCacheError(
            message=f"{replication_group_id} did not reach the expected state within wait_timeout ({wait_timeout} s)",
            exception=e,
        ) from e


def read_views(client, replication_group_id: str | None = None) -> list[dict[str, Any]]:
    """The replication groups (one, or every one) as elasticache.to_view shows them, with primary and tags."""
    views = []
    for group in describe_replication_groups(client, replication_group_id):
        primary_id = primary_cluster_id(group)
        primary = describe_cache_cluster(client, primary_id) if primary_id else None
        tags = list_tags(client, group["ARN"]) if group.get("ARN") else {}
        views.append(to_view(group, primary, tags))
    return views
