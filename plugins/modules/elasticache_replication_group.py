#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
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
  - With O(wait=true), the default, waits for the group to be C(available) after creating or changing
    it, or gone after deleting it. Between steps that ElastiCache cannot take at once (replicas, then
    settings) the module always waits.
options:
  wait:
    default: true
  wait_timeout:
    default: 2400
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
extends_documentation_fragment: [wedsync.platform.aws, wedsync.platform.wait,
  amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.tags, amazon.aws.boto3]
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

import re
import time
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils._elasticache import (
    add_tags,
    change_replica_count,
    create_replication_group,
    delete_replication_group,
    modify_replication_group,
    read_views,
    remove_tags,
    wait_for,
)
from ansible_collections.wedsync.platform.plugins.module_utils._kms import describe_key_arn
from ansible_collections.wedsync.platform.plugins.module_utils.elasticache import (
    GroupError,
    Plan,
    check_params,
    check_result,
    create_request,
    plan_changes,
    predict_new,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule


class ReplicationGroupManager:
    def __init__(self, module: WedSyncAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.group_id = module.params["replication_group_id"]
        self.client = module.client("elasticache")
        self.deadline = time.monotonic() + module.params["wait_timeout"]

    def wait(self, waiter_name: str, always: bool = False) -> None:
        if self.params["wait"] or always:
            wait_for(self.client, waiter_name, self.group_id, self.deadline, self.params["wait_timeout"])

    def kms_key_arn(self) -> str | None:
        key = self.params["kms_key_id"]
        if key is None or re.match(r"^arn:aws[a-z-]*:kms:[^:]+:\d+:key/", key):
            return key
        return describe_key_arn(self.module.client("kms"), key)

    def read(self) -> dict[str, Any] | None:
        views = read_views(self.client, self.group_id)
        return views[0] if views else None

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
        create_replication_group(self.client, create_request(self.params, kms_key_arn))
        self.wait("replication_group_available")
        return self.read()

    def apply(self, current: dict[str, Any], plan: Plan) -> None:
        steps = []
        if plan.replica_count is not None and plan.increase:
            steps.append(lambda: change_replica_count(self.client, self.group_id, plan.replica_count, True))
        if plan.modify:
            request = {"ReplicationGroupId": self.group_id, **plan.modify}
            steps.append(lambda: modify_replication_group(self.client, request))
        if plan.replica_count is not None and not plan.increase:
            steps.append(lambda: change_replica_count(self.client, self.group_id, plan.replica_count, False))
        # ElastiCache takes one change at a time: each step starts from an available group.
        if steps and current["status"] != "available":
            self.wait("replication_group_available", always=True)
        for index, call in enumerate(steps):
            call()
            self.wait("replication_group_available", always=index < len(steps) - 1)
        if plan.tags_remove:
            remove_tags(self.client, current["arn"], plan.tags_remove)
        if plan.tags_add:
            add_tags(self.client, current["arn"], plan.tags_add)

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
            delete_replication_group(self.client, request)
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
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
    for warning in warnings:
        module.warn(warning)
    result: dict[str, Any] = {"changed": changed, "replication_group": after}
    if module._diff:
        result["diff"] = {"before": current or {}, "after": after}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
