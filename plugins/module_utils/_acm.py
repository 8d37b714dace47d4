# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ACM API calls of the collection: one boto call each, retried, raising ACMError."""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry

# ListCertificates returns RSA_2048 certificates only unless asked for every key type.
KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]
# Every status there is, for a reader that must see expired, revoked and failed certificates too.
STATUSES = ["PENDING_VALIDATION", "ISSUED", "INACTIVE", "EXPIRED", "VALIDATION_TIMED_OUT", "REVOKED", "FAILED"]


class ACMError(WedSyncAWSError):
    pass


class CertificateErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = ACMError
    _MISSING_CODES = ("ResourceNotFoundException",)


@CertificateErrorHandler.common_error_handler("list certificates")
@aws_retry
def list_certificates(client, statuses: list[str] | None = None) -> list[dict[str, Any]]:
    """The summaries of every certificate of any key type, only those in statuses when given."""
    request: dict[str, Any] = {"Includes": {"keyTypes": KEY_TYPES}}
    if statuses:
        request["CertificateStatuses"] = statuses
    paginator = client.get_paginator("list_certificates")
    return paginator.paginate(**request).build_full_result()["CertificateSummaryList"]


@CertificateErrorHandler.list_error_handler("describe certificate")
@aws_retry
def describe_certificate(client, arn: str) -> dict[str, Any] | None:
    return client.describe_certificate(CertificateArn=arn)["Certificate"]


@CertificateErrorHandler.list_error_handler("list certificate tags", {})
@aws_retry
def list_tags(client, arn: str) -> dict[str, str]:
    """The certificate's tags, none when there is no such certificate."""
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_certificate(CertificateArn=arn).get("Tags", []))


@CertificateErrorHandler.common_error_handler("request certificate")
@aws_retry
def request_certificate(client, request: dict[str, Any]) -> str:
    """The ARN of the certificate requested."""
    return client.request_certificate(**request)["CertificateArn"]


@CertificateErrorHandler.common_error_handler("tag certificate")
@aws_retry
def add_tags(client, arn: str, tags: dict[str, str]) -> None:
    client.add_tags_to_certificate(CertificateArn=arn, Tags=ansible_dict_to_boto3_tag_list(tags))


@CertificateErrorHandler.common_error_handler("untag certificate")
@aws_retry
def remove_tags(client, arn: str, tags: dict[str, str]) -> None:
    """Remove the tags (ACM removes a tag given with a value only while it has that value)."""
    client.remove_tags_from_certificate(CertificateArn=arn, Tags=ansible_dict_to_boto3_tag_list(tags))


@CertificateErrorHandler.common_error_handler("delete certificate")
@aws_retry
def delete_certificate(client, arn: str) -> None:
    client.delete_certificate(CertificateArn=arn)
