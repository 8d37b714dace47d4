# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""CloudWatch API calls of the collection: one boto call each, retried, raising CloudWatchError."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class CloudWatchError(WedSyncAWSError):
    pass


class MetricErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = CloudWatchError


@MetricErrorHandler.common_error_handler("get metric data")
@aws_retry
def get_metric_data(client, queries: list[dict[str, Any]], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The results of the queries, newest datapoint first."""
    paginator = client.get_paginator("get_metric_data")
    pages = paginator.paginate(MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampDescending")
    return pages.build_full_result()["MetricDataResults"]
