#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: elasticache_replication_group
version_added: 0.1.0
short_description: Manage ElastiCache (Redis OSS, Valkey) replication groups
description:
  - Creates, modifies and deletes an ElastiCache replication group, that is a primary with read replicas
    (cluster mode disabled, O(num_cache_clusters)) or shards with replicas (cluster mode enabled,
    O(num_node_groups) and O(replicas_per_node_group)).
  - C(community.aws.elasticache) manages single cache clusters, not replication groups, so it cannot
    give Redis replicas, Multi-AZ with automatic failover, encryption or an AUTH token.
  - An option left unset keeps what the group has (or what ElastiCache chooses when creating it).
  - Settings ElastiCache cannot change on an existing group (engine, port, subnet group, cluster mode,
    shard count, encryption at rest and its key, encryption in transit) fail the task with what
    differs, instead of being silently ignored.
  - The AUTH token is sent when the group is created. Afterwards it is sent only when
    O(auth_token_update_strategy) asks for it (ElastiCache cannot say which token a group has, so a
    plain run never re-sends it), or, with C(ROTATE) and a warning, when the group has no AUTH at all.
options:
  replication_group_id:
    description:
      - The group's identifier (1 to 40 lowercase letters, digits and hyphens).
    type: str
    required: true
    aliases:
      - name
  state:
    description:
      - V(present) creates or updates the group; V(absent) deletes it with all its nodes.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - The group's description. Defaults to the identifier when the group is created.
    type: str
  engine:
    description:
      - The cache engine. Cannot change once the group exists.
    type: str
    choices: [redis, valkey]
    default: redis
  engine_version:
    description:
      - The engine version, such as V(7.1). A version that ElastiCache reports with more parts
        (C(7.1.0)) matches. Upgrades only.
    type: str
  cache_node_type:
    description:
      - The node type of every node, such as V(cache.r6g.large). Required to create a group.
    type: str
  num_cache_clusters:
    description:
      - With cluster mode disabled, the number of nodes, the primary included (1 to 6).
      - A change adds or removes replicas (C(IncreaseReplicaCount), C(DecreaseReplicaCount)).
      - Mutually exclusive with O(num_node_groups).
    type: int
  num_node_groups:
    description:
      - With cluster mode enabled, the number of shards. Cannot change once the group exists (resharding
        is not supported by this module).
    type: int
  replicas_per_node_group:
    description:
      - With cluster mode enabled, the number of replicas in each shard (0 to 5). A change adds or removes
        replicas.
    type: int
  preferred_cache_cluster_azs:
    description:
      - With cluster mode disabled, the Availability Zone of each node, primary first; as many as
        O(num_cache_clusters). Used when the group is created.
    type: list
    elements: str
  automatic_failover:
    description:
      - Whether a replica is promoted automatically when the primary fails. Needs a replica.
    type: bool
  multi_az:
    description:
      - Whether Multi-AZ is enabled. Needs O(automatic_failover).
    type: bool
  at_rest_encryption:
    description:
      - Whether data at rest is encrypted. Cannot change once the group exists.
    type: bool
  kms_key_id:
    description:
      - The customer-managed KMS key (ID, ARN, alias or alias ARN) for encryption at rest; resolved to
        the key's ARN before it is compared. Needs O(at_rest_encryption). Cannot change once the
        group exists.
    type: str
  transit_encryption:
    description:
      - Whether connections use TLS. Needed by an AUTH token. Cannot change with this module once the
        group exists.
    type: bool
  auth_token:
    description:
      - The AUTH token (16 to 128 printable ASCII characters, none of C(/), C(") and C(@)).
      - Sent when the group is created, and afterwards only as O(auth_token_update_strategy) says.
    type: str
  auth_token_update_strategy:
    description:
      - Apply O(auth_token) to an existing group. V(rotate) makes it valid beside the current token
        (clients move over, then V(set) it); V(set) makes it the only valid token; V(delete) removes
        AUTH (no O(auth_token)).
      - The task reports a change every time V(rotate) or V(set) is given, as the token cannot be read back.
    type: str
    choices: [rotate, set, delete]
  cache_subnet_group:
    description:
      - The cache subnet group the nodes are placed in. Cannot change once the group exists.
    type: str
  security_group_ids:
    description:
      - The VPC security groups of the nodes; the group ends up with exactly these.
    type: list
    elements: str
  cache_parameter_group:
    description:
      - The cache parameter group, such as V(default.redis7).
    type: str
  port:
    description:
      - The port the nodes accept connections on. Cannot change once the group exists.
    type: int
  snapshot_retention_limit:
    description:
      - Days automatic snapshots are kept; V(0) turns them off.
    type: int
  snapshot_window:
    description:
      - Daily UTC range in which snapshots are taken, C(hh24:mi-hh24:mi), at least 60 minutes.
    type: str
  preferred_maintenance_window:
    description:
      - Weekly UTC range for maintenance, C(ddd:hh24:mi-ddd:hh24:mi), at least 60 minutes.
    type: str
  auto_minor_version_upgrade:
    description:
      - Whether minor engine upgrades are applied in the maintenance window.
    type: bool
  apply_immediately:
    description:
      - Apply modifications now rather than in the next maintenance window. Replica count and AUTH
        token changes are always applied now, as ElastiCache requires.
      - A pending modification counts as done, so a second run does not request it again.
    type: bool
    default: false
  final_snapshot_identifier:
    description:
      - With O(state=absent), the name of a final snapshot to take before deleting.
    type: str
  wait:
    description:
      - Wait for the group to be C(available) after creating or changing it, or gone after deleting it.
      - Between steps that ElastiCache cannot take at once (replicas, then settings) the module always
        waits.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait, across every step of the task.
    type: int
    default: 2400
attributes:
  check_mode:
    support: full
    details: Returns the group as it would be, from the requests the module would make.
  diff_mode:
    support: full
    details: C(before) and C(after) are RV(replication_group) before and after (predicted in check mode); no token.
notes:
  - Node-level settings (engine version, parameter group, security groups, subnet group, maintenance
    window) are read from the primary's cache cluster, as ElastiCache reports them there.
seealso:
  - module: wedsync.platform.elasticache_replication_group_info
  - module: community.aws.elasticache_subnet_group
  - module: community.aws.elasticache
extends_documentation_fragment:
  - wedsync.platform.aws
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.tags
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
"""

EXAMPLES = r"""
- name: Redis 7 with a replica in another AZ, Multi-AZ failover, encrypted, AUTH from Secrets Manager
  wedsync.platform.elasticache_replication_group:
    replication_group_id: wedsync-production-redis
    description: WedSync sessions, API responses, computed results
    engine_version: "7.1"
    cache_node_type: cache.r6g.large
    num_cache_clusters: 2
    preferred_cache_cluster_azs: [us-east-1a, us-east-1b]
    automatic_failover: true
    multi_az: true
    at_rest_encryption: true
    kms_key_id: alias/wedsync-production-cache
    transit_encryption: true
    auth_token: "{{ lookup('amazon.aws.secretsmanager_secret', 'wedsync/production/redis', region='us-east-1') | from_json | json_query('auth_token') }}"
    cache_subnet_group: wedsync-production-cache
    security_group_ids: [sg-0123456789abcdef0]
    cache_parameter_group: default.redis7
    snapshot_retention_limit: 7
    snapshot_window: "02:00-03:00"
    preferred_maintenance_window: sun:04:00-sun:05:00
    tags:
      Name: wedsync-production-redis
  no_log: true

- name: Rotate the AUTH token (both tokens valid until clients have moved; then run with set)
  wedsync.platform.elasticache_replication_group:
    replication_group_id: wedsync-production-redis
    auth_token: "{{ new_redis_auth_token }}"
    auth_token_update_strategy: rotate
  no_log: true

- name: Add a replica
  wedsync.platform.elasticache_replication_group:
    replication_group_id: wedsync-production-redis
    num_cache_clusters: 3

- name: Delete the group, keeping a final snapshot
  wedsync.platform.elasticache_replication_group:
    replication_group_id: wedsync-staging-redis
    state: absent
    final_snapshot_identifier: wedsync-staging-redis-final
"""

RETURN = r"""
replication_group:
  description:
    - The group as it is after the task (as it would be, in check mode); empty when absent.
    - Check mode cannot know what ElastiCache assigns (ARN, endpoints, create time); those are null.
  returned: always
  type: dict
  contains:
    replication_group_id:
      description: The identifier.
      type: str
      sample: wedsync-production-redis
    arn:
      description: The ARN.
      type: str
      sample: arn:aws:elasticache:us-east-1:123456789012:replicationgroup:wedsync-production-redis
    description:
      description: The description.
      type: str
      sample: WedSync sessions
    status:
      description: C(creating), C(available), C(modifying), C(deleting), C(create-failed) or C(snapshotting).
      type: str
      sample: available
    engine:
      description: The engine.
      type: str
      sample: redis
    engine_version:
      description: The engine version of the primary.
      type: str
      sample: 7.1.0
    cache_node_type:
      description: The node type (the pending one if a change waits for the maintenance window).
      type: str
      sample: cache.r6g.large
    cluster_mode:
      description: C(enabled) (shards) or C(disabled).
      type: str
      sample: disabled
    num_cache_clusters:
      description: The number of nodes.
      type: int
      sample: 2
    num_node_groups:
      description: The number of node groups (shards); 1 with cluster mode disabled.
      type: int
      sample: 1
    replicas_per_node_group:
      description: The number of replicas in each node group (the most of any).
      type: int
      sample: 1
    member_clusters:
      description: The node (cache cluster) identifiers.
      type: list
      elements: str
      sample: [wedsync-production-redis-001, wedsync-production-redis-002]
    availability_zones:
      description: The Availability Zone of each node, by node identifier.
      type: dict
      sample: {wedsync-production-redis-001: us-east-1a, wedsync-production-redis-002: us-east-1b}
    automatic_failover:
      description: Whether automatic failover is enabled (or being enabled).
      type: bool
      sample: true
    multi_az:
      description: Whether Multi-AZ is enabled.
      type: bool
      sample: true
    at_rest_encryption:
      description: Whether data at rest is encrypted.
      type: bool
      sample: true
    kms_key_id:
      description: The KMS key ARN for encryption at rest; null for the AWS-managed key.
      type: str
      sample: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    transit_encryption:
      description: Whether in-transit encryption is enabled.
      type: bool
      sample: true
    transit_encryption_mode:
      description: C(required) or C(preferred), when ElastiCache reports it.
      type: str
      sample: required
    auth_token_enabled:
      description: Whether clients must send an AUTH token. The token itself is never returned.
      type: bool
      sample: true
    auth_token_last_modified_date:
      description: When the AUTH token was last set (ISO 8601).
      type: str
      sample: "2025-11-23T04:10:00+00:00"
    cache_subnet_group:
      description: The cache subnet group.
      type: str
      sample: wedsync-production-cache
    security_group_ids:
      description: The VPC security groups, sorted.
      type: list
      elements: str
      sample: [sg-0123456789abcdef0]
    cache_parameter_group:
      description: The cache parameter group.
      type: str
      sample: default.redis7
    port:
      description: The port.
      type: int
      sample: 6379
    snapshot_retention_limit:
      description: Days automatic snapshots are kept.
      type: int
      sample: 7
    snapshot_window:
      description: The daily snapshot window (UTC).
      type: str
      sample: "02:00-03:00"
    preferred_maintenance_window:
      description: The weekly maintenance window (UTC).
      type: str
      sample: sun:04:00-sun:05:00
    auto_minor_version_upgrade:
      description: Whether minor upgrades are applied automatically.
      type: bool
      sample: true
    primary_endpoint:
      description: Cluster mode disabled, the primary's endpoint (C(address), C(port)); follows failover.
      type: dict
      sample: {address: master.wedsync-production-redis.abc123.use1.cache.amazonaws.com, port: 6379}
    reader_endpoint:
      description: Cluster mode disabled, the endpoint balanced over the replicas.
      type: dict
      sample: {address: replica.wedsync-production-redis.abc123.use1.cache.amazonaws.com, port: 6379}
    configuration_endpoint:
      description: Cluster mode enabled, the configuration endpoint.
      type: dict
      sample: null
    pending_modified_values:
      description: Modifications waiting for the maintenance window, as ElastiCache reports them (snake_case).
      type: dict
      sample: {}
    tags:
      description: The tags.
      type: dict
      sample: {Name: wedsync-production-redis}
"""

import contextlib
import copy
import re
import time
from dataclasses import dataclass, field
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    compare_aws_tags,
)
from ansible_collections.wedsync.platform.plugins.module_utils.elasticache import (
    describe_cache_cluster,
    list_tags,
    primary_cluster_id,
    to_view,
)
from ansible_collections.wedsync.platform.plugins.module_utils.modules import THROTTLING_ERROR_CODES, WedSyncAWSModule

# Seconds between status checks while waiting; ElastiCache changes take minutes.
POLL_SECONDS = 15
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


# -- AWS calls ---------------------------------------------------------------------------------


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def describe_replication_group(client, replication_group_id: str) -> dict[str, Any] | None:
    paginator = client.get_paginator("describe_replication_groups")
    try:
        result = paginator.paginate(ReplicationGroupId=replication_group_id).build_full_result()
    except is_boto3_error_code("ReplicationGroupNotFoundFault"):
        return None
    return result["ReplicationGroups"][0] if result["ReplicationGroups"] else None


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def describe_key_arn(client, key_id: str) -> str:
    return client.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def create_replication_group(client, request: dict[str, Any]) -> None:
    client.create_replication_group(**request)


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def modify_replication_group(client, request: dict[str, Any]) -> None:
    client.modify_replication_group(**request)


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def change_replica_count(client, replication_group_id: str, new_count: int, increase: bool) -> None:
    call = client.increase_replica_count if increase else client.decrease_replica_count
    call(ReplicationGroupId=replication_group_id, NewReplicaCount=new_count, ApplyImmediately=True)


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def delete_replication_group(client, request: dict[str, Any]) -> None:
    client.delete_replication_group(**request)


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def add_tags(client, arn: str, tags: dict[str, str]) -> None:
    client.add_tags_to_resource(ResourceName=arn, Tags=ansible_dict_to_boto3_tag_list(tags))


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def remove_tags(client, arn: str, keys: list[str]) -> None:
    client.remove_tags_from_resource(ResourceName=arn, TagKeys=keys)


def wait_for(client, waiter_name: str, replication_group_id: str, deadline: float) -> None:
    remaining = max(deadline - time.monotonic(), 0)
    attempts = max(int(remaining // POLL_SECONDS), 1)
    client.get_waiter(waiter_name).wait(
        ReplicationGroupId=replication_group_id, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": attempts}
    )


# -- the group as this module shows it -----------------------------------------------------------


def read_group(client, replication_group_id: str) -> dict[str, Any] | None:
    group = describe_replication_group(client, replication_group_id)
    if group is None:
        return None
    primary_id = primary_cluster_id(group)
    primary = describe_cache_cluster(client, primary_id) if primary_id else None
    tags = list_tags(client, group["ARN"]) if group.get("ARN") else {}
    return to_view(group, primary, tags)


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


# -- the module ----------------------------------------------------------------------------------


class ReplicationGroupManager:
    def __init__(self, module: WedSyncAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.group_id = module.params["replication_group_id"]
        self.client = module.client("elasticache")
        self.deadline = time.monotonic() + module.params["wait_timeout"]

    def wait(self, waiter_name: str, always: bool = False) -> None:
        if not (self.params["wait"] or always):
            return
        try:
            wait_for(self.client, waiter_name, self.group_id, self.deadline)
        except botocore.exceptions.WaiterError as e:
            self.module.fail_json_aws(
                e,
                msg=f"{self.group_id} did not reach the expected state within wait_timeout ({self.params['wait_timeout']} s)",
            )

    def kms_key_arn(self) -> str | None:
        key = self.params["kms_key_id"]
        if key is None or re.match(r"^arn:aws[a-z-]*:kms:[^:]+:\d+:key/", key):
            return key
        try:
            return describe_key_arn(self.module.client("kms"), key)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.module.fail_json_aws(e, msg=f"cannot resolve kms_key_id {key}")

    def read(self) -> dict[str, Any] | None:
        try:
            return read_group(self.client, self.group_id)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.module.fail_json_aws(e, msg=f"cannot describe replication group {self.group_id}")

    def present(self, current: dict[str, Any] | None) -> tuple[bool, dict[str, Any], list[str]]:
        kms_key_arn = self.kms_key_arn()
        if current is None:
            return True, self.create(kms_key_arn), []
        plan = plan_changes(self.params, current, kms_key_arn)
        if not plan.changed or self.module.check_mode:
            return plan.changed, plan.after, plan.warnings
        self.apply(current, plan)
        return True, self.read(), plan.warnings

    def create(self, kms_key_arn: str | None) -> dict[str, Any]:
        if self.params["cache_node_type"] is None:
            raise GroupError("cache_node_type is required to create a replication group")
        predicted = predict_new(self.params, kms_key_arn)
        check_result(predicted)
        if self.module.check_mode:
            return predicted
        try:
            create_replication_group(self.client, create_request(self.params, kms_key_arn))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.module.fail_json_aws(e, msg=f"cannot create replication group {self.group_id}")
        self.wait("replication_group_available")
        return self.read()

    def apply(self, current: dict[str, Any], plan: Plan) -> None:
        steps = []
        if plan.replica_count is not None and plan.increase:
            steps.append(
                ("add replicas", lambda: change_replica_count(self.client, self.group_id, plan.replica_count, True))
            )
        if plan.modify:
            request = {"ReplicationGroupId": self.group_id, **plan.modify}
            steps.append(("modify", lambda: modify_replication_group(self.client, request)))
        if plan.replica_count is not None and not plan.increase:
            steps.append(
                ("remove replicas", lambda: change_replica_count(self.client, self.group_id, plan.replica_count, False))
            )
        # ElastiCache takes one change at a time: each step starts from an available group.
        if steps and current["status"] != "available":
            self.wait("replication_group_available", always=True)
        for index, (name, call) in enumerate(steps):
            try:
                call()
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                self.module.fail_json_aws(e, msg=f"cannot {name} on replication group {self.group_id}")
            self.wait("replication_group_available", always=index < len(steps) - 1)
        try:
            if plan.tags_remove:
                remove_tags(self.client, current["arn"], plan.tags_remove)
            if plan.tags_add:
                add_tags(self.client, current["arn"], plan.tags_add)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
            self.module.fail_json_aws(e, msg=f"cannot tag replication group {self.group_id}")

    def absent(self, current: dict[str, Any] | None) -> bool:
        if current is None:
            return False
        if self.module.check_mode:
            return True
        if current["status"] != "deleting":
            if current["status"] not in ("available", "create-failed"):
                self.wait("replication_group_available", always=True)
            request: dict[str, Any] = {"ReplicationGroupId": self.group_id, "RetainPrimaryCluster": False}
            if self.params["final_snapshot_identifier"]:
                request["FinalSnapshotIdentifier"] = self.params["final_snapshot_identifier"]
            try:
                delete_replication_group(self.client, request)
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                self.module.fail_json_aws(e, msg=f"cannot delete replication group {self.group_id}")
        self.wait("replication_group_deleted")
        return True


def main() -> None:
    argument_spec = dict(
        replication_group_id=dict(type="str", required=True, aliases=["name"]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        description=dict(type="str"),
        engine=dict(type="str", choices=["redis", "valkey"], default="redis"),
        engine_version=dict(type="str"),
        cache_node_type=dict(type="str"),
        num_cache_clusters=dict(type="int"),
        num_node_groups=dict(type="int"),
        replicas_per_node_group=dict(type="int"),
        preferred_cache_cluster_azs=dict(type="list", elements="str"),
        automatic_failover=dict(type="bool"),
        multi_az=dict(type="bool"),
        at_rest_encryption=dict(type="bool"),
        kms_key_id=dict(type="str"),
        transit_encryption=dict(type="bool"),
        auth_token=dict(type="str", no_log=True),
        auth_token_update_strategy=dict(type="str", choices=["rotate", "set", "delete"], no_log=False),
        cache_subnet_group=dict(type="str"),
        security_group_ids=dict(type="list", elements="str"),
        cache_parameter_group=dict(type="str"),
        port=dict(type="int"),
        snapshot_retention_limit=dict(type="int"),
        snapshot_window=dict(type="str"),
        preferred_maintenance_window=dict(type="str"),
        auto_minor_version_upgrade=dict(type="bool"),
        apply_immediately=dict(type="bool", default=False),
        final_snapshot_identifier=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=2400),
    )
    module = WedSyncAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[
            ["num_cache_clusters", "num_node_groups"],
            ["num_cache_clusters", "replicas_per_node_group"],
        ],
        required_by={"replicas_per_node_group": "num_node_groups"},
        supports_check_mode=True,
    )
    manager = ReplicationGroupManager(module)
    try:
        check_params(module.params)
        current = manager.read()
        if module.params["state"] == "absent":
            changed, after, warnings = manager.absent(current), {}, []
        else:
            changed, after, warnings = manager.present(current)
    except GroupError as e:
        module.fail_json(msg=str(e))
    for warning in warnings:
        module.warn(warning)
    result: dict[str, Any] = {"changed": changed, "replication_group": after}
    if module._diff:
        result["diff"] = {"before": current or {}, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
