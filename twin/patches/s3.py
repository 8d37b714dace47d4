"""S3 replication rules read back as they were written; bucket policies see requests as TLS.

moto's GetBucketReplication answers every rule with ``DeleteMarkerReplication`` disabled, an empty
prefix and no ``SourceSelectionCriteria``, whatever was put; the storage role's replication to the DR
region (``wedsync.platform.s3_bucket_replication``) could then never converge.

moto evaluates a bucket policy's conditions with no request context, so the storage role's TLS-only
statement (Deny when ``aws:SecureTransport`` is false) denies every object request. The twin listens
on plain HTTP only because it is on loopback; it stands in for AWS's HTTPS endpoints, so requests
are evaluated as arriving over TLS.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from moto.core.responses import ActionResult
from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.s3.exceptions import ReplicationConfigurationNotFoundError
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response

from twin.patching import patch_point

_RULE_FIELDS = (
    "ID",
    "Priority",
    "Status",
    "Filter",
    "Prefix",
    "DeleteMarkerReplication",
    "SourceSelectionCriteria",
    "ExistingObjectReplication",
    "Destination",
)


# What the twin knows of every request: it arrives over TLS. Keys it does not know are absent.
_REQUEST_CONTEXT = {"aws:securetransport": "true"}


@patch_point(
    "moto.s3.models.FakeBucket.get_permission",
    kind="replace",
    params="self, action, resource",
    why="bucket policy conditions evaluated, requests seen as arriving over TLS",
)
def _get_permission(self: FakeBucket, action: str, resource: str) -> Any:
    """The bucket policy's verdict on one request, its statements' conditions evaluated."""
    if self.policy is None:
        return PermissionResult.NEUTRAL
    statements = json.loads(self.policy.decode())["Statement"]
    verdict = PermissionResult.NEUTRAL
    for statement in statements if isinstance(statements, list) else [statements]:
        bare = {key: value for key, value in statement.items() if key != "Condition"}
        applies = IAMPolicyStatement(bare).is_action_permitted(action, resource)
        if applies == PermissionResult.NEUTRAL or not _conditions_hold(statement.get("Condition") or {}):
            continue
        if applies == PermissionResult.DENIED:
            return applies
        verdict = applies
    return verdict


def _conditions_hold(conditions: dict[str, dict[str, Any]]) -> bool:
    return all(
        _condition_holds(operator, key.lower(), values if isinstance(values, list) else [values])
        for operator, tests in conditions.items()
        for key, values in tests.items()
    )


def _condition_holds(operator: str, key: str, expected: list[Any]) -> bool:
    """IAM's rules for the operators bucket policies use; a missing key fails all but negations."""
    actual = _REQUEST_CONTEXT.get(key)
    if operator == "StringNotEquals":
        return actual is None or actual not in [str(value) for value in expected]
    if actual is None:
        return False
    if operator == "Bool":
        return actual == str(expected[0]).lower()
    if operator == "StringEquals":
        return actual in [str(value) for value in expected]
    if operator == "StringLike":
        return any(fnmatch.fnmatchcase(actual, str(value)) for value in expected)
    return False


@patch_point(
    "moto.s3.responses.S3Response.get_bucket_replication",
    kind="replace",
    params="self",
    why="replication rules read back whole",
)
def _get_bucket_replication(self: S3Response) -> Any:
    self.data["Action"] = "GetBucketReplication"
    replication = self.backend.get_bucket_replication(self.bucket_name)
    if not replication:
        raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
    rules = [{field: rule[field] for field in _RULE_FIELDS if field in rule} for rule in replication["Rule"]]
    return self.serialized(ActionResult({"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}}))
