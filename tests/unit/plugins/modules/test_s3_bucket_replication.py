"""s3_bucket_replication against moto: set, converge, change, dry-run, remove, refuse bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import s3_bucket_replication
from moto import mock_aws

from twin import patching
from twin.patches import s3 as twin_s3

# The module is tested against S3 as the twin serves it: moto with replication rules read back whole.
patching.install(twin_s3)

SOURCE, DESTINATION = "wedsync-test-uploads-us-east-1", "wedsync-test-uploads-us-west-2"
ROLE = "arn:aws:iam::123456789012:role/wedsync-test-s3-replication"
DR_KEY = "arn:aws:kms:us-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"


@pytest.fixture
def buckets(monkeypatch) -> Iterator[None]:
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        for bucket, region in ((SOURCE, "us-east-1"), (DESTINATION, "us-west-2")):
            s3 = boto3.client("s3", region_name=region)
            config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            s3.create_bucket(Bucket=bucket, **config)
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        yield


def run(capsys, **args: Any) -> dict[str, Any]:
    args.setdefault("region", "us-east-1")
    args.setdefault("bucket", SOURCE)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        s3_bucket_replication.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def to_dr(**extra: Any) -> dict[str, Any]:
    rule = {
        "id": "to-dr",
        "destination_bucket": DESTINATION,
        "replica_kms_key_id": DR_KEY,
        "delete_marker_replication": True,
        **extra,
    }
    return {"role_arn": ROLE, "rules": [rule]}


def stored() -> dict[str, Any]:
    return boto3.client("s3", region_name="us-east-1").get_bucket_replication(Bucket=SOURCE)["ReplicationConfiguration"]


def test_sets_replication_then_changes_nothing(buckets, capsys):
    created = run(capsys, **to_dr())
    again = run(capsys, **to_dr())
    assert created["changed"] and not again["changed"]
    (rule,) = stored()["Rules"]
    assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{DESTINATION}"
    assert rule["Destination"]["EncryptionConfiguration"]["ReplicaKmsKeyID"] == DR_KEY
    assert rule["SourceSelectionCriteria"]["SseKmsEncryptedObjects"]["Status"] == "Enabled"
    assert rule["DeleteMarkerReplication"]["Status"] == "Enabled"
    assert again["replication"]["rules"][0]["destination_bucket"] == f"arn:aws:s3:::{DESTINATION}"


def test_check_mode_predicts_and_writes_nothing(buckets, capsys):
    checked = run(capsys, _ansible_check_mode=True, _ansible_diff=True, **to_dr())
    assert checked["changed"]
    assert checked["diff"]["before"] == {}
    assert checked["replication"]["role_arn"] == ROLE
    with pytest.raises(Exception, match="ReplicationConfigurationNotFoundError"):
        stored()


def test_a_changed_rule_is_replaced_and_diffed(buckets, capsys):
    run(capsys, **to_dr())
    changed = run(capsys, _ansible_diff=True, **to_dr(storage_class="STANDARD_IA"))
    assert changed["changed"]
    assert changed["diff"]["before"]["rules"][0]["storage_class"] is None
    assert changed["diff"]["after"]["rules"][0]["storage_class"] == "STANDARD_IA"
    assert stored()["Rules"][0]["Destination"]["StorageClass"] == "STANDARD_IA"


def test_absent_removes_replication(buckets, capsys):
    run(capsys, **to_dr())
    assert run(capsys, state="absent")["changed"]
    assert not run(capsys, state="absent")["changed"]


def test_duplicate_rule_ids_are_refused(buckets, capsys):
    rule = {"id": "same", "destination_bucket": DESTINATION}
    result = run(capsys, role_arn=ROLE, rules=[rule, rule])
    assert result["failed"] and "unique ids" in result["msg"]


def test_round_trip_of_the_api_form():
    wanted = s3_bucket_replication.desired_replication(
        to_dr()
        | {
            "rules": [
                {
                    "id": "to-dr",
                    "priority": 1,
                    "prefix": "",
                    "destination_bucket": DESTINATION,
                    "storage_class": None,
                    "replica_kms_key_id": DR_KEY,
                    "delete_marker_replication": True,
                    "enabled": True,
                }
            ]
        }
    )
    assert s3_bucket_replication.from_api(s3_bucket_replication.to_api(wanted)) == wanted
