"""The twin's database data plane: one real PostgreSQL cluster per RDS PostgreSQL instance.

A new instance gets a new primary; a read replica gets a streaming standby of its source's
cluster (same region or not: everything is on loopback). Promotion is a real ``pg_promote()``.
The internal superuser ``rdsadmin`` is trusted on loopback, as RDS keeps its own; the master
user gets the rights of ``rds_superuser`` that matter here, not superuser.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

ADMIN_USER = "rdsadmin"

# Small, fast, disposable clusters: durability is not what the twin rehearses.
_SERVER_SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 100
shared_buffers = 16MB
fsync = off
full_page_writes = off
synchronous_commit = off
wal_level = replica
max_wal_senders = 10
wal_keep_size = 512MB
hot_standby = on
hot_standby_feedback = on
wal_receiver_status_interval = 1s
logging_collector = off
"""

_HBA = f"""
host all {ADMIN_USER} 127.0.0.1/32 trust
host replication {ADMIN_USER} 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
"""

_STANDBY_STATE_SQL = """
SELECT pg_last_wal_replay_lsn()::text,
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8,
       pg_is_wal_replay_paused(),
       (SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming')
"""


class PostgresPlaneError(RuntimeError):
    """A cluster operation failed; the message says which cluster and why."""


@dataclass
class Cluster:
    region: str
    db_instance_identifier: str
    port: int
    data_dir: str
    role: str  # primary | standby
    source: str | None = None  # "region/identifier" of the upstream cluster
    master_username: str | None = None
    lag: dict[str, Any] = field(default_factory=dict)
    caught_up_at: float = field(default_factory=time.time)

    @property
    def key(self) -> str:
        return cluster_key(self.region, self.db_instance_identifier)

    def public(self) -> dict[str, Any]:
        return asdict(self)


def cluster_key(region: str, db_instance_identifier: str) -> str:
    return f"{region}/{db_instance_identifier}"


def find_bindir() -> Path:
    """The newest installed PostgreSQL server binaries (Debian layout first)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise PostgresPlaneError("no PostgreSQL server binaries found: run `make deps` (installs postgresql)")


def _version_key(path: str) -> int:
    part = path.split("/")[4]
    return int(part) if part.isdigit() else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresPlane:
    """Creates, promotes and removes the clusters behind RDS instances."""

    def __init__(self, root: Path, bindir: Path | None = None) -> None:
        self.root = root
        self.bindir = bindir or find_bindir()
        self.clusters: dict[str, Cluster] = {}
        self._lock = threading.RLock()
        self._run_as = _unprivileged_user()
        root.mkdir(parents=True, exist_ok=True)
        if self._run_as:
            _check_traversable(root, self._run_as)
            os.chown(root, self._run_as.pw_uid, self._run_as.pw_gid)

    # -- lifecycle ---------------------------------------------------------------------------

    def create_primary(
        self, region: str, identifier: str, master_username: str, master_password: str, db_name: str | None
    ) -> Cluster:
        cluster = self._new_cluster(region, identifier, "primary", None)
        cluster.master_username = master_username
        try:
            self._pg(["initdb", "-D", cluster.data_dir, "-U", ADMIN_USER, "-A", "trust", "-N", "-E", "UTF8"])
            self._configure(cluster)
            self._start(cluster)
            self._create_master_user(cluster, master_username, master_password, db_name)
        except Exception:
            self._discard(cluster)
            raise
        return self._register(cluster)

    def create_standby(self, region: str, identifier: str, source_region: str, source_identifier: str) -> Cluster:
        source = self.get(source_region, source_identifier)
        cluster = self._new_cluster(region, identifier, "standby", source.key)
        cluster.master_username = source.master_username
        try:
            self._pg(
                [
                    "pg_basebackup",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(source.port),
                    "-U",
                    ADMIN_USER,
                    "-D",
                    cluster.data_dir,
                    "-R",
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                    "--no-sync",
                ]
            )
            self._configure(cluster)
            self._start(cluster)
        except Exception:
            self._discard(cluster)
            raise
        return self._register(cluster)

    def promote(self, region: str, identifier: str) -> Cluster:
        cluster = self.get(region, identifier)
        if cluster.role == "standby":
            self._query(cluster, "SELECT pg_promote(true, 60)")
            cluster.role = "primary"
            cluster.source = None
            cluster.lag = {}
        return cluster

    def restart(self, region: str, identifier: str) -> None:
        cluster = self.get(region, identifier)
        self._pg(
            [
                "pg_ctl",
                "-D",
                cluster.data_dir,
                "-w",
                "-t",
                "60",
                "-m",
                "fast",
                "restart",
                "-l",
                f"{cluster.data_dir}/server.log",
            ]
        )

    def delete(self, region: str, identifier: str) -> None:
        with self._lock:
            cluster = self.clusters.pop(cluster_key(region, identifier), None)
        if cluster:
            self._discard(cluster)

    def delete_all(self) -> None:
        for cluster in list(self.clusters.values()):
            self.delete(cluster.region, cluster.db_instance_identifier)
        # Clusters a crashed twin left behind are found on disk, not in memory.
        for pid_file in self.root.glob("*/*/postmaster.pid"):
            self._stop_dir(pid_file.parent)
            shutil.rmtree(pid_file.parent, ignore_errors=True)

    # -- data-plane operations ---------------------------------------------------------------

    def get(self, region: str, identifier: str) -> Cluster:
        try:
            return self.clusters[cluster_key(region, identifier)]
        except KeyError:
            raise PostgresPlaneError(f"no PostgreSQL cluster for {region}/{identifier}") from None

    def find(self, region: str, identifier: str) -> Cluster | None:
        return self.clusters.get(cluster_key(region, identifier))

    def set_password(self, region: str, identifier: str, username: str, password: str) -> None:
        cluster = self.get(region, identifier)
        if cluster.role == "primary":
            self._query(cluster, sql.SQL("ALTER ROLE {} PASSWORD %s").format(sql.Identifier(username)), (password,))

    def pause_replay(self, region: str, identifier: str) -> None:
        self._standby_call(region, identifier, "SELECT pg_wal_replay_pause()")

    def resume_replay(self, region: str, identifier: str) -> None:
        self._standby_call(region, identifier, "SELECT pg_wal_replay_resume()")

    def run_sql(self, region: str, identifier: str, statement: str) -> list[list[Any]]:
        return [list(row) for row in self._query(self.get(region, identifier), statement)]

    def measure_lag(self, region: str, identifier: str) -> dict[str, Any]:
        """Real lag of a standby in seconds and bytes behind its upstream.

        A standby that has replayed everything its upstream wrote is not lagging, however long
        ago the last transaction was (an idle primary). Otherwise the lag is the age of the last
        replayed transaction or, before the first one, the time since it was last caught up.
        """
        cluster = self.get(region, identifier)
        if cluster.role != "standby" or not cluster.source:
            raise PostgresPlaneError(f"{cluster.key} is not a standby")
        now = time.time()
        try:
            replay_lsn, replay_age, paused, streaming = self._query(cluster, _STANDBY_STATE_SQL)[0]
            upstream = self.clusters[cluster.source]
            lag_bytes = int(
                self._query(
                    upstream, "SELECT GREATEST(0, pg_wal_lsn_diff(pg_current_wal_lsn(), %s::pg_lsn))", (replay_lsn,)
                )[0][0]
            )
        except (psycopg2.Error, KeyError) as exc:
            cluster.lag = {
                "seconds": None,
                "bytes": None,
                "paused": None,
                "streaming": False,
                "measured_at": now,
                "error": str(exc).strip(),
            }
            return cluster.lag
        if lag_bytes == 0:
            cluster.caught_up_at = now
            seconds = 0.0
        elif replay_age is not None:
            seconds = max(0.0, float(replay_age))
        else:
            seconds = now - cluster.caught_up_at
        cluster.lag = {
            "seconds": round(seconds, 3),
            "bytes": lag_bytes,
            "paused": bool(paused),
            "streaming": bool(streaming),
            "measured_at": now,
            "error": None,
        }
        return cluster.lag

    # -- internals ---------------------------------------------------------------------------

    def _new_cluster(self, region: str, identifier: str, role: str, source: str | None) -> Cluster:
        key = cluster_key(region, identifier)
        with self._lock:
            if key in self.clusters:
                raise PostgresPlaneError(f"a PostgreSQL cluster for {key} exists already")
        data_dir = self.root / region / identifier
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._own(data_dir.parent)
        return Cluster(region, identifier, free_port(), str(data_dir), role, source)

    def _register(self, cluster: Cluster) -> Cluster:
        with self._lock:
            self.clusters[cluster.key] = cluster
        return cluster

    def _configure(self, cluster: Cluster) -> None:
        conf = Path(cluster.data_dir)
        (conf / "postgresql.conf").open("a").write(f"{_SERVER_SETTINGS}\nport = {cluster.port}\n")
        (conf / "pg_hba.conf").write_text(_HBA)
        self._own(conf, recursive=True)

    def _start(self, cluster: Cluster) -> None:
        self._pg(["pg_ctl", "-D", cluster.data_dir, "-w", "-t", "60", "-l", f"{cluster.data_dir}/server.log", "start"])

    def _discard(self, cluster: Cluster) -> None:
        self._stop_dir(Path(cluster.data_dir))
        shutil.rmtree(cluster.data_dir, ignore_errors=True)

    def _stop_dir(self, data_dir: Path) -> None:
        if (data_dir / "postmaster.pid").exists():
            self._pg(["pg_ctl", "-D", str(data_dir), "-w", "-t", "30", "-m", "immediate", "stop"], check=False)

    def _create_master_user(self, cluster: Cluster, username: str, password: str, db_name: str | None) -> None:
        role = sql.Identifier(username)
        self._query(cluster, sql.SQL("CREATE ROLE {} LOGIN CREATEDB CREATEROLE PASSWORD %s").format(role), (password,))
        self._query(cluster, sql.SQL("GRANT pg_monitor, pg_signal_backend TO {}").format(role))
        if db_name and db_name != "postgres":
            self._query(cluster, sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(db_name), role))

    def _standby_call(self, region: str, identifier: str, statement: str) -> None:
        cluster = self.get(region, identifier)
        if cluster.role != "standby":
            raise PostgresPlaneError(f"{cluster.key} is not a standby")
        self._query(cluster, statement)

    def _query(self, cluster: Cluster, statement: Any, params: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
        conn = psycopg2.connect(
            host="127.0.0.1", port=cluster.port, user=ADMIN_USER, dbname="postgres", connect_timeout=5
        )
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def _pg(self, argv: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        user = self._run_as.pw_uid if self._run_as else None
        group = self._run_as.pw_gid if self._run_as else None
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            user=user,
            group=group,
            cwd="/",
            check=False,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"},
        )
        if check and result.returncode != 0:
            output = (result.stderr or result.stdout).strip()
            raise PostgresPlaneError(f"{argv[0]} failed ({result.returncode}): {output}")
        return result

    def _own(self, path: Path, recursive: bool = False) -> None:
        if not self._run_as:
            return
        paths = [path, *path.rglob("*")] if recursive else [path]
        for item in paths:
            os.lchown(item, self._run_as.pw_uid, self._run_as.pw_gid)


def _unprivileged_user() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root: as root, run the clusters as the `postgres` user."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresPlaneError("running as root needs a `postgres` user: run `make deps`") from None


def _check_traversable(root: Path, user: pwd.struct_passwd) -> None:
    for parent in [*reversed(root.resolve().parents)]:
        mode = parent.stat().st_mode
        if parent.stat().st_uid != user.pw_uid and not mode & 0o001:
            raise PostgresPlaneError(
                f"{parent} is not searchable by the `{user.pw_name}` user the clusters run as; "
                "set WEDSYNC_TWIN_PG_ROOT to a directory it can reach"
            )
