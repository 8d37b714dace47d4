# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Auto Scaling API calls of the collection: one boto call each, retried, raising AutoScalingError."""

from __future__ import annotations

from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry

# The one granularity Auto Scaling collects group metrics at.
METRICS_GRANULARITY = "1Minute"


class AutoScalingError(WedSyncAWSError):
    pass


class GroupErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = AutoScalingError


class PolicyErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = AutoScalingError


@GroupErrorHandler.common_error_handler("describe Auto Scaling groups")
@aws_retry
def describe_auto_scaling_groups(client, names: list[str]) -> list[dict[str, Any]]:
    """The groups of these names that exist; none asked for is none (AWS would answer every group)."""
    if not names:
        return []
    paginator = client.get_paginator("describe_auto_scaling_groups")
    return paginator.paginate(AutoScalingGroupNames=names).build_full_result()["AutoScalingGroups"]


@GroupErrorHandler.common_error_handler("create Auto Scaling group")
@aws_retry
def create_auto_scaling_group(client, request: dict[str, Any]) -> None:
    client.create_auto_scaling_group(**request)


@GroupErrorHandler.common_error_handler("update Auto Scaling group")
@aws_retry
def update_auto_scaling_group(client, request: dict[str, Any]) -> None:
    client.update_auto_scaling_group(**request)


@GroupErrorHandler.common_error_handler("delete Auto Scaling group")
@aws_retry
def delete_auto_scaling_group(client, name: str, force_delete: bool) -> None:
    client.delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=force_delete)


@GroupErrorHandler.common_error_handler("attach target groups to Auto Scaling group")
@aws_retry
def attach_target_groups(client, name: str, arns: list[str]) -> None:
    client.attach_load_balancer_target_groups(AutoScalingGroupName=name, TargetGroupARNs=arns)


@GroupErrorHandler.common_error_handler("detach target groups from Auto Scaling group")
@aws_retry
def detach_target_groups(client, name: str, arns: list[str]) -> None:
    client.detach_load_balancer_target_groups(AutoScalingGroupName=name, TargetGroupARNs=arns)


@GroupErrorHandler.common_error_handler("enable Auto Scaling group metrics")
@aws_retry
def enable_metrics_collection(client, name: str, metrics: list[str]) -> None:
    client.enable_metrics_collection(AutoScalingGroupName=name, Metrics=metrics, Granularity=METRICS_GRANULARITY)


@GroupErrorHandler.common_error_handler("disable Auto Scaling group metrics")
@aws_retry
def disable_metrics_collection(client, name: str, metrics: list[str]) -> None:
    client.disable_metrics_collection(AutoScalingGroupName=name, Metrics=metrics)


@GroupErrorHandler.common_error_handler("tag Auto Scaling group")
@aws_retry
def create_or_update_tags(client, tags: list[dict[str, Any]]) -> None:
    """Set the tags, each a CreateOrUpdateTags entry (ResourceId, ResourceType, Key, Value, PropagateAtLaunch)."""
    client.create_or_update_tags(Tags=tags)


@GroupErrorHandler.common_error_handler("untag Auto Scaling group")
@aws_retry
def delete_tags(client, tags: list[dict[str, Any]]) -> None:
    client.delete_tags(Tags=tags)


@PolicyErrorHandler.common_error_handler("describe Auto Scaling policies")
@aws_retry
def describe_policies(client, request: dict[str, Any]) -> list[dict[str, Any]]:
    """The scaling policies DescribePolicies selects with request (group name, policy names and types)."""
    paginator = client.get_paginator("describe_policies")
    return paginator.paginate(**request).build_full_result().get("ScalingPolicies", [])
