#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: s3_bucket_replication
version_added: 0.1.0
short_description: Manage the replication configuration of an S3 bucket
description:
  - Sets, or removes, the replication rules of an S3 bucket, for example to copy every new object to a bucket
    in the disaster-recovery region (cross-region replication).
  - The bucket and each destination bucket must have versioning enabled; S3 refuses replication otherwise.
  - The rules given replace the bucket's rules; a configuration that already matches is left alone
    (C(changed=false)).
options:
  bucket:
    description: The source bucket.
    type: str
    required: true
  state:
    description: Whether the bucket replicates.
    type: str
    choices: [present, absent]
    default: present
  role_arn:
    description: The IAM role S3 assumes to replicate. Required with O(state=present).
    type: str
  rules:
    description: The replication rules. Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      id:
        description: The rule's unique name.
        type: str
        required: true
      priority:
        description: Which rule wins where rules overlap (higher wins).
        type: int
        default: 1
      prefix:
        description: Only objects whose key starts with this; every object when empty.
        type: str
        default: ""
      destination_bucket:
        description: The destination bucket, by name or ARN.
        type: str
        required: true
      storage_class:
        description: The storage class of the replicas; the source object's class when omitted.
        type: str
        choices: [STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING, GLACIER, GLACIER_IR, DEEP_ARCHIVE]
      replica_kms_key_id:
        description:
          - KMS key (ARN, in the destination's region) the replicas are encrypted with. Setting it also replicates
            objects encrypted with SSE-KMS.
        type: str
      delete_marker_replication:
        description: Whether deletions (delete markers) are replicated too.
        type: bool
        default: false
      enabled:
        description: Whether the rule is in force.
        type: bool
        default: true
attributes:
  diff_mode:
    support: full
    details: The bucket's replication rules and role before and after, as RV(replication) shows them.
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules,
  amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Copy every upload to the DR region, encrypted with the DR key
  wedsync.platform.s3_bucket_replication:
    bucket: wedsync-production-uploads-us-east-1
    role_arn: arn:aws:iam::123456789012:role/wedsync-production-s3-replication
    rules:
      - id: to-dr
        destination_bucket: wedsync-production-uploads-us-west-2
        replica_kms_key_id: arn:aws:kms:us-west-2:123456789012:key/0f9d3c1e-1111-2222-3333-444455556666
        delete_marker_replication: true

- name: Stop replicating
  wedsync.platform.s3_bucket_replication:
    bucket: wedsync-production-uploads-us-east-1
    state: absent
"""

RETURN = r"""
replication:
  description: The bucket's replication as it is after the task (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    role_arn:
      description: The role S3 assumes.
      type: str
      sample: arn:aws:iam::123456789012:role/wedsync-production-s3-replication
    rules:
      description: The rules, sorted by id, in the form of O(rules).
      type: list
      elements: dict
      sample:
        - id: to-dr
          priority: 1
          prefix: ""
          destination_bucket: arn:aws:s3:::wedsync-production-uploads-us-west-2
          storage_class: null
          replica_kms_key_id: null
          delete_marker_replication: true
          enabled: true
"""

from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils._s3 import (
    delete_bucket_replication,
    get_bucket_replication,
    put_bucket_replication,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule


def bucket_arn(bucket: str) -> str:
    return bucket if bucket.startswith("arn:") else f"arn:aws:s3:::{bucket}"


def normalise_rule(rule: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": rule["id"],
        "priority": int(rule["priority"]),
        "prefix": rule["prefix"] or "",
        "destination_bucket": bucket_arn(rule["destination_bucket"]),
        "storage_class": rule.get("storage_class"),
        "replica_kms_key_id": rule.get("replica_kms_key_id"),
        "delete_marker_replication": bool(rule["delete_marker_replication"]),
        "enabled": bool(rule["enabled"]),
    }


def desired_replication(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "role_arn": params["role_arn"],
        "rules": sorted((normalise_rule(r) for r in params["rules"]), key=lambda r: r["id"]),
    }


def to_api(replication: dict[str, Any]) -> dict[str, Any]:
    return {"Role": replication["role_arn"], "Rules": [to_api_rule(r) for r in replication["rules"]]}


def to_api_rule(rule: dict[str, Any]) -> dict[str, Any]:
    destination: dict[str, Any] = {"Bucket": rule["destination_bucket"]}
    if rule["storage_class"]:
        destination["StorageClass"] = rule["storage_class"]
    api: dict[str, Any] = {
        "ID": rule["id"],
        "Priority": rule["priority"],
        "Status": "Enabled" if rule["enabled"] else "Disabled",
        "Filter": {"Prefix": rule["prefix"]},
        "DeleteMarkerReplication": {"Status": "Enabled" if rule["delete_marker_replication"] else "Disabled"},
        "Destination": destination,
    }
    if rule["replica_kms_key_id"]:
        destination["EncryptionConfiguration"] = {"ReplicaKmsKeyID": rule["replica_kms_key_id"]}
        api["SourceSelectionCriteria"] = {"SseKmsEncryptedObjects": {"Status": "Enabled"}}
    return api


def from_api(api: dict[str, Any]) -> dict[str, Any]:
    return {
        "role_arn": api.get("Role"),
        "rules": sorted((from_api_rule(r) for r in api.get("Rules", [])), key=lambda r: r["id"]),
    }


def from_api_rule(api: dict[str, Any]) -> dict[str, Any]:
    destination = api.get("Destination", {})
    prefix = (api.get("Filter") or {}).get("Prefix", api.get("Prefix", ""))
    return {
        "id": api.get("ID"),
        "priority": int(api.get("Priority", 1)),
        "prefix": prefix or "",
        "destination_bucket": destination.get("Bucket"),
        "storage_class": destination.get("StorageClass"),
        "replica_kms_key_id": (destination.get("EncryptionConfiguration") or {}).get("ReplicaKmsKeyID"),
        "delete_marker_replication": (api.get("DeleteMarkerReplication") or {}).get("Status") == "Enabled",
        "enabled": api.get("Status") == "Enabled",
    }


def main() -> None:
    rule = {
        "id": {"type": "str", "required": True},
        "priority": {"type": "int", "default": 1},
        "prefix": {"type": "str", "default": ""},
        "destination_bucket": {"type": "str", "required": True},
        "storage_class": {
            "type": "str",
            "choices": [
                "STANDARD",
                "STANDARD_IA",
                "ONEZONE_IA",
                "INTELLIGENT_TIERING",
                "GLACIER",
                "GLACIER_IR",
                "DEEP_ARCHIVE",
            ],
        },
        "replica_kms_key_id": {"type": "str"},
        "delete_marker_replication": {"type": "bool", "default": False},
        "enabled": {"type": "bool", "default": True},
    }
    module = WedSyncAWSModule(
        argument_spec={
            "bucket": {"type": "str", "required": True},
            "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
            "role_arn": {"type": "str"},
            "rules": {"type": "list", "elements": "dict", "options": rule},
        },
        required_if=[("state", "present", ["role_arn", "rules"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "present":
        ids = [r["id"] for r in params["rules"]]
        if not ids or len(set(ids)) != len(ids):
            module.fail_json(msg=f"rules must be at least one, with unique ids (got {ids})")

    client = module.client("s3")
    try:
        found = get_bucket_replication(client, params["bucket"])
        before = from_api(found) if found else {}
        after = desired_replication(params) if params["state"] == "present" else {}
        changed = before != after
        if changed and not module.check_mode:
            if after:
                put_bucket_replication(client, params["bucket"], to_api(after))
            else:
                delete_bucket_replication(client, params["bucket"])
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)

    module.exit_json(changed=changed, replication=after, diff={"before": before, "after": after})


if __name__ == "__main__":
    main()
