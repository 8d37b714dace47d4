#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ec2_vpc_flow_log
version_added: 0.1.0
short_description: Manage VPC flow logs
description:
  - Creates, updates and deletes the flow log of one VPC, subnet, network interface or transit gateway
    to one destination, which is a CloudWatch Logs log group, an S3 bucket or a Kinesis Data Firehose stream.
  - A flow log is identified by its resource (O(resource_id)) and its destination (O(log_group_name) or
    O(log_destination)). This module keeps exactly one flow log for that pair.
  - AWS cannot modify a flow log. When the traffic type, destination type, IAM role, log format or
    aggregation interval of the existing flow log differ from the requested ones, the module deletes it
    and creates a new one (records captured between the two calls are lost). Only tags are updated in place.
  - Other flow logs of the same resource, to other destinations, are left alone.
options:
  state:
    description:
      - V(present) creates or replaces the flow log as needed; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  resource_id:
    description:
      - The ID of the resource whose traffic is logged, for example a VPC ID.
    type: str
    required: true
  resource_type:
    description:
      - The type of O(resource_id).
    type: str
    choices: [VPC, Subnet, NetworkInterface, TransitGateway, TransitGatewayAttachment]
    default: VPC
  traffic_type:
    description:
      - Which traffic is logged.
    type: str
    choices: [ACCEPT, REJECT, ALL]
    default: ALL
  log_destination_type:
    description:
      - Where the records are delivered.
    type: str
    choices: [cloud-watch-logs, s3, kinesis-data-firehose]
    default: cloud-watch-logs
  log_group_name:
    description:
      - The CloudWatch Logs log group, by name, for O(log_destination_type=cloud-watch-logs).
      - The log group should exist; AWS accepts a missing one and reports the delivery as failed.
      - Mutually exclusive with O(log_destination).
    type: str
  log_destination:
    description:
      - The ARN of the destination, required for V(s3) and V(kinesis-data-firehose).
      - For V(cloud-watch-logs), the ARN of the log group, as an alternative to O(log_group_name).
      - For V(s3), the bucket ARN, optionally followed by a folder, for example C(arn:aws:s3:::my-bucket/flow-logs/).
    type: str
  deliver_logs_permission_arn:
    description:
      - The ARN of the IAM role the flow logs service assumes to write to the destination.
      - Required with O(state=present) and O(log_destination_type=cloud-watch-logs).
      - The role's trust policy must allow C(vpc-flow-logs.amazonaws.com) to assume it.
    type: str
    aliases:
      - iam_role_arn
  log_format:
    description:
      - The fields of each record, as C(${field}) separated by spaces.
      - When omitted, a new flow log gets the AWS default format and the format of an existing one is
        not compared.
    type: str
  max_aggregation_interval:
    description:
      - The longest time, in seconds, over which a flow is captured into one record.
    type: int
    choices: [60, 600]
    default: 600
attributes:
  check_mode:
    support: full
    details: Check mode reports the change and returns the flow log as it would be, with a null ID when one would be created.
  diff_mode:
    support: full
    details: The flow log's destination, filter, format, aggregation interval and tags before and after.
notes:
  - Deleting a flow log does not delete its log group, bucket or stream, nor the records already delivered.
  - For S3 destinations the AWS default destination options (plain text, no Hive partitions, daily
    partitions) apply.
seealso:
  - module: amazon.aws.cloudwatchlogs_log_group
  - module: amazon.aws.iam_role
  - module: amazon.aws.ec2_vpc_net
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules,
  amazon.aws.region.modules, amazon.aws.tags, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Log all traffic of a VPC to CloudWatch Logs, through a role for the flow logs service
  wedsync.platform.ec2_vpc_flow_log:
    resource_id: "{{ vpc.vpc.id }}"
    traffic_type: ALL
    log_group_name: /wedsync/wedsync-production/vpc-flow-logs
    deliver_logs_permission_arn: "{{ flow_logs_role.iam_role.arn }}"
    max_aggregation_interval: 60
    tags:
      Name: wedsync-production-vpc-flow-logs
  register: flow_log

- name: Log rejected traffic of one subnet to an S3 bucket, under a folder
  wedsync.platform.ec2_vpc_flow_log:
    resource_type: Subnet
    resource_id: subnet-0123456789abcdef0
    traffic_type: REJECT
    log_destination_type: s3
    log_destination: arn:aws:s3:::wedsync-production-logs-us-east-1/vpc-flow-logs/
    log_format: "${version} ${vpc-id} ${subnet-id} ${srcaddr} ${dstaddr} ${dstport} ${action} ${tcp-flags}"

- name: Stop logging a VPC to that log group
  wedsync.platform.ec2_vpc_flow_log:
    resource_id: vpc-0123456789abcdef0
    log_group_name: /wedsync/wedsync-production/vpc-flow-logs
    state: absent
"""

RETURN = r"""
flow_log:
  description:
    - The flow log after the change, or as it would be in check mode; empty after O(state=absent).
  returned: always
  type: dict
  contains:
    flow_log_id:
      description: The ID of the flow log; null in check mode when it would be created.
      type: str
      returned: always
      sample: fl-0123456789abcdef0
    resource_id:
      description: The resource whose traffic is logged.
      type: str
      returned: always
      sample: vpc-0123456789abcdef0
    traffic_type:
      description: V(ACCEPT), V(REJECT) or V(ALL).
      type: str
      returned: always
      sample: ALL
    log_destination_type:
      description: V(cloud-watch-logs), V(s3) or V(kinesis-data-firehose).
      type: str
      returned: always
      sample: cloud-watch-logs
    log_group_name:
      description: The log group, for V(cloud-watch-logs).
      type: str
      returned: when the destination is a log group
      sample: /wedsync/wedsync-production/vpc-flow-logs
    log_destination:
      description: The ARN of the destination, as AWS reports it.
      type: str
      returned: when AWS reports one
      sample: arn:aws:logs:us-east-1:123456789012:log-group:/wedsync/wedsync-production/vpc-flow-logs
    deliver_logs_permission_arn:
      description: The IAM role the flow logs service assumes.
      type: str
      returned: when set
      sample: arn:aws:iam::123456789012:role/wedsync-production-vpc-flow-logs-us-east-1
    deliver_logs_status:
      description: V(SUCCESS) or V(FAILED), as AWS last saw delivery; null in check mode for a new flow log.
      type: str
      returned: always
      sample: SUCCESS
    deliver_logs_error_message:
      description: Why delivery fails, when it does.
      type: str
      returned: when delivery fails
      sample: Access error
    flow_log_status:
      description: V(ACTIVE) once created.
      type: str
      returned: always
      sample: ACTIVE
    log_format:
      description: The record format; null in check mode when it would be the AWS default.
      type: str
      returned: always
      sample: "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"
    max_aggregation_interval:
      description: The aggregation interval, in seconds.
      type: int
      returned: always
      sample: 60
    creation_time:
      description: When the flow log was created (ISO 8601); null in check mode for a new flow log.
      type: str
      returned: always
      sample: "2025-11-25T04:12:03+00:00"
    tags:
      description: The flow log's tags.
      type: dict
      returned: always
      sample: {"Name": "wedsync-production-vpc-flow-logs"}
replaced:
  description:
    - The IDs of the flow logs deleted because they could not be changed in place, or, with
      O(state=absent), the IDs deleted.
  returned: always
  type: list
  elements: str
  sample: ["fl-0fedcba9876543210"]
"""

import uuid
from datetime import datetime
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)
from ansible_collections.wedsync.platform.plugins.module_utils._ec2 import (
    create_flow_log,
    create_tags,
    delete_flow_logs,
    delete_tags,
    describe_flow_log,
    describe_flow_logs,
    describe_tags,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule

CLOUD_WATCH_LOGS = "cloud-watch-logs"


# -- what is asked, what exists ----------------------------------------------------------------


def log_group_from_arn(arn: str | None) -> str | None:
    """The log group name in a CloudWatch Logs log group ARN (with or without the trailing :*)."""
    if not arn or not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 6)
    if len(parts) < 7 or parts[2] != "logs" or parts[5] != "log-group":
        return None
    name = parts[6]
    return name[:-2] if name.endswith(":*") else name


def destination_key(destination_type: str, log_group_name: str | None, log_destination: str | None) -> str | None:
    """What identifies a destination: the log group name for CloudWatch Logs, else the ARN."""
    if destination_type == CLOUD_WATCH_LOGS:
        return log_group_name or log_group_from_arn(log_destination)
    return log_destination.rstrip("/") if log_destination else None


def existing_destination_key(flow_log: dict[str, Any]) -> str | None:
    return destination_key(
        flow_log.get("LogDestinationType", CLOUD_WATCH_LOGS),
        flow_log.get("LogGroupName"),
        flow_log.get("LogDestination"),
    )


def desired_from_params(params: dict[str, Any]) -> dict[str, Any]:
    """The flow log asked for, in the shape DescribeFlowLogs reports one."""
    desired = {
        "ResourceId": params["resource_id"],
        "TrafficType": params["traffic_type"],
        "LogDestinationType": params["log_destination_type"],
        "MaxAggregationInterval": params["max_aggregation_interval"],
    }
    if params["log_destination_type"] == CLOUD_WATCH_LOGS:
        desired["LogGroupName"] = params["log_group_name"] or log_group_from_arn(params["log_destination"])
    if params["log_destination"]:
        desired["LogDestination"] = params["log_destination"]
    if params["deliver_logs_permission_arn"]:
        desired["DeliverLogsPermissionArn"] = params["deliver_logs_permission_arn"]
    if params["log_format"]:
        desired["LogFormat"] = params["log_format"]
    return desired


# The attributes AWS cannot change on a flow log; an unset optional one is not compared.
IMMUTABLE = ("TrafficType", "LogDestinationType", "DeliverLogsPermissionArn", "LogFormat", "MaxAggregationInterval")


def differences(existing: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """The immutable attributes of `existing` that differ from `desired`."""
    return [key for key in IMMUTABLE if key in desired and existing.get(key) != desired[key]]


def request_from_desired(desired: dict[str, Any], resource_type: str, tags: dict[str, str] | None) -> dict[str, Any]:
    request = {
        "ResourceIds": [desired["ResourceId"]],
        "ResourceType": resource_type,
        "ClientToken": str(uuid.uuid4()),  # a retried create after a lost response makes no second flow log
        **{key: desired[key] for key in IMMUTABLE if key in desired},
    }
    if desired.get("LogDestination"):
        request["LogDestination"] = desired["LogDestination"]
    else:
        request["LogGroupName"] = desired["LogGroupName"]
    if tags:
        request["TagSpecifications"] = [{"ResourceType": "vpc-flow-log", "Tags": ansible_dict_to_boto3_tag_list(tags)}]
    return request


def tags_after(current: dict[str, str], tags: dict[str, str] | None, purge: bool) -> dict[str, str]:
    if tags is None:
        return dict(current)
    to_set, to_unset = compare_aws_tags(current, tags, purge)
    return {**{k: v for k, v in current.items() if k not in to_unset}, **{k: str(v) for k, v in to_set.items()}}


def to_result(flow_log: dict[str, Any] | None) -> dict[str, Any]:
    """A DescribeFlowLogs entry as this module returns it: snake_case, tags as a dict."""
    if not flow_log:
        return {}
    result = camel_dict_to_snake_dict({k: v for k, v in flow_log.items() if k != "Tags"})
    if isinstance(result.get("creation_time"), datetime):
        result["creation_time"] = result["creation_time"].isoformat()
    result["tags"] = boto3_tag_list_to_ansible_dict(flow_log.get("Tags", []))
    return result


def predicted(desired: dict[str, Any], existing: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
    """The flow log as it would be after the run: the existing one kept, or a new one not yet created."""
    if existing is not None:
        return {**to_result(existing), "tags": tags}
    new = to_result(desired)
    new.update(
        flow_log_id=None,
        flow_log_status="ACTIVE",
        deliver_logs_status=None,
        creation_time=None,
        log_format=desired.get("LogFormat"),
        tags=tags,
    )
    return new


# -- the module --------------------------------------------------------------------------------


class FlowLogManager:
    def __init__(self, module: WedSyncAWSModule, client) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.desired = desired_from_params(self.params)
        self.key = destination_key(
            self.params["log_destination_type"], self.params["log_group_name"], self.params["log_destination"]
        )

    def matching(self) -> list[dict[str, Any]]:
        """The resource's flow logs to this destination, the one that needs no replacement first."""
        found = [
            fl
            for fl in describe_flow_logs(self.client, self.params["resource_id"])
            if existing_destination_key(fl) == self.key
        ]
        return sorted(found, key=lambda fl: (bool(differences(fl, self.desired)), str(fl.get("CreationTime", ""))))

    def present(self) -> dict[str, Any]:
        found = self.matching()
        keep = found[0] if found and not differences(found[0], self.desired) else None
        obsolete = [fl["FlowLogId"] for fl in found if fl is not keep]
        current_tags = boto3_tag_list_to_ansible_dict(keep.get("Tags", [])) if keep else {}
        final_tags = tags_after(current_tags, self.params["tags"], self.params["purge_tags"])
        before = to_result(found[0]) if found else {}
        changed = keep is None or bool(obsolete) or final_tags != current_tags
        result = {"changed": changed, "replaced": obsolete}
        if found and keep is None:
            result["msg"] = (
                f"replaced {found[0]['FlowLogId']}: AWS cannot change its "
                f"{', '.join(differences(found[0], self.desired))}"
            )
        if self.module.check_mode:
            flow_log = predicted(self.desired, keep, final_tags)
        else:
            if obsolete:
                delete_flow_logs(self.client, obsolete)
            if keep is None:
                request = request_from_desired(self.desired, self.params["resource_type"], self.params["tags"])
                flow_log_id = create_flow_log(self.client, request)
            else:
                flow_log_id = keep["FlowLogId"]
                self.update_tags(flow_log_id)
            # DescribeFlowLogs is eventually consistent: a flow log just created may not be listed yet.
            flow_log = to_result(describe_flow_log(self.client, flow_log_id)) or {
                **predicted(self.desired, None, final_tags),
                "flow_log_id": flow_log_id,
            }
            if flow_log.get("deliver_logs_status") == "FAILED":
                self.module.warn(
                    f"flow log {flow_log_id} cannot deliver: "
                    f"{flow_log.get('deliver_logs_error_message') or 'no reason given'}"
                )
        result["flow_log"] = flow_log
        if self.module._diff:
            result["diff"] = {"before": before, "after": flow_log}
        return result

    def update_tags(self, flow_log_id: str) -> None:
        if self.params["tags"] is None:
            return
        # Read by ID with no resource type: DescribeTags reports flow logs as "vpc-flow-log" in AWS but
        # not in every emulator, and the ID alone is unambiguous.
        current = describe_tags(self.client, flow_log_id)
        to_set, to_unset = compare_aws_tags(current, self.params["tags"], self.params["purge_tags"])
        if to_unset:
            delete_tags(self.client, flow_log_id, to_unset)
        if to_set:
            create_tags(self.client, flow_log_id, to_set)

    def absent(self) -> dict[str, Any]:
        found = self.matching()
        ids = [fl["FlowLogId"] for fl in found]
        if ids and not self.module.check_mode:
            delete_flow_logs(self.client, ids)
        result = {"changed": bool(ids), "replaced": ids, "flow_log": {}}
        if self.module._diff:
            result["diff"] = {"before": to_result(found[0]) if found else {}, "after": {}}
        return result


def check_params(module: WedSyncAWSModule) -> None:
    params = module.params
    cloud_watch = params["log_destination_type"] == CLOUD_WATCH_LOGS
    if cloud_watch and not (params["log_group_name"] or log_group_from_arn(params["log_destination"])):
        module.fail_json(
            msg="log_destination_type=cloud-watch-logs needs log_group_name or a log group ARN "
            f"in log_destination; got log_destination={params['log_destination']!r}"
        )
    if not cloud_watch and params["log_group_name"]:
        module.fail_json(
            msg=f"log_group_name applies to cloud-watch-logs only; for {params['log_destination_type']} "
            "set log_destination to the destination's ARN"
        )
    if not cloud_watch and not params["log_destination"]:
        module.fail_json(msg=f"log_destination_type={params['log_destination_type']} needs log_destination")
    if cloud_watch and params["state"] == "present" and not params["deliver_logs_permission_arn"]:
        module.fail_json(
            msg="log_destination_type=cloud-watch-logs needs deliver_logs_permission_arn, "
            "an IAM role the flow logs service can assume"
        )


def main() -> None:
    argument_spec = dict(
        state=dict(type="str", choices=["present", "absent"], default="present"),
        resource_id=dict(type="str", required=True),
        resource_type=dict(
            type="str",
            choices=["VPC", "Subnet", "NetworkInterface", "TransitGateway", "TransitGatewayAttachment"],
            default="VPC",
        ),
        traffic_type=dict(type="str", choices=["ACCEPT", "REJECT", "ALL"], default="ALL"),
        log_destination_type=dict(
            type="str", choices=[CLOUD_WATCH_LOGS, "s3", "kinesis-data-firehose"], default=CLOUD_WATCH_LOGS
        ),
        log_group_name=dict(type="str"),
        log_destination=dict(type="str"),
        deliver_logs_permission_arn=dict(type="str", aliases=["iam_role_arn"]),
        log_format=dict(type="str"),
        max_aggregation_interval=dict(type="int", choices=[60, 600], default=600),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = WedSyncAWSModule(
        argument_spec=argument_spec,
        mutually_exclusive=[["log_group_name", "log_destination"]],
        supports_check_mode=True,
    )
    check_params(module)
    manager = FlowLogManager(module, module.client("ec2"))
    try:
        result = manager.present() if module.params["state"] == "present" else manager.absent()
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
