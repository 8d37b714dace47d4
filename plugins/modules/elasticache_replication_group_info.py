#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: elasticache_replication_group_info
version_added: 0.1.0
short_description: Describe ElastiCache (Redis OSS, Valkey) replication groups
description:
  - Describes one replication group, or every one in the region, with the settings ElastiCache keeps
    on the primary node (engine version, parameter group, security groups, subnet group, maintenance
    window) and the group's tags, in the shape M(wedsync.platform.elasticache_replication_group) returns.
  - Never returns an AUTH token; RV(replication_groups[].auth_token_enabled) says whether one is set.
options:
  replication_group_id:
    description:
      - The group to describe. Without it, every group in the region.
      - A group that does not exist gives an empty list, not an error.
    type: str
    aliases:
      - name
attributes:
  check_mode:
    support: full
    details: The module only reads.
seealso:
  - module: wedsync.platform.elasticache_replication_group
extends_documentation_fragment:
  - wedsync.platform.aws
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Describe the production Redis group
  wedsync.platform.elasticache_replication_group_info:
    replication_group_id: wedsync-production-redis
  register: redis

- name: Require Multi-AZ, failover and both kinds of encryption
  ansible.builtin.assert:
    that:
      - redis.replication_groups | length == 1
      - redis.replication_groups[0].multi_az
      - redis.replication_groups[0].automatic_failover
      - redis.replication_groups[0].at_rest_encryption
      - redis.replication_groups[0].transit_encryption
      - redis.replication_groups[0].auth_token_enabled

- name: Every group in the region
  wedsync.platform.elasticache_replication_group_info:
  register: all_groups
"""

RETURN = r"""
replication_groups:
  description:
    - The groups found, sorted by identifier. Each has the keys of RV(wedsync.platform.elasticache_replication_group#module:replication_group).
  returned: always
  type: list
  elements: dict
  contains:
    replication_group_id:
      description: The identifier.
      type: str
      sample: wedsync-production-redis
    arn:
      description: The ARN.
      type: str
      sample: arn:aws:elasticache:us-east-1:123456789012:replicationgroup:wedsync-production-redis
    status:
      description: The group's status.
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
      description: The node type.
      type: str
      sample: cache.r6g.large
    cluster_mode:
      description: C(enabled) or C(disabled).
      type: str
      sample: disabled
    num_cache_clusters:
      description: The number of nodes.
      type: int
      sample: 2
    num_node_groups:
      description: The number of node groups.
      type: int
      sample: 1
    replicas_per_node_group:
      description: Replicas in each node group (the most of any).
      type: int
      sample: 1
    member_clusters:
      description: The node identifiers.
      type: list
      elements: str
      sample: [wedsync-production-redis-001, wedsync-production-redis-002]
    availability_zones:
      description: The Availability Zone of each node.
      type: dict
      sample: {wedsync-production-redis-001: us-east-1a}
    automatic_failover:
      description: Whether automatic failover is enabled.
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
      description: The KMS key ARN of encryption at rest.
      type: str
      sample: arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    transit_encryption:
      description: Whether in-transit encryption is enabled.
      type: bool
      sample: true
    transit_encryption_mode:
      description: C(required) or C(preferred).
      type: str
      sample: required
    auth_token_enabled:
      description: Whether an AUTH token is required.
      type: bool
      sample: true
    auth_token_last_modified_date:
      description: When the AUTH token was last set.
      type: str
      sample: "2025-11-23T04:10:00+00:00"
    cache_subnet_group:
      description: The cache subnet group.
      type: str
      sample: wedsync-production-cache
    security_group_ids:
      description: The VPC security groups.
      type: list
      elements: str
      sample: [sg-0123456789abcdef0]
    cache_parameter_group:
      description: The parameter group.
      type: str
      sample: default.redis7
    port:
      description: The port.
      type: int
      sample: 6379
    snapshot_retention_limit:
      description: Days snapshots are kept.
      type: int
      sample: 7
    snapshot_window:
      description: Daily snapshot window (UTC).
      type: str
      sample: "02:00-03:00"
    preferred_maintenance_window:
      description: Weekly maintenance window (UTC).
      type: str
      sample: sun:04:00-sun:05:00
    auto_minor_version_upgrade:
      description: Whether minor upgrades are automatic.
      type: bool
      sample: true
    primary_endpoint:
      description: The primary endpoint (C(address), C(port)), cluster mode disabled.
      type: dict
      sample: {address: master.wedsync-production-redis.abc123.use1.cache.amazonaws.com, port: 6379}
    reader_endpoint:
      description: The reader endpoint, cluster mode disabled.
      type: dict
      sample: {address: replica.wedsync-production-redis.abc123.use1.cache.amazonaws.com, port: 6379}
    configuration_endpoint:
      description: The configuration endpoint, cluster mode enabled.
      type: dict
      sample: null
    pending_modified_values:
      description: Modifications waiting for the maintenance window.
      type: dict
      sample: {}
    tags:
      description: The tags.
      type: dict
      sample: {Name: wedsync-production-redis}
"""

from ansible_collections.wedsync.platform.plugins.module_utils._elasticache import read_views
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule


def main() -> None:
    module = WedSyncAWSModule(
        argument_spec=dict(replication_group_id=dict(type="str", aliases=["name"])),
        supports_check_mode=True,
    )
    try:
        views = read_views(module.client("elasticache"), module.params["replication_group_id"])
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, replication_groups=sorted(views, key=lambda v: v["replication_group_id"]))


if __name__ == "__main__":
    main()
