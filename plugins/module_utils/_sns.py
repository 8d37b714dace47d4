# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""SNS API calls of the collection: one boto call each, retried, raising SNSError."""

from __future__ import annotations

from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class SNSError(WedSyncAWSError):
    pass


class TopicErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = SNSError
    _MISSING_CODES = ("NotFound",)


@TopicErrorHandler.common_error_handler("list SNS topics")
@aws_retry
def list_topic_arns(client) -> list[str]:
    paginator = client.get_paginator("list_topics")
    return [t["TopicArn"] for t in paginator.paginate().build_full_result().get("Topics", [])]


@TopicErrorHandler.list_error_handler("get SNS topic attributes")
@aws_retry
def get_topic_attributes(client, arn: str) -> dict[str, str] | None:
    """The topic's attributes, or None when there is no such topic."""
    return client.get_topic_attributes(TopicArn=arn)["Attributes"]


@TopicErrorHandler.common_error_handler("set SNS topic attribute")
@aws_retry
def set_topic_attribute(client, arn: str, name: str, value: str) -> None:
    client.set_topic_attributes(TopicArn=arn, AttributeName=name, AttributeValue=value)
