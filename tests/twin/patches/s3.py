"""S3 replication rules read back as they were written.

moto's GetBucketReplication answers every rule with ``DeleteMarkerReplication`` disabled, an empty
prefix and no ``SourceSelectionCriteria``, whatever was put; the storage role's replication to the DR
region (``wedsync.platform.s3_bucket_replication``) could then never converge.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.s3.exceptions import ReplicationConfigurationNotFoundError
from moto.s3.responses import S3Response

_RULE_FIELDS = ("ID", "Priority", "Status", "Filter", "Prefix", "DeleteMarkerReplication", "SourceSelectionCriteria",
                "ExistingObjectReplication", "Destination")


def install() -> None:
    S3Response.get_bucket_replication = _get_bucket_replication  # type: ignore[method-assign]


def _get_bucket_replication(self: S3Response) -> Any:
    self.data["Action"] = "GetBucketReplication"
    replication = self.backend.get_bucket_replication(self.bucket_name)
    if not replication:
        raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
    rules = [{field: rule[field] for field in _RULE_FIELDS if field in rule} for rule in replication["Rule"]]
    return self.serialized(ActionResult({"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}}))
