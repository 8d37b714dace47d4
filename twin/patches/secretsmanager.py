"""Secrets Manager replicas keep the KMS key they were asked to use.

moto 5.2.5 reports every replica as encrypted with the default key (alias/aws/secretsmanager) in
ReplicationStatus and in the replica's own DescribeSecret, whatever KmsKeyId AddReplicaRegions
named, so the secrets role could not be checked for encrypting its us-west-2 replicas with the
DR region's customer-managed key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.secretsmanager.models import FakeSecret, ReplicaSecret, SecretsManagerBackend

from twin.patching import patch_point


@patch_point(
    "moto.secretsmanager.models.FakeSecret.create_replicas",
    kind="wrap",
    params="self, replica_regions, force_overwrite",
    why="each replica keeps the KmsKeyId it was asked for",
)
def _create_replicas(
    original: Callable[..., list[ReplicaSecret]],
    self: FakeSecret,
    replica_regions: list[dict[str, str]],
    force_overwrite: bool,
) -> list[ReplicaSecret]:
    replicas = original(self, replica_regions, force_overwrite)
    for replica, config in zip(replicas, replica_regions or [], strict=True):
        if config.get("KmsKeyId"):
            replica.config["KmsKeyId"] = config["KmsKeyId"]
    return replicas


@patch_point(
    "moto.secretsmanager.models.ReplicaSecret.to_dict",
    kind="wrap",
    params="self",
    why="a replica reports its own key, and none when it uses the default one",
)
def _to_dict(original: Callable[..., dict[str, Any]], self: ReplicaSecret) -> dict[str, Any]:
    described = original(self)
    described.pop("KmsKeyId", None)
    if self.config["KmsKeyId"] != SecretsManagerBackend.DEFAULT_KMS_KEY_ALIAS:
        described["KmsKeyId"] = self.config["KmsKeyId"]
    return described
