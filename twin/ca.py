"""The twin's own certificate authority, for the servers it runs with TLS on loopback.

Clients verify against its certificate (``WEDSYNC_TWIN_CA_BUNDLE`` in the env file), as they verify
AWS endpoints against Amazon's roots. The CA is made once per state directory and kept, so a bundle
a client has read stays valid while the twin restarts; every leaf names 127.0.0.1 and localhost.
"""

from __future__ import annotations

import datetime
import os
import threading
from ipaddress import IPv4Address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 825
# A CA that expires within this margin is made again rather than reused.
RENEW_BEFORE = datetime.timedelta(days=30)


class TwinCA:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.bundle = directory / "ca.pem"
        self._key_file = directory / "ca.key"
        self._lock = threading.Lock()

    def ensure(self) -> Path:
        """The CA certificate's path, making the CA first when there is none still valid."""
        with self._lock:
            if not self._valid():
                self._create()
            return self.bundle

    def issue(self, cert_file: Path, key_file: Path, common_name: str) -> None:
        """A server certificate for loopback, signed by the CA, its key readable by the owner only."""
        self.ensure()
        ca_key = serialization.load_pem_private_key(self._key_file.read_bytes(), password=None)
        if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{self._key_file} is not the twin CA's key; remove {self.directory} to make it again")
        ca_cert = x509.load_pem_x509_certificate(self.bundle.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        cert = (
            x509.CertificateBuilder()
            # X.509 bounds a common name to 64 characters; clients verify the loopback names, not this.
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(min(now + datetime.timedelta(days=LEAF_DAYS), ca_cert.not_valid_after_utc))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(key_file, key)
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def _valid(self) -> bool:
        if not (self.bundle.exists() and self._key_file.exists()):
            return False
        cert = x509.load_pem_x509_certificate(self.bundle.read_bytes())
        return cert.not_valid_after_utc - RENEW_BEFORE > _now()

    def _create(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "WedSync twin CA")])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_private(self._key_file, key)
        # Written last and whole: a reader never sees a bundle without its key.
        tmp = self.bundle.with_suffix(".tmp")
        tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        tmp.replace(self.bundle)


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.unlink(missing_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(pem)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
