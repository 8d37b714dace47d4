# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""STS API calls of the collection: one boto call each, retried, raising STSError."""

from __future__ import annotations

from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class STSError(WedSyncAWSError):
    pass


class CallerErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = STSError


@CallerErrorHandler.common_error_handler("get caller identity")
@aws_retry
def get_caller_identity(client) -> dict[str, Any]:
    """The caller's UserId, Account and Arn."""
    return client.get_caller_identity()
