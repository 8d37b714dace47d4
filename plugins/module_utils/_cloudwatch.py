# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""CloudWatch API calls of the collection: one boto call each, retried, raising CloudWatchError."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class CloudWatchError(WedSyncAWSError):
    pass


class MetricErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = CloudWatchError


@MetricErrorHandler.common_error_handler("get metric data")
@aws_retry
def get_metric_data(client, queries: list[dict[str, Any]], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The results of the queries, newest datapoint first."""
    paginator = client.get_paginator("get_metric_data")
    pages = paginator.paginate(MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampDescending")
    return pages.build_full_result()["MetricDataResults"]


class DashboardErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = CloudWatchError
    _MISSING_CODES = ("ResourceNotFound",)


@DashboardErrorHandler.common_error_handler("list dashboards")
@aws_retry
def list_dashboards(client, prefix: str | None = None) -> list[dict[str, Any]]:
    """The dashboards whose names start with prefix, or every one when prefix is None."""
    paginator = client.get_paginator("list_dashboards")
    request = {"DashboardNamePrefix": prefix} if prefix else {}
    return paginator.paginate(**request).build_full_result().get("DashboardEntries", [])


@DashboardErrorHandler.list_error_handler("get dashboard")
@aws_retry
def get_dashboard(client, name: str) -> dict[str, Any] | None:
    """DashboardName, DashboardArn and DashboardBody (JSON text), or None when there is no such dashboard."""
    return client.get_dashboard(DashboardName=name)


@DashboardErrorHandler.common_error_handler("put dashboard")
@aws_retry
def put_dashboard(client, name: str, body: str) -> list[dict[str, str]]:
    """The DashboardValidationMessages CloudWatch answered with (warnings: the dashboard was saved)."""
    return client.put_dashboard(DashboardName=name, DashboardBody=body).get("DashboardValidationMessages", [])


@DashboardErrorHandler.common_error_handler("delete dashboard")
@aws_retry
def delete_dashboards(client, names: list[str]) -> None:
    client.delete_dashboards(DashboardNames=names)


class AlarmErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = CloudWatchError


@AlarmErrorHandler.common_error_handler("describe metric alarm")
@aws_retry
def describe_metric_alarm(client, name: str) -> dict[str, Any] | None:
    """The metric alarm of that name, or None when there is none."""
    paginator = client.get_paginator("describe_alarms")
    alarms = paginator.paginate(AlarmNames=[name], AlarmTypes=["MetricAlarm"]).build_full_result()
    return next(iter(alarms.get("MetricAlarms", [])), None)


@AlarmErrorHandler.common_error_handler("describe alarms")
@aws_retry
def describe_alarms(
    client, names: list[str] | None = None, prefix: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The metric and composite alarms named, or whose names start with prefix, by kind as
    {"MetricAlarms": [...], "CompositeAlarms": [...]}; every alarm of the region without either."""
    request: dict[str, Any] = {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}
    if names:
        request["AlarmNames"] = names
    if prefix:
        request["AlarmNamePrefix"] = prefix
    found = client.get_paginator("describe_alarms").paginate(**request).build_full_result()
    return {kind: found.get(kind, []) for kind in ("MetricAlarms", "CompositeAlarms")}


@AlarmErrorHandler.common_error_handler("list alarm tags")
@aws_retry
def list_alarm_tags(client, arn: str) -> dict[str, str]:
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(ResourceARN=arn).get("Tags", []))


@AlarmErrorHandler.common_error_handler("put metric alarm")
@aws_retry
def put_metric_alarm(client, request: dict[str, Any]) -> None:
    client.put_metric_alarm(**request)


@AlarmErrorHandler.common_error_handler("delete alarm")
@aws_retry
def delete_alarms(client, names: list[str]) -> None:
    client.delete_alarms(AlarmNames=names)


@AlarmErrorHandler.common_error_handler("tag alarm")
@aws_retry
def tag_alarm(client, arn: str, tags: dict[str, str]) -> None:
    client.tag_resource(ResourceARN=arn, Tags=ansible_dict_to_boto3_tag_list(tags))


@AlarmErrorHandler.common_error_handler("untag alarm")
@aws_retry
def untag_alarm(client, arn: str, keys: list[str]) -> None:
    client.untag_resource(ResourceARN=arn, TagKeys=keys)
