# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""S3 API calls of the collection: one boto call each, retried, raising S3Error."""

from __future__ import annotations

from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class S3Error(WedSyncAWSError):
    pass


class ReplicationErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = S3Error
    _MISSING_CODES = ("ReplicationConfigurationNotFoundError",)


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
