"""The twin's cache data plane: one real Redis server per member of an ElastiCache replication group.

Each server is Debian's ``redis-server`` on 127.0.0.1 and a port of its own, with TLS on that port
when the group has in-transit encryption (a certificate from the twin's CA), no persistence and a
small memory cap. The group's first member is its primary; every other member is a replica of it
(``replicaof``, over TLS when the group has it). The group's AUTH tokens are the ``default`` user's
passwords on every server (ACLs do not replicate), changed live, so a rotation needs no restart and
a connection already authenticated stays so, as on ElastiCache. The twin keeps a user of its own,
``twin-admin``, whose password never leaves this process (it reaches a server on its standard
input, never in a file or an argument); replicas authenticate to the primary as that user, so
changing the AUTH tokens never breaks replication.
"""

from __future__ import annotations

import contextlib
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
# Every server's pid file: <root>/<region>/<group>/<member cluster>/redis.pid.
PID_FILES = "*/*/*/redis.pid"

# Disposable caches: nothing written to disk, memory bounded, ElastiCache's default eviction policy.
# A full sync streams from the primary's memory into the replica's, with no RDB file on either
# side, and starts at once instead of after diskless sync's default 5 s wait for more replicas.
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
repl-diskless-sync yes
repl-diskless-sync-delay 0
repl-diskless-load on-empty-db
"""


class RedisPlaneError(RuntimeError):
    """A server operation failed; the message says which group and why."""


class RedisReplyError(RedisPlaneError):
    """The server answered a command with an error reply (``-ERR ...``, ``-WRONGPASS ...``)."""


@dataclass
class Server:
    """One member cache cluster's server: its group's primary, or a replica of the primary's port."""

    region: str
    replication_group_id: str
    cache_cluster_id: str
    port: int
    data_dir: str
    tls: bool
    primary_port: int | None = None
    auth: bool = False
    pid: int | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def role(self) -> str:
        return "primary" if self.primary_port is None else "replica"

    @property
    def key(self) -> str:
        return f"{server_key(self.region, self.replication_group_id)}/{self.cache_cluster_id}"

    def public(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "replication_group_id": self.replication_group_id,
            "cache_cluster_id": self.cache_cluster_id,
            "role": self.role,
            "address": LOOPBACK,
            "port": self.port,
            "primary_port": self.primary_port,
            "tls": self.tls,
            "auth": self.auth,
            "pid": self.pid,
            "data_dir": self.data_dir,
        }


@dataclass
class Group:
    """A replication group's servers, its primary first, and what each server of it is started with."""

    region: str
    replication_group_id: str
    tls: bool
    tokens: list[str] = field(default_factory=list, repr=False)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    nodes: dict[str, Server] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return server_key(self.region, self.replication_group_id)

    @property
    def primary(self) -> Server | None:
        return next(iter(self.nodes.values()), None)

    @property
    def replicas(self) -> list[Server]:
        return list(self.nodes.values())[1:]


def server_key(region: str, replication_group_id: str) -> str:
    return f"{region}/{replication_group_id}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class RespConnection:
    """A minimal RESP2 client on loopback, plain or TLS verified against a CA: enough for PING,
    AUTH, ACL and INFO, with no dependency beyond the standard library."""

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
        self.groups: dict[str, Group] = {}
        self._lock = threading.RLock()

    @property
    def servers(self) -> dict[str, Server]:
        """Every server of every group, by ``region/group/member cluster``."""
        with self._lock:
            return {server.key: server for group in self.groups.values() for server in group.nodes.values()}

    # -- lifecycle ---------------------------------------------------------------------------

    def create(self, region: str, replication_group_id: str, members: list[str], tokens: list[str], tls: bool) -> Group:
        """The group's servers: the first member its primary, every other member a replica of it."""
        if not self.binary.exists():
            raise RedisPlaneError(f"{self.binary} is not installed: run `make deps` (installs redis-server)")
        if not members:
            raise RedisPlaneError(f"{server_key(region, replication_group_id)} has no member cluster")
        group = Group(region, replication_group_id, tls, list(tokens))
        with self._lock:
            if group.key in self.groups:
                raise RedisPlaneError(f"Redis servers for {group.key} exist already")
        group_dir = self._group_dir(group)
        shutil.rmtree(group_dir, ignore_errors=True)
        group_dir.mkdir(parents=True, mode=0o700)
        try:
            for member in members:
                self._add(group, member)
        except Exception:
            self._discard_group(group)
            raise
        with self._lock:
            self.groups[group.key] = group
        return group

    def add_replica(self, region: str, replication_group_id: str, cache_cluster_id: str) -> Server:
        """A new replica of the group's primary, in sync with it when this returns."""
        return self._add(self.get(region, replication_group_id), cache_cluster_id)

    def remove_replica(self, region: str, replication_group_id: str, cache_cluster_id: str) -> None:
        group = self.get(region, replication_group_id)
        server = group.nodes.get(cache_cluster_id)
        if server is None or server.role != "replica":
            raise RedisPlaneError(f"{group.key} has no replica {cache_cluster_id}")
        with self._lock:
            del group.nodes[cache_cluster_id]
        self._discard(server)

    def update(self, region: str, replication_group_id: str, tokens: list[str], tls: bool) -> Group:
        """The group's AUTH tokens and transit encryption now, on every server (ACLs do not
        replicate): tokens change live; a change of TLS restarts each server on its own port, as
        ElastiCache keeps a group's endpoints."""
        group = self.get(region, replication_group_id)
        group.tokens = list(tokens)
        if group.tls != tls:
            self._stop_all(group)
            group.tls = tls
            for server in group.nodes.values():
                server.tls = tls
                self._start(group, server)
            return group
        for server in group.nodes.values():
            self._admin(group, server, "ACL", "SETUSER", "default", *acl_rules(tokens))
            server.auth = bool(tokens)
        return group

    def delete(self, region: str, replication_group_id: str) -> None:
        with self._lock:
            group = self.groups.pop(server_key(region, replication_group_id), None)
        if group:
            self._discard_group(group)

    def delete_all(self) -> None:
        for group in list(self.groups.values()):
            self.delete(group.region, group.replication_group_id)
        # Servers a killed twin left behind are found on disk, not in memory: all stopped before
        # any directory goes, as a group's directory holds its servers' pid files.
        pid_files = list(self.root.glob(PID_FILES))
        for pid_file in pid_files:
            _stop_leftover(pid_file)
        for group_dir in {pid_file.parent.parent for pid_file in pid_files}:
            shutil.rmtree(group_dir, ignore_errors=True)

    # -- lookups -----------------------------------------------------------------------------

    def get(self, region: str, replication_group_id: str) -> Group:
        try:
            return self.groups[server_key(region, replication_group_id)]
        except KeyError:
            raise RedisPlaneError(f"no Redis server for {region}/{replication_group_id}") from None

    def find(self, region: str, replication_group_id: str) -> Group | None:
        return self.groups.get(server_key(region, replication_group_id))

    def connect(self, server: Server) -> RespConnection:
        """A connection to the server's endpoint as a client makes it (TLS verified when on)."""
        return RespConnection(server.port, self.ca.bundle if server.tls else None)

    # -- internals ---------------------------------------------------------------------------

    def _group_dir(self, group: Group) -> Path:
        return self.root / group.region / group.replication_group_id

    def _add(self, group: Group, cache_cluster_id: str) -> Server:
        if cache_cluster_id in group.nodes:
            raise RedisPlaneError(f"{group.key} has a server for {cache_cluster_id} already")
        data_dir = self._group_dir(group) / cache_cluster_id
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(mode=0o700)
        primary = group.primary
        server = Server(
            group.region,
            group.replication_group_id,
            cache_cluster_id,
            free_port(),
            str(data_dir),
            group.tls,
            primary.port if primary else None,
        )
        try:
            self._start(group, server)
        except Exception:
            self._discard(server)
            raise
        with self._lock:
            group.nodes[cache_cluster_id] = server
        return server

    def _start(self, group: Group, server: Server) -> None:
        data_dir = Path(server.data_dir)
        config = data_dir / "redis.conf"
        config.unlink(missing_ok=True)
        if server.tls:
            self.ca.issue(data_dir / "server.crt", data_dir / "server.key", f"{server.key} cache (twin)")
        with os.fdopen(os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(self._config(group, server))
        # In the twin's process group: a `twin down` that signals the group stops them too. The
        # file's settings are followed by those on standard input ("-"), which hold the secrets.
        process = subprocess.Popen(
            [str(self.binary), str(config), "-"],
            cwd=data_dir,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server.process, server.pid = process, process.pid
        assert process.stdin is not None
        with contextlib.suppress(BrokenPipeError), process.stdin:  # an early exit is reported below
            process.stdin.write(self._secret_config(group, server).encode())
        server.auth = bool(group.tokens)
        self._wait_ready(group, server, process)

    def _config(self, group: Group, server: Server) -> str:
        data_dir = Path(server.data_dir)
        lines = [
            _SERVER_SETTINGS,
            f"dir {_quote(data_dir)}",
            f"pidfile {_quote(data_dir / 'redis.pid')}",
            f"logfile {_quote(data_dir / 'redis.log')}",
            f"user default {' '.join(acl_rules(group.tokens))}",
            f"user {ADMIN_USER} {' '.join(acl_rules([group.admin_password]))}",
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
        if server.primary_port is not None:
            # As the twin's own user, not `default`: a change of AUTH token leaves the link alone.
            lines += [f"replicaof {LOOPBACK} {server.primary_port}", f"masteruser {ADMIN_USER}"]
            if server.tls:
                lines.append("tls-replication yes")  # the primary verified against the twin's CA
        return "\n".join(lines) + "\n"

    def _secret_config(self, group: Group, server: Server) -> str:
        return f"masterauth {_quote(group.admin_password)}\n" if server.primary_port is not None else ""

    def _wait_ready(self, group: Group, server: Server, process: subprocess.Popen[bytes]) -> None:
        """Until the server answers and, for a replica, its link to the primary is up: ElastiCache
        reports a replica available once it has synced."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RedisPlaneError(f"redis-server for {server.key} exited: {_log_tail(server)}")
            try:
                if self._ready(group, server):
                    return
                problem = "its replication link is down"
            except (OSError, RedisPlaneError) as exc:
                problem = f"it did not answer: {exc}"
            if time.monotonic() > deadline:
                raise RedisPlaneError(f"redis-server for {server.key} is not ready, {problem}: {_log_tail(server)}")
            time.sleep(0.05)

    def _ready(self, group: Group, server: Server) -> bool:
        if server.primary_port is None:
            return self._admin(group, server, "PING") == "PONG"
        return "master_link_status:up" in self._admin(group, server, "INFO", "replication")

    def _admin(self, group: Group, server: Server, *command: str) -> Any:
        with self.connect(server) as conn:
            conn.call("AUTH", ADMIN_USER, group.admin_password)
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

    def _stop_all(self, group: Group) -> None:
        # Replicas first, so none keeps retrying a primary that has gone.
        for server in reversed(list(group.nodes.values())):
            self._stop(server)

    def _discard(self, server: Server) -> None:
        self._stop(server)
        shutil.rmtree(server.data_dir, ignore_errors=True)

    def _discard_group(self, group: Group) -> None:
        self._stop_all(group)
        shutil.rmtree(self._group_dir(group), ignore_errors=True)


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


def _quote(value: Path | str) -> str:
    """A path or a secret as a redis.conf argument, whatever characters it holds."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _log_tail(server: Server) -> str:
    try:
        return " | ".join((Path(server.data_dir) / "redis.log").read_text().splitlines()[-5:])
    except OSError:
        return "no log"
