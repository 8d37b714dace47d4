"""deep_health_info against moto: certificates, secrets with their replication, and the cache probed end to end
over TLS, the group's endpoint leading to a fake Redis server on loopback."""

from __future__ import annotations

import datetime
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.module_utils import _secretsmanager
from ansible_collections.wedsync.platform.plugins.modules import deep_health_info
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto import mock_aws
from unit.fake_redis import WRONGPASS, FakeRedis, running, self_signed_certificate

REGION = "us-east-1"
GROUP = "it-redis"
TOKEN = "Test-AUTH-token-0123456789abcdef"
IMPORTED_NOT_AFTER = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)


def imported_certificate(domain: str) -> dict[str, bytes]:
    """An EC certificate (not ACM's default RSA_2048) valid until IMPORTED_NOT_AFTER, as import_certificate takes it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1))
        .not_valid_after(IMPORTED_NOT_AFTER)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    return {
        "Certificate": certificate.public_bytes(serialization.Encoding.PEM),
        "PrivateKey": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    }


@pytest.fixture
def aws(monkeypatch) -> Iterator[dict[str, Any]]:
    """Three certificates, three secrets (one replicated to us-west-2 and rotated), one TLS replication group."""
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        acm = boto3.client("acm", region_name=REGION)
        acm.request_certificate(DomainName="app.wedsync.test", SubjectAlternativeNames=["www.wedsync.test"])
        acm.request_certificate(DomainName="other.example.org")
        acm.import_certificate(**imported_certificate("imported.wedsync.test"))
        secrets = boto3.client("secretsmanager", region_name=REGION)
        secrets.create_secret(
            Name="wedsync/production/db", SecretString="{}", AddReplicaRegions=[{"Region": "us-west-2"}]
        )
        secrets.rotate_secret(SecretId="wedsync/production/db", RotationRules={"AutomaticallyAfterDays": 30})
        secrets.create_secret(Name="wedsync/production/redis", SecretString=json.dumps({"auth_token": TOKEN}))
        secrets.create_secret(Name="wedsync/staging/redis", SecretString=json.dumps({"auth_token": "Other"}))
        elasticache = boto3.client("elasticache", region_name=REGION)
        group = elasticache.create_replication_group(
            ReplicationGroupId=GROUP,
            ReplicationGroupDescription="test",
            Engine="redis",
            CacheNodeType="cache.t4g.micro",
            NumCacheClusters=2,
            TransitEncryptionEnabled=True,
            AuthToken=TOKEN,
        )["ReplicationGroup"]
        yield {"secrets": secrets, "endpoint": group["NodeGroups"][0]["PrimaryEndpoint"]}


@pytest.fixture
def cache(aws, monkeypatch, tmp_path) -> Iterator[tuple[FakeRedis, Path]]:
    """A fake Redis with TLS for the group's endpoint name, which leads to it as DNS would: (server, CA bundle)."""
    address, port = aws["endpoint"]["Address"], aws["endpoint"]["Port"]
    cert = self_signed_certificate(tmp_path, (address,))
    with running(FakeRedis(TOKEN, connected_slaves=1, cert=cert)) as server:
        connect = socket.create_connection

        def resolve(target: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
            return connect(("127.0.0.1", server.port) if target == (address, port) else target, *args, **kwargs)

        monkeypatch.setattr(socket, "create_connection", resolve)
        yield server, cert[0]


def run(capsys, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    args["_ansible_check_mode"] = check_mode
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        deep_health_info.main()
    out = capsys.readouterr().out
    assert TOKEN not in out
    result = json.loads(out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def cache_options(ca_bundle: Path | None, **options: Any) -> dict[str, Any]:
    return {
        "replication_group_id": GROUP,
        "auth_secret_id": "wedsync/production/redis",
        "ca_bundle": str(ca_bundle) if ca_bundle else None,
        "timeout": 2.0,
        **options,
    }


# -- certificates ------------------------------------------------------------------------------


def test_every_certificate_of_every_status_and_key_type(aws, capsys) -> None:
    result = run(capsys)
    assert not result["changed"]
    assert (result["secrets"], result["cache"]) == (None, None)
    certificates = {c["domain_name"]: c for c in result["certificates"]}
    assert list(certificates) == ["app.wedsync.test", "imported.wedsync.test", "other.example.org"]
    imported = certificates["imported.wedsync.test"]
    assert imported["certificate_arn"].startswith(f"arn:aws:acm:{REGION}:")
    assert {k: v for k, v in imported.items() if k != "certificate_arn"} == {
        "domain_name": "imported.wedsync.test",
        "subject_alternative_names": ["imported.wedsync.test"],
        "status": "ISSUED",
        "not_after": "2030-01-02T03:04:05+00:00",
        "in_use_by": [],
        "renewal_eligibility": "INELIGIBLE",
        "type": "IMPORTED",
    }
    requested = certificates["app.wedsync.test"]
    assert (requested["status"], requested["type"]) == ("PENDING_VALIDATION", "AMAZON_ISSUED")
    assert requested["subject_alternative_names"] == ["app.wedsync.test", "www.wedsync.test"]


def test_certificates_by_domain_pattern(aws, capsys) -> None:
    wedsync = run(capsys, certificate_domains=["*.WEDSYNC.test"])["certificates"]
    assert [c["domain_name"] for c in wedsync] == ["app.wedsync.test", "imported.wedsync.test"]
    both = run(capsys, certificate_domains=["imported.*", "other.example.or?"])["certificates"]
    assert [c["domain_name"] for c in both] == ["imported.wedsync.test", "other.example.org"]
    assert run(capsys, certificate_domains=["wedsync.test"])["certificates"] == []


# -- secrets -----------------------------------------------------------------------------------


def test_secrets_of_the_prefix_with_their_replication_and_never_a_value(aws, capsys, monkeypatch) -> None:
    def no_value(*_args: Any) -> None:
        raise AssertionError("a secret's value was read")

    monkeypatch.setattr(_secretsmanager, "get_secret_value", no_value)
    secrets = run(capsys, secret_prefix="wedsync/production/")["secrets"]
    assert [s["name"] for s in secrets] == ["wedsync/production/db", "wedsync/production/redis"]
    database, redis = secrets
    assert database["arn"].startswith(f"arn:aws:secretsmanager:{REGION}:123456789012:secret:wedsync/production/db-")
    assert database["rotation_enabled"] is True
    assert database["replication"] == [
        {
            "region": "us-west-2",
            "status": "InSync",
            "status_message": "Replication succeeded",
            "last_accessed_date": None,
        }
    ]
    changed = datetime.datetime.fromisoformat(database["last_changed_date"])
    assert changed.utcoffset() == datetime.timedelta(0)
    assert (redis["rotation_enabled"], redis["replication"]) == (False, [])


def test_a_negated_prefix_matches_no_secret(aws, capsys) -> None:
    # To ListSecrets "!x" is every name not starting with x; no name starts with "!".
    assert run(capsys, secret_prefix="!wedsync/production/")["secrets"] == []


# -- the cache ---------------------------------------------------------------------------------


def test_the_cache_is_reached_over_tls_with_its_token(aws, cache, capsys) -> None:
    server, ca_bundle = cache
    result = run(capsys, check_mode=True, cache=cache_options(ca_bundle))
    assert not result["changed"]
    probed = result["cache"]
    assert probed["ping_seconds"] > 0
    assert {k: v for k, v in probed.items() if k != "ping_seconds"} == {
        "replication_group_id": GROUP,
        "address": aws["endpoint"]["Address"],
        "port": 6379,
        "reachable": True,
        "role": "master",
        "connected_slaves": 1,
        "error": None,
    }
    assert server.commands == [["AUTH", TOKEN], ["PING"], ["INFO", "replication"]]


def test_the_token_is_masked_wherever_it_would_show(aws, cache, capsys) -> None:
    server, ca_bundle = cache
    server.info_error = f"ERR unknown section '{TOKEN}'"
    probed = run(capsys, cache=cache_options(ca_bundle))["cache"]
    assert probed["reachable"] is True
    assert probed["error"] == "INFO replication: ERR unknown section '********'"


def test_a_wrong_token_is_a_fact_not_a_failure(aws, cache, capsys) -> None:
    _, ca_bundle = cache
    probed = run(capsys, cache=cache_options(ca_bundle, auth_secret_id="wedsync/staging/redis"))["cache"]
    assert (probed["reachable"], probed["error"]) == (False, f"AUTH: {WRONGPASS}")
    assert probed["address"] == aws["endpoint"]["Address"]


def test_a_certificate_the_system_does_not_trust_is_a_tls_failure(aws, cache, capsys) -> None:
    probed = run(capsys, cache=cache_options(None))["cache"]
    assert probed["reachable"] is False
    assert probed["error"].startswith("TLS handshake: ") and "CERTIFICATE_VERIFY_FAILED" in probed["error"]


def test_a_plain_connection_to_a_tls_endpoint_gets_no_answer(aws, cache, capsys) -> None:
    probed = run(capsys, cache=cache_options(None, tls=False))["cache"]
    # The server drops the connection on the first bytes that are no TLS handshake.
    assert probed["reachable"] is False and probed["error"].startswith("AUTH: ")


@pytest.mark.parametrize(
    ("options", "secret", "error"),
    [
        ({"replication_group_id": "it-missing"}, None, "no replication group it-missing"),
        ({"auth_secret_id": "wedsync/production/missing"}, None, "no secret wedsync/production/missing"),
        (
            {"auth_secret_id": "it/not-json"},
            f"token={TOKEN}",
            "the secret it/not-json is not a JSON object with a string auth_token",
        ),
        (
            {"auth_secret_id": "it/other-key", "auth_secret_key": "token"},
            json.dumps({"auth_token": TOKEN}),
            "the secret it/other-key is not a JSON object with a string token",
        ),
    ],
)
def test_what_the_probe_needs_missing_is_a_fact(aws, capsys, options, secret, error) -> None:
    if secret is not None:
        aws["secrets"].create_secret(Name=options["auth_secret_id"], SecretString=secret)
    probed = run(capsys, cache=cache_options(None, **options))["cache"]
    assert (probed["reachable"], probed["ping_seconds"], probed["role"], probed["error"]) == (False, None, None, error)


def test_an_unreadable_ca_bundle_fails_the_task(aws, capsys, tmp_path) -> None:
    result = run(capsys, cache=cache_options(tmp_path / "missing.pem"))
    assert result["failed"]
    assert result["msg"].startswith(f"cannot use cache.ca_bundle {tmp_path / 'missing.pem'}: ")


def test_every_returned_key_is_documented(aws, cache, capsys) -> None:
    _, ca_bundle = cache
    result = run(capsys, secret_prefix="wedsync/production/", cache=cache_options(ca_bundle))
    documented = yaml.safe_load(deep_health_info.RETURN)
    assert set(result) - {"changed", "invocation", "warnings"} == set(documented)
    for key in ("certificates", "secrets"):
        assert all(set(entry) == set(documented[key]["contains"]) for entry in result[key]), key
    replication = documented["secrets"]["contains"]["replication"]["contains"]
    assert set(result["secrets"][0]["replication"][0]) == set(replication)
    assert set(result["cache"]) == set(documented["cache"]["contains"])
