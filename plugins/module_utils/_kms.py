# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""KMS API calls of the collection: one boto call each, retried, raising KMSError."""

from __future__ import annotations

from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class KMSError(WedSyncAWSError):
    pass


class KeyErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = KMSError


@KeyErrorHandler.common_error_handler("resolve KMS key")
@aws_retry
def describe_key_arn(client, key_id: str) -> str:
    return client.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
