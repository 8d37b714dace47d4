# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ElastiCache replication groups: the view elasticache_replication_group and its _info module both
return, and how elasticache_replication_group plans the calls that bring a group to its options.

Free of AWS: the calls are in _elasticache.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    compare_aws_tags,
)

MAINTENANCE_WINDOW = re.compile(
    r"^(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):[0-5]\d-(sun|mon|tue|wed|thu|fri|sat):([01]\d|2[0-3]):[0-5]\d$"
)
SNAPSHOT_WINDOW = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
GROUP_ID = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
AUTH_TOKEN_FORBIDDEN = set('/"@')

# option (also the key of the view) -> ModifyReplicationGroup parameter, for settings a group can change.
MODIFIABLE = {
    "description": "ReplicationGroupDescription",
    "cache_node_type": "CacheNodeType",
    "engine_version": "EngineVersion",
    "cache_parameter_group": "CacheParameterGroupName",
    "security_group_ids": "SecurityGroupIds",
    "preferred_maintenance_window": "PreferredMaintenanceWindow",
    "snapshot_window": "SnapshotWindow",
    "snapshot_retention_limit": "SnapshotRetentionLimit",
    "automatic_failover": "AutomaticFailoverEnabled",
    "multi_az": "MultiAZEnabled",
    "auto_minor_version_upgrade": "AutoMinorVersionUpgrade",
}
# Settings fixed at creation.
IMMUTABLE = ("engine", "port", "cache_subnet_group", "at_rest_encryption", "kms_key_id", "transit_encryption")


class GroupError(Exception):
    """Input that cannot be applied to the group as it is."""


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


# -- what the options ask for ------------------------------------------------------------------


def version_matches(current: str | None, wanted: str) -> bool:
    """7.1 matches 7.1 and 7.1.0: ElastiCache reports the full version of a family asked for."""
    return current is not None and (current == wanted or current.startswith(wanted + "."))


def same(option: str, current: Any, wanted: Any) -> bool:
    if option == "engine_version":
        return version_matches(current, wanted)
    if option == "security_group_ids":
        return sorted(current or []) == sorted(wanted)
    if option == "preferred_maintenance_window":
        return (current or "").lower() == wanted.lower()
    return current == wanted


def wanted_replicas(params: dict[str, Any]) -> int | None:
    if params["num_cache_clusters"] is not None:
        return params["num_cache_clusters"] - 1
    return params["replicas_per_node_group"]


def check_params(params: dict[str, Any]) -> None:
    """What can be told wrong from the options alone, before any call."""
    problems = []
    if not GROUP_ID.match(params["replication_group_id"]) or len(params["replication_group_id"]) > 40:
        problems.append("replication_group_id must be 1 to 40 lowercase letters, digits and single hyphens")
    token = params["auth_token"]
    if token is not None and (
        not 16 <= len(token) <= 128 or any(not 32 <= ord(c) <= 126 or c in AUTH_TOKEN_FORBIDDEN for c in token)
    ):
        problems.append('auth_token must be 16 to 128 printable ASCII characters, none of / " @')
    if params["auth_token_update_strategy"] == "delete" and token is not None:
        problems.append("auth_token_update_strategy=delete removes AUTH: give no auth_token with it")
    window = params["preferred_maintenance_window"]
    if window is not None and not MAINTENANCE_WINDOW.match(window.lower()):
        problems.append(f"preferred_maintenance_window must be ddd:hh24:mi-ddd:hh24:mi (UTC), not {window!r}")
    window = params["snapshot_window"]
    if window is not None and not SNAPSHOT_WINDOW.match(window):
        problems.append(f"snapshot_window must be hh24:mi-hh24:mi (UTC), not {window!r}")
    if params["num_cache_clusters"] is not None and not 1 <= params["num_cache_clusters"] <= 6:
        problems.append("num_cache_clusters must be 1 to 6")
    if params["replicas_per_node_group"] is not None and not 0 <= params["replicas_per_node_group"] <= 5:
        problems.append("replicas_per_node_group must be 0 to 5")
    azs = params["preferred_cache_cluster_azs"]
    if azs and params["num_cache_clusters"] is not None and len(azs) != params["num_cache_clusters"]:
        problems.append(f"preferred_cache_cluster_azs has {len(azs)} zones; num_cache_clusters asks for one per node")
    if params["snapshot_retention_limit"] is not None and params["snapshot_retention_limit"] < 0:
        problems.append("snapshot_retention_limit must be 0 or more")
    if problems:
        raise GroupError("; ".join(problems))


def check_result(view: dict[str, Any]) -> None:
    """Combinations ElastiCache refuses, checked on the group as it would end up."""
    problems = []
    if view["multi_az"] and not view["automatic_failover"]:
        problems.append("multi_az needs automatic_failover")
    if view["automatic_failover"] and view["replicas_per_node_group"] < 1:
        problems.append("automatic_failover needs at least one replica (num_cache_clusters >= 2)")
    if view["kms_key_id"] and not view["at_rest_encryption"]:
        problems.append("kms_key_id needs at_rest_encryption")
    if view["auth_token_enabled"] and not view["transit_encryption"]:
        problems.append("an AUTH token needs transit_encryption")
    if problems:
        raise GroupError("; ".join(problems))


def predict_new(params: dict[str, Any], kms_key_arn: str | None) -> dict[str, Any]:
    """The group a create request would make, in the shape of to_view; what AWS assigns is None."""
    enabled = params["num_node_groups"] is not None
    node_groups = params["num_node_groups"] if enabled else 1
    replicas = wanted_replicas(params) or 0
    nodes = node_groups * (replicas + 1)
    member_ids = (
        [
            f"{params['replication_group_id']}-{g + 1:04d}-{n + 1:03d}"
            for g in range(node_groups)
            for n in range(replicas + 1)
        ]
        if enabled
        else [f"{params['replication_group_id']}-{n + 1:03d}" for n in range(nodes)]
    )
    azs = params["preferred_cache_cluster_azs"] or []
    return {
        "replication_group_id": params["replication_group_id"],
        "arn": None,
        "description": params["description"] or params["replication_group_id"],
        "status": "creating",
        "engine": params["engine"],
        "engine_version": params["engine_version"],
        "cache_node_type": params["cache_node_type"],
        "cluster_mode": "enabled" if enabled else "disabled",
        "num_cache_clusters": nodes,
        "num_node_groups": node_groups,
        "replicas_per_node_group": replicas,
        "member_clusters": member_ids,
        "availability_zones": {m: (azs[i] if i < len(azs) else None) for i, m in enumerate(member_ids)},
        "automatic_failover": bool(params["automatic_failover"]),
        "multi_az": bool(params["multi_az"]),
        "at_rest_encryption": bool(params["at_rest_encryption"]),
        "kms_key_id": kms_key_arn,
        "transit_encryption": bool(params["transit_encryption"]),
        "transit_encryption_mode": "required" if params["transit_encryption"] else None,
        "auth_token_enabled": params["auth_token"] is not None,
        "auth_token_last_modified_date": None,
        "cache_subnet_group": params["cache_subnet_group"],
        "security_group_ids": sorted(params["security_group_ids"] or []),
        "cache_parameter_group": params["cache_parameter_group"],
        "port": params["port"] or 6379,
        "snapshot_retention_limit": params["snapshot_retention_limit"] or 0,
        "snapshot_window": params["snapshot_window"],
        "preferred_maintenance_window": params["preferred_maintenance_window"],
        "auto_minor_version_upgrade": True
        if params["auto_minor_version_upgrade"] is None
        else params["auto_minor_version_upgrade"],
        "primary_endpoint": None,
        "reader_endpoint": None,
        "configuration_endpoint": None,
        "pending_modified_values": {},
        "tags": params["tags"] or {},
    }


def create_request(params: dict[str, Any], kms_key_arn: str | None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "ReplicationGroupId": params["replication_group_id"],
        "ReplicationGroupDescription": params["description"] or params["replication_group_id"],
        "Engine": params["engine"],
    }
    if params["num_node_groups"] is not None:
        request.update(ClusterMode="enabled", NumNodeGroups=params["num_node_groups"])
        if params["replicas_per_node_group"] is not None:
            request["ReplicasPerNodeGroup"] = params["replicas_per_node_group"]
    elif params["num_cache_clusters"] is not None:
        request["NumCacheClusters"] = params["num_cache_clusters"]
    optional = {
        "EngineVersion": params["engine_version"],
        "CacheNodeType": params["cache_node_type"],
        "PreferredCacheClusterAZs": params["preferred_cache_cluster_azs"],
        "AutomaticFailoverEnabled": params["automatic_failover"],
        "MultiAZEnabled": params["multi_az"],
        "AtRestEncryptionEnabled": params["at_rest_encryption"],
        "KmsKeyId": kms_key_arn,
        "TransitEncryptionEnabled": params["transit_encryption"],
        "AuthToken": params["auth_token"],
        "CacheSubnetGroupName": params["cache_subnet_group"],
        "SecurityGroupIds": params["security_group_ids"],
        "CacheParameterGroupName": params["cache_parameter_group"],
        "Port": params["port"],
        "SnapshotRetentionLimit": params["snapshot_retention_limit"],
        "SnapshotWindow": params["snapshot_window"],
        "PreferredMaintenanceWindow": params["preferred_maintenance_window"],
        "AutoMinorVersionUpgrade": params["auto_minor_version_upgrade"],
        "Tags": ansible_dict_to_boto3_tag_list(params["tags"]) if params["tags"] else None,
    }
    request.update({k: v for k, v in optional.items() if v is not None})
    return request


@dataclass
class Plan:
    """The calls that bring an existing group to what the options ask, and the group they make."""

    modify: dict[str, Any] = field(default_factory=dict)
    replica_count: int | None = None
    increase: bool = False
    tags_add: dict[str, str] = field(default_factory=dict)
    tags_remove: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    after: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.modify or self.replica_count is not None or self.tags_add or self.tags_remove)


def fixed_differences(params: dict[str, Any], current: dict[str, Any], kms_key_arn: str | None) -> list[str]:
    """What the options ask that ElastiCache cannot change on an existing group."""
    wanted = {option: params[option] for option in IMMUTABLE}
    wanted["kms_key_id"] = kms_key_arn
    fixed = [
        f"{option} (is {current[option]!r}, asked {value!r})"
        for option, value in wanted.items()
        if value is not None and current[option] != value
    ]
    enabled = current["cluster_mode"] == "enabled"
    if params["num_node_groups"] is not None and not enabled:
        fixed.append("cluster mode (the group is cluster-mode disabled; num_node_groups asks for shards)")
    if params["num_cache_clusters"] is not None and enabled:
        fixed.append("cluster mode (the group has shards; num_cache_clusters is for cluster mode disabled)")
    if params["num_node_groups"] is not None and enabled and params["num_node_groups"] != current["num_node_groups"]:
        fixed.append(
            f"num_node_groups (is {current['num_node_groups']}, asked {params['num_node_groups']}): resharding"
        )
    return fixed


def plan_auth(params: dict[str, Any], current: dict[str, Any], plan: Plan) -> None:
    """Send the AUTH token only when asked to, or when the group has none at all."""
    strategy = params["auth_token_update_strategy"]
    if strategy in ("rotate", "set"):
        if params["auth_token"] is None:
            raise GroupError(f"auth_token_update_strategy={strategy} needs auth_token")
        plan.modify.update(AuthToken=params["auth_token"], AuthTokenUpdateStrategy=strategy.upper())
        plan.after["auth_token_enabled"] = True
    elif strategy == "delete" and current["auth_token_enabled"]:
        plan.modify["AuthTokenUpdateStrategy"] = "DELETE"
        plan.after["auth_token_enabled"] = False
    elif strategy is None and params["auth_token"] is not None and not current["auth_token_enabled"]:
        plan.modify.update(AuthToken=params["auth_token"], AuthTokenUpdateStrategy="ROTATE")
        plan.after["auth_token_enabled"] = True
        plan.warnings.append(
            f"{current['replication_group_id']} had no AUTH token: it was added with the ROTATE strategy; once every "
            "client sends it, run again with auth_token_update_strategy=set"
        )


def resized_members(current: dict[str, Any], nodes: int) -> tuple[list[str], dict[str, str | None]]:
    """The nodes after replicas are added (numbered on, zone up to ElastiCache) or removed (the last ones)."""
    members = list(current["member_clusters"])
    number = max((int(m.rsplit("-", 1)[1]) for m in members if m.rsplit("-", 1)[-1].isdigit()), default=0)
    while len(members) < nodes:
        number += 1
        members.append(f"{current['replication_group_id']}-{number:03d}")
    members = members[:nodes]
    return members, {m: current["availability_zones"].get(m) for m in members}


def plan_changes(params: dict[str, Any], current: dict[str, Any], kms_key_arn: str | None) -> Plan:
    fixed = fixed_differences(params, current, kms_key_arn)
    if fixed:
        raise GroupError(f"cannot change on the existing group {current['replication_group_id']}: {'; '.join(fixed)}")
    plan = Plan(after=copy.deepcopy(current))
    after = plan.after

    for option, parameter in MODIFIABLE.items():
        value = params[option]
        if value is not None and not same(option, current[option], value):
            plan.modify[parameter] = value
            after[option] = sorted(value) if option == "security_group_ids" else value

    replicas = wanted_replicas(params)
    if replicas is not None and replicas != current["replicas_per_node_group"]:
        plan.replica_count = replicas
        plan.increase = replicas > current["replicas_per_node_group"]
        after["replicas_per_node_group"] = replicas
        after["num_cache_clusters"] = current["num_node_groups"] * (replicas + 1)
        if current["cluster_mode"] == "disabled":
            after["member_clusters"], after["availability_zones"] = resized_members(current, replicas + 1)

    plan_auth(params, current, plan)
    if plan.modify:
        # AUTH changes must be applied now; the rest waits for the window unless asked.
        plan.modify["ApplyImmediately"] = params["apply_immediately"] or "AuthTokenUpdateStrategy" in plan.modify

    if params["tags"] is not None:
        plan.tags_add, plan.tags_remove = compare_aws_tags(current["tags"], params["tags"], params["purge_tags"])
        after["tags"] = {k: v for k, v in current["tags"].items() if k not in plan.tags_remove} | plan.tags_add

    check_result(after)
    return plan
