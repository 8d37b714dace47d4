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


@SecretErrorHandler.common_error_handler("list secrets")
@aws_retry
def list_secrets(client, name_prefix: str) -> list[dict[str, Any]]:
    """The secrets ListSecrets' name filter matches with name_prefix (secrets pending deletion left out)."""
    paginator = client.get_paginator("list_secrets")
    filters = [{"Key": "name", "Values": [name_prefix]}]
    return paginator.paginate(Filters=filters).build_full_result()["SecretList"]


@SecretErrorHandler.list_error_handler("describe secret")
@aws_retry
def describe_secret(client, secret_id: str) -> dict[str, Any] | None:
    """The secret's metadata (never its value), or None when there is no such secret."""
    return client.describe_secret(SecretId=secret_id)
