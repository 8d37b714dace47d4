#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: elasticache_replication_group_info
version_added: 0.1.0
short_description: Describe ElastiCache (Redis OSS, Valkey) replication groups
description:
  - Describes one replication group, or every one in the region, with the settings ElastiCache keeps
    on the primary node (engine version, parameter group, security groups, subnet group, maintenance
    window) and the group's tags, in the shape M(wedsync.platform.elasticache_replication_group) returns.
  - Never returns an AUTH token; each group's C(auth_token_enabled) says whether one is set.
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
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules, amazon.aws.region.modules,
  amazon.aws.boto3]
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
    - The groups found, sorted by identifier, each as
      RV(wedsync.platform.elasticache_replication_group#module:replication_group) describes it.
  returned: always
  type: list
  elements: dict
  sample: [{replication_group_id: wedsync-production-redis, status: available, engine: redis}]
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
