# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""IAM API calls of the collection: one boto call each, retried, raising IAMError."""

from __future__ import annotations

from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class IAMError(WedSyncAWSError):
    pass


class InstanceProfileErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = IAMError
    _MISSING_CODES = ("NoSuchEntity",)


@InstanceProfileErrorHandler.list_error_handler("get instance profile")
@aws_retry
def get_instance_profile(client, name: str) -> dict[str, Any] | None:
    """The instance profile (with its roles), or None when there is none."""
    return client.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
