# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Auto Scaling API calls of the collection: one boto call each, retried, raising AutoScalingError."""

from __future__ import annotations

from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class AutoScalingError(WedSyncAWSError):
    pass


class PolicyErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = AutoScalingError


@PolicyErrorHandler.common_error_handler("describe Auto Scaling policies")
@aws_retry
def describe_policies(client, request: dict[str, Any]) -> list[dict[str, Any]]:
    """The scaling policies DescribePolicies selects with request (group name, policy names and types)."""
    paginator = client.get_paginator("describe_policies")
    return paginator.paginate(**request).build_full_result().get("ScalingPolicies", [])
