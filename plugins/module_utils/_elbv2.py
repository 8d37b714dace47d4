# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Elastic Load Balancing (v2) API calls of the collection: one boto call each, retried, raising ELBv2Error."""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class ELBv2Error(WedSyncAWSError):
    pass


class LoadBalancerErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = ELBv2Error
    _MISSING_CODES = ("LoadBalancerNotFound",)


class ListenerErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = ELBv2Error
    _MISSING_CODES = ("ListenerNotFound",)


class TargetGroupErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = ELBv2Error
    _MISSING_CODES = ("TargetGroupNotFound",)


class RuleErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = ELBv2Error
    _MISSING_CODES = ("RuleNotFound",)


@LoadBalancerErrorHandler.list_error_handler("describe load balancer")
@aws_retry
def describe_load_balancer(client, name: str) -> dict[str, Any] | None:
    """The load balancer of that name, or None when there is none."""
    found = client.describe_load_balancers(Names=[name])["LoadBalancers"]
    return found[0] if found else None


# A listener belongs to its load balancer: listing those of one that is gone is "not found".
@LoadBalancerErrorHandler.list_error_handler("describe listeners")
@aws_retry
def describe_listeners(client, load_balancer_arn: str) -> list[dict[str, Any]] | None:
    """The load balancer's listeners, or None when there is no such load balancer."""
    paginator = client.get_paginator("describe_listeners")
    return paginator.paginate(LoadBalancerArn=load_balancer_arn).build_full_result()["Listeners"]


@ListenerErrorHandler.list_error_handler("describe listener")
@aws_retry
def describe_listener(client, arn: str) -> dict[str, Any] | None:
    """The listener of that ARN, or None when there is none."""
    found = client.describe_listeners(ListenerArns=[arn])["Listeners"]
    return found[0] if found else None


@ListenerErrorHandler.common_error_handler("create listener")
@aws_retry
def create_listener(client, request: dict[str, Any]) -> dict[str, Any]:
    """The listener CreateListener made from request."""
    return client.create_listener(**request)["Listeners"][0]


@ListenerErrorHandler.common_error_handler("modify listener")
@aws_retry
def modify_listener(client, arn: str, changes: dict[str, Any]) -> dict[str, Any]:
    """The listener after ModifyListener applied changes (its arguments but ListenerArn)."""
    return client.modify_listener(ListenerArn=arn, **changes)["Listeners"][0]


@ListenerErrorHandler.deletion_error_handler("delete listener")
@aws_retry
def delete_listener(client, arn: str) -> bool:
    """True once deleted; False when there was no such listener."""
    client.delete_listener(ListenerArn=arn)
    return True


# ELB describes target groups all or none: one per call, so that a missing one is named.
@TargetGroupErrorHandler.list_error_handler("describe target group")
@aws_retry
def describe_target_group(client, name: str | None = None, arn: str | None = None) -> dict[str, Any] | None:
    """The target group of that name (or ARN), or None when there is none."""
    request = {"Names": [name]} if name else {"TargetGroupArns": [arn]}
    found = client.describe_target_groups(**request)["TargetGroups"]
    return found[0] if found else None


@TargetGroupErrorHandler.common_error_handler("describe target health")
@aws_retry
def describe_target_health(client, arn: str) -> list[dict[str, Any]]:
    """The TargetHealthDescriptions of the target group's registered targets."""
    return client.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]


@ListenerErrorHandler.common_error_handler("describe rules")
@aws_retry
def describe_rules(client, listener_arn: str) -> list[dict[str, Any]]:
    """The listener's rules, its default rule included."""
    paginator = client.get_paginator("describe_rules")
    return paginator.paginate(ListenerArn=listener_arn).build_full_result()["Rules"]


@RuleErrorHandler.common_error_handler("modify rule")
@aws_retry
def modify_rule(client, arn: str, actions: list[dict[str, Any]]) -> None:
    client.modify_rule(RuleArn=arn, Actions=actions)


class TagErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = ELBv2Error


@TagErrorHandler.common_error_handler("describe tags")
@aws_retry
def describe_tags(client, arn: str) -> dict[str, str]:
    """The tags of the load balancer, listener, rule or target group of that ARN."""
    descriptions = client.describe_tags(ResourceArns=[arn])["TagDescriptions"]
    return boto3_tag_list_to_ansible_dict(descriptions[0]["Tags"]) if descriptions else {}


@TagErrorHandler.common_error_handler("tag resource")
@aws_retry
def add_tags(client, arn: str, tags: dict[str, str]) -> None:
    client.add_tags(ResourceArns=[arn], Tags=ansible_dict_to_boto3_tag_list(tags))


@TagErrorHandler.common_error_handler("untag resource")
@aws_retry
def remove_tags(client, arn: str, keys: list[str]) -> None:
    client.remove_tags(ResourceArns=[arn], TagKeys=keys)
