# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Secrets Manager API calls of the collection: one boto call each, retried, raising SecretsManagerError."""

from __future__ import annotations

from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class SecretsManagerError(WedSyncAWSError):
    pass


class SecretErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = SecretsManagerError
    _MISSING_CODES = ("ResourceNotFoundException",)


@SecretErrorHandler.list_error_handler("get secret value")
@aws_retry
def get_secret_value(client, secret_id: str) -> dict[str, Any] | None:
    """The secret's current value (SecretString or SecretBinary), or None when there is no such secret."""
    return client.get_secret_value(SecretId=secret_id)
