# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""EC2 API calls of the collection: one boto call each, retried, raising EC2Error."""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class EC2Error(WedSyncAWSError):
    pass


class VpcErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = EC2Error


class SubnetErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = EC2Error


class SecurityGroupErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = EC2Error


class LaunchTemplateErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = EC2Error
    _MISSING_CODES = ("InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateId.NotFound")


class FlowLogErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = EC2Error


class TagErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = EC2Error


def _refusal(response: dict[str, Any], what: str) -> EC2Error | None:
    """The first item a batch call answered as Unsuccessful (no boto error is raised for it), as an error."""
    failures = response.get("Unsuccessful") or []
    if not failures:
        return None
    error = failures[0].get("Error", {})
    return EC2Error(message=f"{what} {failures[0].get('ResourceId')}: {error.get('Message')} ({error.get('Code')})")


@VpcErrorHandler.common_error_handler("describe VPCs")
@aws_retry
def describe_vpcs(client, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The VPCs that match every filter ({"Name": ..., "Values": [...]})."""
    return client.get_paginator("describe_vpcs").paginate(Filters=filters).build_full_result()["Vpcs"]


@SubnetErrorHandler.common_error_handler("describe subnets")
@aws_retry
def describe_subnets(client, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The subnets that match every filter."""
    return client.get_paginator("describe_subnets").paginate(Filters=filters).build_full_result()["Subnets"]


@SecurityGroupErrorHandler.common_error_handler("describe security groups")
@aws_retry
def describe_security_groups(client, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The security groups that match every filter."""
    paginator = client.get_paginator("describe_security_groups")
    return paginator.paginate(Filters=filters).build_full_result()["SecurityGroups"]


@LaunchTemplateErrorHandler.list_error_handler("describe launch template")
@aws_retry
def describe_launch_template(client, name: str) -> dict[str, Any] | None:
    """The launch template of that name, or None when there is none."""
    found = client.describe_launch_templates(LaunchTemplateNames=[name])["LaunchTemplates"]
    return found[0] if found else None


@LaunchTemplateErrorHandler.list_error_handler("describe launch template versions", [])
@aws_retry
def describe_launch_template_versions(client, launch_template_id: str) -> list[dict[str, Any]]:
    """Every version of the launch template; none when there is no such template."""
    paginator = client.get_paginator("describe_launch_template_versions")
    pages = paginator.paginate(LaunchTemplateId=launch_template_id)
    return pages.build_full_result()["LaunchTemplateVersions"]


@FlowLogErrorHandler.common_error_handler("describe flow logs")
@aws_retry
def describe_flow_logs(client, resource_id: str) -> list[dict[str, Any]]:
    """The flow logs of the resource (VPC, subnet, network interface, ...)."""
    paginator = client.get_paginator("describe_flow_logs")
    filters = [{"Name": "resource-id", "Values": [resource_id]}]
    return paginator.paginate(Filters=filters).build_full_result()["FlowLogs"]


@FlowLogErrorHandler.common_error_handler("describe flow log")
@aws_retry
def describe_flow_log(client, flow_log_id: str) -> dict[str, Any] | None:
    found = client.describe_flow_logs(FlowLogIds=[flow_log_id])["FlowLogs"]
    return found[0] if found else None


@FlowLogErrorHandler.common_error_handler("create flow log")
@aws_retry
def create_flow_log(client, request: dict[str, Any]) -> str:
    """The ID of the flow log created for the one resource in request["ResourceIds"]."""
    response = client.create_flow_logs(**request)
    refusal = _refusal(response, "AWS refused the flow log of")
    if refusal:
        raise refusal
    return response["FlowLogIds"][0]


@FlowLogErrorHandler.common_error_handler("delete flow logs")
@aws_retry
def delete_flow_logs(client, flow_log_ids: list[str]) -> None:
    refusal = _refusal(client.delete_flow_logs(FlowLogIds=flow_log_ids), "AWS refused to delete flow log")
    if refusal:
        raise refusal


@TagErrorHandler.common_error_handler("describe tags")
@aws_retry
def describe_tags(client, resource_id: str) -> dict[str, str]:
    paginator = client.get_paginator("describe_tags")
    filters = [{"Name": "resource-id", "Values": [resource_id]}]
    return boto3_tag_list_to_ansible_dict(paginator.paginate(Filters=filters).build_full_result().get("Tags", []))


@TagErrorHandler.common_error_handler("tag resource")
@aws_retry
def create_tags(client, resource_id: str, tags: dict[str, str]) -> None:
    client.create_tags(Resources=[resource_id], Tags=ansible_dict_to_boto3_tag_list(tags))


@TagErrorHandler.common_error_handler("untag resource")
@aws_retry
def delete_tags(client, resource_id: str, keys: list[str]) -> None:
    client.delete_tags(Resources=[resource_id], Tags=[{"Key": key} for key in keys])
