# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ElastiCache replication groups as elasticache_replication_group and its _info module both show them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.wedsync.platform.plugins.module_utils.modules import THROTTLING_ERROR_CODES


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def describe_cache_cluster(client, cache_cluster_id: str) -> dict[str, Any] | None:
    try:
        result = client.describe_cache_clusters(CacheClusterId=cache_cluster_id)
    except is_boto3_error_code("CacheClusterNotFound"):
        return None
    return result["CacheClusters"][0] if result["CacheClusters"] else None


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def list_tags(client, arn: str) -> dict[str, str]:
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(ResourceName=arn).get("TagList", []))


def _endpoint(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    return {"address": raw.get("Address"), "port": raw.get("Port")} if raw else None


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def to_view(group: dict[str, Any], primary: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
    """A replication group, its primary cache cluster and tags, as one flat snake_case dict."""
    primary = primary or {}
    node_groups = group.get("NodeGroups") or []
    members = [m for ng in node_groups for m in ng.get("NodeGroupMembers") or []]
    first = node_groups[0] if node_groups else {}
    pending = dict(group.get("PendingModifiedValues") or {})
    member_pending = primary.get("PendingModifiedValues") or {}
    pending.update({k: v for k, v in member_pending.items() if v})
    configuration = _endpoint(group.get("ConfigurationEndpoint"))
    primary_endpoint = _endpoint(first.get("PrimaryEndpoint"))
    return {
        "replication_group_id": group["ReplicationGroupId"],
        "arn": group.get("ARN"),
        "description": group.get("Description"),
        "status": group.get("Status"),
        "engine": group.get("Engine") or primary.get("Engine") or "redis",
        "engine_version": primary.get("EngineVersion"),
        "cache_node_type": member_pending.get("CacheNodeType") or group.get("CacheNodeType"),
        "cluster_mode": "enabled" if group.get("ClusterEnabled") else "disabled",
        "num_cache_clusters": len(group.get("MemberClusters") or []),
        "num_node_groups": len(node_groups),
        "replicas_per_node_group": max((len(ng.get("NodeGroupMembers") or []) - 1 for ng in node_groups), default=0),
        "member_clusters": list(group.get("MemberClusters") or []),
        "availability_zones": {
            m["CacheClusterId"]: m.get("PreferredAvailabilityZone") for m in members if m.get("CacheClusterId")
        },
        "automatic_failover": group.get("AutomaticFailover") in ("enabled", "enabling"),
        "multi_az": group.get("MultiAZ") == "enabled",
        "at_rest_encryption": bool(group.get("AtRestEncryptionEnabled")),
        "kms_key_id": group.get("KmsKeyId"),
        "transit_encryption": bool(group.get("TransitEncryptionEnabled")),
        "transit_encryption_mode": group.get("TransitEncryptionMode"),
        "auth_token_enabled": bool(group.get("AuthTokenEnabled")),
        "auth_token_last_modified_date": _iso(group.get("AuthTokenLastModifiedDate")),
        "cache_subnet_group": primary.get("CacheSubnetGroupName"),
        "security_group_ids": sorted(sg["SecurityGroupId"] for sg in primary.get("SecurityGroups") or []),
        "cache_parameter_group": (primary.get("CacheParameterGroup") or {}).get("CacheParameterGroupName"),
        "port": (configuration or primary_endpoint or {}).get("port"),
        "snapshot_retention_limit": group.get("SnapshotRetentionLimit"),
        "snapshot_window": group.get("SnapshotWindow"),
        "preferred_maintenance_window": primary.get("PreferredMaintenanceWindow"),
        "auto_minor_version_upgrade": primary.get("AutoMinorVersionUpgrade", group.get("AutoMinorVersionUpgrade")),
        "primary_endpoint": primary_endpoint,
        "reader_endpoint": _endpoint(first.get("ReaderEndpoint")),
        "configuration_endpoint": configuration,
        "pending_modified_values": {k: _iso(v) for k, v in camel_dict_to_snake_dict(pending).items()},
        "tags": tags,
    }


def primary_cluster_id(group: dict[str, Any]) -> str | None:
    for node_group in group.get("NodeGroups") or []:
        for member in node_group.get("NodeGroupMembers") or []:
            if member.get("CurrentRole", "primary") == "primary":
                return member["CacheClusterId"]
    return (group.get("MemberClusters") or [None])[0]
