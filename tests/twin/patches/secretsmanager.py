"""Secrets Manager replicas keep the KMS key they were asked to use.

moto 5.2.5 reports every replica as encrypted with the default key (alias/aws/secretsmanager) in
ReplicationStatus and in the replica's own DescribeSecret, whatever KmsKeyId AddReplicaRegions
named, so the secrets role could not be checked for encrypting its us-west-2 replicas with the
DR region's customer-managed key.
"""

from __future__ import annotations

from typing import Any

from moto.secretsmanager.models import FakeSecret, ReplicaSecret, SecretsManagerBackend

_installed: list[bool] = []


def install() -> None:
    if _installed:
        return
    _installed.append(True)
    original_create_replicas = FakeSecret.create_replicas
    original_to_dict = ReplicaSecret.to_dict

    def create_replicas(
        self: FakeSecret, replica_regions: list[dict[str, str]], force_overwrite: bool
    ) -> list[ReplicaSecret]:
        replicas = original_create_replicas(self, replica_regions, force_overwrite)
        for replica, config in zip(replicas, replica_regions or [], strict=True):
            if config.get("KmsKeyId"):
                replica.config["KmsKeyId"] = config["KmsKeyId"]
        return replicas

    def to_dict(self: ReplicaSecret) -> dict[str, Any]:
        described = original_to_dict(self)
        described.pop("KmsKeyId", None)
        if self.config["KmsKeyId"] != SecretsManagerBackend.DEFAULT_KMS_KEY_ALIAS:
            described["KmsKeyId"] = self.config["KmsKeyId"]
        return described

    FakeSecret.create_replicas = create_replicas
    ReplicaSecret.to_dict = to_dict
