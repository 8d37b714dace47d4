"""The twin's cache data plane: one real Redis server per ElastiCache replication group.

Each server is Debian's ``redis-server`` on 127.0.0.1 and a port of its own, with TLS on that port
when the group has in-transit encryption (a certificate from the twin's CA), no persistence and a
small memory cap. The group's AUTH tokens are the ``default`` user's passwords, changed live, so a
rotation needs no restart and a connection already authenticated stays so, as on ElastiCache. The
twin keeps a user of its own, ``twin-admin``, whose password never leaves this process.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twin.ca import TwinCA

REDIS_SERVER = Path("/usr/bin/redis-server")
LOOPBACK = "127.0.0.1"
ADMIN_USER = "twin-admin"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

# Disposable caches: nothing written to disk, memory bounded, ElastiCache's default eviction policy.
_SERVER_SETTINGS = f"""
bind {LOOPBACK}
protected-mode yes
daemonize no
save ""
appendonly no
maxmemory 32mb
maxmemory-policy volatile-lru
databases 16
tcp-backlog 128
always-show-logo no
"""


class RedisPlaneError(RuntimeError):
    """A server operation failed; the message says which group and why."""


class RedisReplyError(RedisPlaneError):
    """The server answered a command with an error reply (``-ERR ...``, ``-WRONGPASS ...``)."""


@dataclass
class Server:
    region: str
    replication_group_id: str
    port: int
    data_dir: str
    tls: bool
    auth: bool = False
    pid: int | None = None
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return server_key(self.region, self.replication_group_id)

    def public(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "replication_group_id": self.replication_group_id,
            "address": LOOPBACK,
            "port": self.port,
            "tls": self.tls,
            "auth": self.auth,
            "pid": self.pid,
            "data_dir": self.data_dir,
        }


def server_key(region: str, replication_group_id: str) -> str:
    return f"{region}/{replication_group_id}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class RespConnection:
    """A minimal RESP2 client on loopback, plain or TLS verified against a CA: enough for PING,
    AUTH and ACL, with no dependency beyond the standard library."""

    def __init__(self, port: int, ca_bundle: Path | None = None, timeout: float = 5.0) -> None:
        sock = socket.create_connection((LOOPBACK, port), timeout=timeout)
        if ca_bundle is not None:
            context = ssl.create_default_context(cafile=str(ca_bundle))
            sock = context.wrap_socket(sock, server_hostname=LOOPBACK)
        self._sock = sock
        self._reader = sock.makefile("rb")

    def call(self, *args: str) -> Any:
        encoded = [arg.encode() for arg in args]
        self._sock.sendall(b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in encoded))
        return self._reply()

    def close(self) -> None:
        self._reader.close()
        self._sock.close()

    def __enter__(self) -> RespConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _reply(self) -> Any:
        line = self._reader.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("the server closed the connection")
        kind, body = line[:1], line[1:-2].decode()
        if kind == b"+":
            return body
        if kind == b"-":
            raise RedisReplyError(body)
        if kind == b":":
            return int(body)
        if kind == b"$":
            return None if body == "-1" else self._reader.read(int(body) + 2)[:-2].decode()
        if kind == b"*":
            return None if body == "-1" else [self._reply() for _ in range(int(body))]
        raise RedisPlaneError(f"unexpected reply {line!r}")


def acl_rules(tokens: list[str]) -> list[str]:
    """The ``default`` user's rules for these AUTH tokens: each a password (as its SHA-256, so no
    token is kept in a file or shown by ACL LIST), or none needed when there is no token."""
    passwords = [f"#{hashlib.sha256(token.encode()).hexdigest()}" for token in tokens] or ["nopass"]
    return ["on", "resetpass", *passwords, "~*", "&*", "+@all"]


class RedisPlane:
    """Starts, reconfigures and stops the servers behind replication groups."""

    def __init__(self, root: Path, ca: TwinCA, binary: Path = REDIS_SERVER) -> None:
        self.root = root
        self.ca = ca
        self.binary = binary
        self.servers: dict[str, Server] = {}
        self._lock = threading.RLock()

    # -- lifecycle ---------------------------------------------------------------------------

    def create(self, region: str, replication_group_id: str, tokens: list[str], tls: bool) -> Server:
        if not self.binary.exists():
            raise RedisPlaneError(f"{self.binary} is not installed: run `make deps` (installs redis-server)")
        key = server_key(region, replication_group_id)
        with self._lock:
            if key in self.servers:
                raise RedisPlaneError(f"a Redis server for {key} exists already")
        data_dir = self.root / region / replication_group_id
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True, mode=0o700)
        server = Server(region, replication_group_id, free_port(), str(data_dir), tls)
        try:
            self._start(server, tokens)
        except Exception:
            self._discard(server)
            raise
        with self._lock:
            self.servers[key] = server
        return server

    def update(self, region: str, replication_group_id: str, tokens: list[str], tls: bool) -> Server:
        """The group's AUTH tokens and transit encryption now: tokens change live; a change of TLS
        restarts the server on the same port, as ElastiCache keeps a group's endpoint."""
        server = self.get(region, replication_group_id)
        if server.tls != tls:
            self._stop(server)
            server.tls = tls
            self._start(server, tokens)
        else:
            self._admin(server, "ACL", "SETUSER", "default", *acl_rules(tokens))
            server.auth = bool(tokens)
        return server

    def delete(self, region: str, replication_group_id: str) -> None:
        with self._lock:
            server = self.servers.pop(server_key(region, replication_group_id), None)
        if server:
            self._discard(server)

    def delete_all(self) -> None:
        for server in list(self.servers.values()):
            self.delete(server.region, server.replication_group_id)
        # Servers a killed twin left behind are found on disk, not in memory.
        for pid_file in self.root.glob("*/*/redis.pid"):
            _stop_leftover(pid_file)
            shutil.rmtree(pid_file.parent, ignore_errors=True)

    # -- lookups -----------------------------------------------------------------------------

    def get(self, region: str, replication_group_id: str) -> Server:
        try:
            return self.servers[server_key(region, replication_group_id)]
        except KeyError:
            raise RedisPlaneError(f"no Redis server for {region}/{replication_group_id}") from None

    def find(self, region: str, replication_group_id: str) -> Server | None:
        return self.servers.get(server_key(region, replication_group_id))

    def connect(self, server: Server) -> RespConnection:
        """A connection to the server's endpoint as a client makes it (TLS verified when on)."""
        return RespConnection(server.port, self.ca.bundle if server.tls else None)

    # -- internals ---------------------------------------------------------------------------

    def _start(self, server: Server, tokens: list[str]) -> None:
        data_dir = Path(server.data_dir)
        config = data_dir / "redis.conf"
        config.unlink(missing_ok=True)
        if server.tls:
            self.ca.issue(data_dir / "server.crt", data_dir / "server.key", f"{server.key} cache (twin)")
        with os.fdopen(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(self._config(server, tokens))
        # In the twin's process group: a `twin down` that signals the group stops them too.
        server.process = subprocess.Popen(
            [str(self.binary), str(config)],
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server.pid = server.process.pid
        server.auth = bool(tokens)
        self._wait_ready(server, server.process)

    def _config(self, server: Server, tokens: list[str]) -> str:
        data_dir = Path(server.data_dir)
        lines = [
            _SERVER_SETTINGS,
            f"dir {_quote(data_dir)}",
            f"pidfile {_quote(data_dir / 'redis.pid')}",
            f"logfile {_quote(data_dir / 'redis.log')}",
            f"user default {' '.join(acl_rules(tokens))}",
            f"user {ADMIN_USER} {' '.join(acl_rules([server.admin_password]))}",
        ]
        if server.tls:
            lines += [
                "port 0",
                f"tls-port {server.port}",
                f"tls-cert-file {_quote(data_dir / 'server.crt')}",
                f"tls-key-file {_quote(data_dir / 'server.key')}",
                f"tls-ca-cert-file {_quote(self.ca.bundle)}",
                "tls-auth-clients no",
            ]
        else:
            lines.append(f"port {server.port}")
        return "\n".join(lines) + "\n"

    def _wait_ready(self, server: Server, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RedisPlaneError(f"redis-server for {server.key} exited: {_log_tail(server)}")
            try:
                self._admin(server, "PING")
                return
            except (OSError, RedisPlaneError) as exc:
                if time.monotonic() > deadline:
                    raise RedisPlaneError(f"redis-server for {server.key} did not answer: {exc}") from exc
            time.sleep(0.05)

    def _admin(self, server: Server, *command: str) -> Any:
        with self.connect(server) as conn:
            conn.call("AUTH", ADMIN_USER, server.admin_password)
            return conn.call(*command)

    def _stop(self, server: Server) -> None:
        process = server.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)

    def _discard(self, server: Server) -> None:
        self._stop(server)
        shutil.rmtree(server.data_dir, ignore_errors=True)


def _stop_leftover(pid_file: Path) -> None:
    """Stop the server of this data directory, if its pid is still that server (working directory
    checked, so a reused pid is left alone)."""
    try:
        pid = int(pid_file.read_text().strip())
        if Path(f"/proc/{pid}/cwd").resolve() != pid_file.parent.resolve():
            return
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return
    deadline = time.monotonic() + STOP_TIMEOUT
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _running(pid):
        os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    """Whether the process runs; one that exited and waits to be reaped by its new parent does not."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _quote(path: Path) -> str:
    """A path as a redis.conf argument, whatever characters it holds."""
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _log_tail(server: Server) -> str:
    try:
        return " | ".join((Path(server.data_dir) / "redis.log").read_text().splitlines()[-5:])
    except OSError:
        return "no log"
