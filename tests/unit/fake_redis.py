"""A Redis stand-in for unit tests: RESP2 over a socket on 127.0.0.1, plain or TLS, in a thread.

It answers AUTH (one token, for the default user), PING and INFO replication as Redis 7 does, refuses
the others before AUTH with NOAUTH, and can be told to say nothing (a hung server), to answer PING
with something else, or to fail INFO.
The TLS certificate is self-signed, made here with `cryptography`, for 127.0.0.1 and given host names.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


def self_signed_certificate(directory: Path, hostnames: tuple[str, ...] = ()) -> tuple[Path, Path]:
    """cert.pem and key.pem in directory: a self-signed certificate for 127.0.0.1 and hostnames."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake redis")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), *(x509.DNSName(h) for h in hostnames)]
    identifier = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, False, False, False),  # signature, cert sign
            critical=True,
        )
        .add_extension(identifier, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(identifier), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _bulk(text: str) -> bytes:
    data = text.encode()
    return b"$%d\r\n%s\r\n" % (len(data), data)


def _command(reader: BinaryIO) -> list[str] | None:
    """One command as clients send it (an array of bulk strings), None when the client is gone."""
    header = reader.readline()
    if not header.startswith(b"*"):
        return None
    args = []
    for _ in range(int(header[1:])):
        size = int(reader.readline()[1:])
        args.append(reader.read(size + 2)[:-2].decode())
    return args


@dataclass
class FakeRedis:
    token: str
    role: str = "master"
    connected_slaves: int = 1
    cert: tuple[Path, Path] | None = None  # (certificate, key): TLS only, as ElastiCache in transit
    silent: bool = False
    pong: str = "PONG"
    info_error: str | None = None
    commands: list[list[str]] = field(default_factory=list)
    port: int = 0

    def answer(self, args: list[str], authenticated: bool) -> tuple[bytes, bool]:
        name = args[0].upper()
        if name == "AUTH":
            ok = args[1:] in ([self.token], ["default", self.token])
            return (b"+OK\r\n" if ok else f"-{WRONGPASS}\r\n".encode()), ok
        if not authenticated:
            return b"-NOAUTH Authentication required.\r\n", False
        if name == "PING":
            return f"+{self.pong}\r\n".encode(), True
        if name == "INFO" and self.info_error:
            return f"-{self.info_error}\r\n".encode(), True
        if name == "INFO":
            lines = ["# Replication", f"role:{self.role}", f"connected_slaves:{self.connected_slaves}"]
            lines += [
                f"slave{i}:ip=10.0.0.{i + 10},port=6379,state=online,offset=42,lag=0"
                for i in range(self.connected_slaves)
            ]
            return _bulk("\r\n".join([*lines, "master_repl_offset:42", ""])), True
        return f"-ERR unknown command '{args[0]}'\r\n".encode(), True

    def serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            authenticated = False
            while (args := _command(reader)) is not None:
                self.commands.append(args)
                if self.silent:
                    continue
                reply, authenticated = self.answer(args, authenticated)
                conn.sendall(reply)

    def run(self, listener: socket.socket, stop: threading.Event) -> None:
        context = None
        if self.cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.cert)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                self.serve(context.wrap_socket(conn, server_side=True) if context else conn)
            except OSError:
                conn.close()  # the client gave up: refused our certificate, or timed out


@contextmanager
def running(server: FakeRedis) -> Iterator[FakeRedis]:
    """The server listening on 127.0.0.1 (server.port) until the block ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    server.port = listener.getsockname()[1]
    stop = threading.Event()
    thread = threading.Thread(target=server.run, args=(listener, stop), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(10)
        listener.close()


def unused_port() -> int:
    """A port on 127.0.0.1 with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
