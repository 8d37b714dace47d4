# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""S3 API calls of the collection: one boto call each, retried, raising S3Error."""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry

# What S3 answers a conditional write that lost to another writer.
CONFLICT_CODES = ["PreconditionFailed", "ConditionalRequestConflict"]


class S3Error(WedSyncAWSError):
    pass


class BucketNotFound(S3Error):
    """The bucket does not exist: a caller may have more to say about it than AWS does."""


class BucketErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = S3Error


class ObjectErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = S3Error
    _MISSING_CODES = ("NoSuchKey",)


class ReplicationErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = S3Error
    _MISSING_CODES = ("ReplicationConfigurationNotFoundError",)


@BucketErrorHandler.common_error_handler("list buckets")
@aws_retry
def list_buckets(client) -> list[dict[str, Any]]:
    """Every bucket of the account (ListBuckets pages since botocore 1.35.69, the collection's floor)."""
    return client.get_paginator("list_buckets").paginate().build_full_result().get("Buckets", [])


@ObjectErrorHandler.list_error_handler("get object", (None, None))
@aws_retry
def get_object(client, bucket: str, key: str) -> tuple[bytes | None, str | None]:
    """The object's body and ETag; (None, None) when there is no such key. Raises BucketNotFound."""
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except is_boto3_error_code("NoSuchBucket") as e:
        raise BucketNotFound(message=f"Bucket {bucket} does not exist", exception=e) from e
    return response["Body"].read(), response["ETag"]


@ObjectErrorHandler.common_error_handler("put object")
@aws_retry
def put_object_if_unchanged(
    client, bucket: str, key: str, body: bytes, *, content_type: str, etag: str | None
) -> str | None:
    """Write the object if it is still the one read with etag, or still absent when etag is None.

    Returns its new ETag, or None when another writer changed it first (S3 refused the conditional write).
    """
    condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
    try:
        response = client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, **condition)
    except is_boto3_error_code(CONFLICT_CODES):
        return None
    return response["ETag"]


@ReplicationErrorHandler.list_error_handler("get bucket replication")
@aws_retry
def get_bucket_replication(client, bucket: str) -> dict[str, Any] | None:
    """The bucket's replication configuration, or None when it has none."""
    return client.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]


@ReplicationErrorHandler.common_error_handler("put bucket replication")
@aws_retry
def put_bucket_replication(client, bucket: str, configuration: dict[str, Any]) -> None:
    client.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=configuration)


@ReplicationErrorHandler.common_error_handler("delete bucket replication")
@aws_retry
def delete_bucket_replication(client, bucket: str) -> None:
    client.delete_bucket_replication(Bucket=bucket)
