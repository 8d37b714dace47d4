# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""RDS API calls of the collection: one boto call each, retried, raising RDSError."""

from __future__ import annotations

from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


class RDSError(WedSyncAWSError):
    pass


class DBInstanceErrorHandler(WedSyncErrorHandler):
    _CUSTOM_EXCEPTION = RDSError
    _MISSING_CODES = ("DBInstanceNotFound",)


@DBInstanceErrorHandler.list_error_handler("describe DB instance")
@aws_retry
def describe_db_instance(client, db_instance_identifier: str) -> dict[str, Any] | None:
    paginator = client.get_paginator("describe_db_instances")
    result = paginator.paginate(DBInstanceIdentifier=db_instance_identifier).build_full_result()
    return result["DBInstances"][0] if result["DBInstances"] else None


@DBInstanceErrorHandler.common_error_handler("describe DB instances")
@aws_retry
def describe_db_instances(client) -> list[dict[str, Any]]:
    """Every DB instance of the region."""
    return client.get_paginator("describe_db_instances").paginate().build_full_result()["DBInstances"]
