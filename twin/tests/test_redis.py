"""ElastiCache replication groups served by real Redis servers, a primary and its replicas, through a
twin server of their own.

Each module run starts `python -m twin serve` in a state directory of its own (a subprocess, so the
patches it installs stay out of the other tests' processes) and talks to it with boto3 and RESP.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from twin.ca import TwinCA
from twin.client import TwinClient
from twin.redis import REDIS_SERVER, RedisPlane, RedisReplyError, RespConnection

REPO = Path(__file__).resolve().parents[2]
TOKEN = "Twin-test-AUTH-token-0123456789"  # throwaway tokens, on loopback only
NEW_TOKEN = "Twin-test-AUTH-token-rotated-42"

pytestmark = pytest.mark.skipif(not REDIS_SERVER.exists(), reason="redis-server is not installed: run `make deps`")


@dataclass
class RunningTwin:
    process: subprocess.Popen[bytes]
    state: Path
    endpoint: str

    @property
    def control(self) -> TwinClient:
        return TwinClient(f"{self.endpoint}/_twin", timeout=30)

    @property
    def ca_bundle(self) -> Path:
        return self.state / "ca" / "ca.pem"

    def elasticache(self) -> Any:
        return boto3.client(
            "elasticache",
            region_name="us-east-1",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def start_twin() -> RunningTwin:
    # Under the repository, not pytest's 0700 temporary directory: as root the PostgreSQL plane
    # runs as `postgres`, which must reach the state directory.
    (REPO / ".cache").mkdir(exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="twin-redis-test-", dir=REPO / ".cache"))
    state.chmod(0o755)
    env = {**os.environ, "WEDSYNC_TWIN_STATE": str(state), "PYTHONPATH": str(REPO)}
    log = (state / "twin.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "twin", "serve", "--metrics-interval", "3600"],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not (state / "server.json").exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the twin server did not start: {(state / 'twin.log').read_text()[-2000:]}")
        time.sleep(0.1)
    port = json.loads((state / "server.json").read_text())["port"]
    return RunningTwin(process, state, f"http://127.0.0.1:{port}")


def stop_twin(twin: RunningTwin) -> None:
    # The whole process group, as `twin down` signals it: it reaches a Redis server a test left.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(twin.process.pid, signal.SIGTERM)
    twin.process.wait(30)
    shutil.rmtree(twin.state, ignore_errors=True)


@pytest.fixture(scope="module")
def twin() -> Iterator[RunningTwin]:
    running = start_twin()
    yield running
    stop_twin(running)


def create_group(
    twin: RunningTwin, group_id: str, token: str | None = TOKEN, transit: bool = True, nodes: int = 2
) -> dict[str, Any]:
    extra = {"AuthToken": token} if token else {}
    return twin.elasticache().create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="test",
        Engine="redis",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=nodes,
        TransitEncryptionEnabled=transit,
        **extra,
    )["ReplicationGroup"]


def servers_of(twin: RunningTwin, group_id: str) -> list[dict[str, Any]]:
    """The group's servers, its primary first."""
    servers = [s for s in twin.control.redis() if s["replication_group_id"] == group_id]
    return sorted(servers, key=lambda s: (s["role"] != "primary", s["cache_cluster_id"]))


def node_endpoints(twin: RunningTwin, group_id: str) -> dict[str, dict[str, Any]]:
    """Each member cluster's node endpoint, as DescribeCacheClusters shows it."""
    clusters = twin.elasticache().describe_cache_clusters(ShowCacheNodeInfo=True)["CacheClusters"]
    return {
        c["CacheClusterId"]: c["CacheNodes"][0]["Endpoint"] for c in clusters if c.get("ReplicationGroupId") == group_id
    }


def connect(twin: RunningTwin, port: int, tls: bool = True) -> RespConnection:
    """A client's connection: TLS verified against the twin's CA, hostname 127.0.0.1 checked."""
    return RespConnection(port, twin.ca_bundle if tls else None)


def authenticates(twin: RunningTwin, port: int, token: str) -> bool:
    with connect(twin, port) as conn:
        try:
            conn.call("AUTH", token)
        except RedisReplyError as error:
            assert str(error).startswith("WRONGPASS"), error
            return False
        return conn.call("PING") == "PONG"


def replication(twin: RunningTwin, port: int, *, token: str | None = TOKEN, tls: bool = True) -> dict[str, str]:
    """The server's INFO replication, as a client with the AUTH token reads it."""
    with connect(twin, port, tls) as conn:
        if token:
            conn.call("AUTH", token)
        lines = conn.call("INFO", "replication").splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line)


def read_key(twin: RunningTwin, port: int, key: str, *, token: str | None = TOKEN, tls: bool = True) -> str | None:
    with connect(twin, port, tls) as conn:
        if token:
            conn.call("AUTH", token)
        return conn.call("GET", key)


def write_key(
    twin: RunningTwin, port: int, key: str, value: str, *, token: str | None = TOKEN, tls: bool = True
) -> None:
    with connect(twin, port, tls) as conn:
        if token:
            conn.call("AUTH", token)
        assert conn.call("SET", key, value) == "OK"


def eventually(check: Callable[[], bool], seconds: float = 10) -> bool:
    """A bounded poll: replication is asynchronous, so a replica catches up a moment later."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def redis_processes(state: Path) -> list[int]:
    """Every redis-server running in a directory under this twin's state (others on the machine
    are not this twin's)."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "comm").read_text().strip() != "redis-server" or not alive(int(proc.name)):
                continue
            if (proc / "cwd").resolve().is_relative_to(state.resolve()):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    """Running: a server that exited and waits to be reaped is gone all the same."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_a_group_is_served_on_its_endpoints_with_tls_and_auth(twin: RunningTwin) -> None:
    group = create_group(twin, "redis-tls")
    primary, replica = servers_of(twin, "redis-tls")
    port = primary["port"]
    assert primary["tls"] and primary["auth"] and replica["tls"] and replica["auth"]
    assert (primary["role"], replica["role"]) == ("primary", "replica")
    assert replica["port"] != port and replica["primary_port"] == port
    (node_group,) = group["NodeGroups"]
    loopback = {"Address": "127.0.0.1", "Port": port}
    reader = {"Address": "127.0.0.1", "Port": replica["port"]}
    assert node_group["PrimaryEndpoint"] == loopback
    assert node_group["ReaderEndpoint"] == reader
    assert [m["ReadEndpoint"] for m in node_group["NodeGroupMembers"]] == [loopback, reader]
    assert node_endpoints(twin, "redis-tls") == {
        primary["cache_cluster_id"]: loopback,
        replica["cache_cluster_id"]: reader,
    }
    assert all("CacheNodes" not in c for c in twin.elasticache().describe_cache_clusters()["CacheClusters"])

    with connect(twin, port) as conn:
        with pytest.raises(RedisReplyError, match="NOAUTH"):
            conn.call("PING")
        with pytest.raises(RedisReplyError, match="WRONGPASS"):
            conn.call("AUTH", "Not-the-token-0123456789")
        assert conn.call("AUTH", TOKEN) == "OK"
        assert conn.call("PING") == "PONG"
        assert conn.call("SET", "k", "v") == "OK"
    # The endpoint speaks TLS only: a plain client gets no answer.
    with connect(twin, port, tls=False) as plain, pytest.raises(OSError):
        plain.call("PING")
    # Only hashes of the token are kept on disk, and the replica's secrets not at all.
    for server in (primary, replica):
        config = (Path(server["data_dir"]) / "redis.conf").read_text()
        assert TOKEN not in config and "masterauth" not in config


THREE = "redis-three-named-as-long-as-aws-allows"


def test_a_group_of_three_is_a_primary_replicating_to_two_replicas(twin: RunningTwin) -> None:
    # Named near the 40-character limit: its servers' certificate names must still be valid.
    group = create_group(twin, THREE, nodes=3)
    primary, *replicas = servers_of(twin, THREE)
    assert [r["role"] for r in replicas] == ["replica", "replica"]
    assert len({primary["port"], *(r["port"] for r in replicas)}) == 3
    assert eventually(lambda: replication(twin, primary["port"])["connected_slaves"] == "2")
    assert replication(twin, primary["port"])["role"] == "master"
    (node_group,) = group["NodeGroups"]
    assert node_group["ReaderEndpoint"]["Port"] in [r["port"] for r in replicas]

    write_key(twin, primary["port"], "greeting", "hello from the primary")
    endpoints = node_endpoints(twin, THREE)
    for replica in replicas:
        endpoint = endpoints[replica["cache_cluster_id"]]
        assert endpoint == {"Address": "127.0.0.1", "Port": replica["port"]}
        info = replication(twin, endpoint["Port"])
        assert (info["role"], info["master_link_status"]) == ("slave", "up")
        assert eventually(lambda port=endpoint["Port"]: read_key(twin, port, "greeting") == "hello from the primary")
        # A replica is read-only, as ElastiCache's are.
        with pytest.raises(RedisReplyError, match="READONLY"):
            write_key(twin, endpoint["Port"], "greeting", "from a replica")


def test_a_group_without_transit_encryption_is_plain_tcp_with_no_auth(twin: RunningTwin) -> None:
    group = create_group(twin, "redis-plain", token=None, transit=False)
    port = group["NodeGroups"][0]["PrimaryEndpoint"]["Port"]
    primary, replica = servers_of(twin, "redis-plain")
    assert primary["port"] == port
    with connect(twin, port, tls=False) as conn:
        assert conn.call("PING") == "PONG"
    assert eventually(lambda: replication(twin, replica["port"], token=None, tls=False)["master_link_status"] == "up")


def test_turning_transit_encryption_on_keeps_replication(twin: RunningTwin) -> None:
    create_group(twin, "redis-to-tls", token=None, transit=False)
    before = servers_of(twin, "redis-to-tls")
    twin.elasticache().modify_replication_group(
        ReplicationGroupId="redis-to-tls", TransitEncryptionEnabled=True, ApplyImmediately=True
    )
    primary, replica = servers_of(twin, "redis-to-tls")
    assert [s["port"] for s in (primary, replica)] == [s["port"] for s in before]
    assert primary["tls"] and replica["tls"]
    # The replica now reaches its primary over TLS, verified against the twin's CA.
    assert eventually(lambda: replication(twin, primary["port"], token=None)["connected_slaves"] == "1")
    write_key(twin, primary["port"], "k", "over tls", token=None)
    assert eventually(lambda: read_key(twin, replica["port"], "k", token=None) == "over tls")


def test_token_strategies_rotate_set_and_delete_on_every_server(twin: RunningTwin) -> None:
    create_group(twin, "redis-rotate", nodes=3)
    servers = servers_of(twin, "redis-rotate")
    ports = [s["port"] for s in servers]
    assert len(ports) == 3
    client = twin.elasticache()
    held = connect(twin, ports[0])
    assert held.call("AUTH", TOKEN) == "OK"

    client.modify_replication_group(
        ReplicationGroupId="redis-rotate", AuthToken=NEW_TOKEN, AuthTokenUpdateStrategy="ROTATE", ApplyImmediately=True
    )
    for port in ports:
        assert authenticates(twin, port, TOKEN) and authenticates(twin, port, NEW_TOKEN), port
    assert [s["port"] for s in servers_of(twin, "redis-rotate")] == ports  # changed live, no restart

    client.modify_replication_group(
        ReplicationGroupId="redis-rotate", AuthToken=NEW_TOKEN, AuthTokenUpdateStrategy="SET", ApplyImmediately=True
    )
    for port in ports:
        assert not authenticates(twin, port, TOKEN), port
        assert authenticates(twin, port, NEW_TOKEN), port
    # Redis 7 does not disconnect a user's connections when ACL SETUSER resets its passwords
    # (only ACL DELUSER, or turning the user off, does): a client authenticated with the old token
    # keeps working until it reconnects, when it needs the new one.
    assert held.call("PING") == "PONG"
    held.close()
    # The replicas reach the primary as the twin's own user: a new token does not break the link,
    # not even when the replicas must connect again.
    with connect(twin, ports[0]) as conn:
        conn.call("AUTH", NEW_TOKEN)
        assert conn.call("CLIENT", "KILL", "TYPE", "replica") == 2
    write_key(twin, ports[0], "after-set", "still replicated", token=NEW_TOKEN)
    for port in ports[1:]:
        assert eventually(lambda port=port: read_key(twin, port, "after-set", token=NEW_TOKEN) == "still replicated")
    assert replication(twin, ports[0], token=NEW_TOKEN)["connected_slaves"] == "2"

    client.modify_replication_group(
        ReplicationGroupId="redis-rotate", AuthTokenUpdateStrategy="DELETE", ApplyImmediately=True
    )
    assert not any(s["auth"] for s in servers_of(twin, "redis-rotate"))
    for port in ports:
        with connect(twin, port) as conn:
            assert conn.call("PING") == "PONG"


def test_replica_count_changes_stop_and_start_replicas(twin: RunningTwin) -> None:
    create_group(twin, "redis-count", nodes=3)
    primary, *replicas = servers_of(twin, "redis-count")
    assert eventually(lambda: replication(twin, primary["port"])["connected_slaves"] == "2")
    write_key(twin, primary["port"], "kept", "across replica changes")
    client = twin.elasticache()

    group = client.decrease_replica_count(ReplicationGroupId="redis-count", NewReplicaCount=1, ApplyImmediately=True)
    removed = replicas[-1]
    assert wait_gone(removed["pid"])
    assert not Path(removed["data_dir"]).exists()
    assert [s["cache_cluster_id"] for s in servers_of(twin, "redis-count")] == [
        primary["cache_cluster_id"],
        replicas[0]["cache_cluster_id"],
    ]
    assert eventually(lambda: replication(twin, primary["port"])["connected_slaves"] == "1")
    assert group["ReplicationGroup"]["NodeGroups"][0]["ReaderEndpoint"]["Port"] == replicas[0]["port"]
    assert removed["cache_cluster_id"] not in node_endpoints(twin, "redis-count")

    # With no replica left, the reader endpoint is the primary's, as on ElastiCache.
    group = client.decrease_replica_count(ReplicationGroupId="redis-count", NewReplicaCount=0, ApplyImmediately=True)
    assert wait_gone(replicas[0]["pid"])
    assert eventually(lambda: replication(twin, primary["port"])["connected_slaves"] == "0")
    assert group["ReplicationGroup"]["NodeGroups"][0]["ReaderEndpoint"]["Port"] == primary["port"]

    group = client.increase_replica_count(ReplicationGroupId="redis-count", NewReplicaCount=1, ApplyImmediately=True)
    primary_now, added = servers_of(twin, "redis-count")
    assert primary_now == primary
    assert added["role"] == "replica" and alive(added["pid"])
    assert added["pid"] not in (r["pid"] for r in replicas)
    (node_group,) = group["ReplicationGroup"]["NodeGroups"]
    assert node_group["NodeGroupMembers"][-1]["ReadEndpoint"] == {"Address": "127.0.0.1", "Port": added["port"]}
    assert node_group["ReaderEndpoint"]["Port"] == added["port"]
    assert node_endpoints(twin, "redis-count")[added["cache_cluster_id"]]["Port"] == added["port"]
    assert eventually(lambda: replication(twin, primary["port"])["connected_slaves"] == "1")
    # A new replica starts with a full sync of what the primary holds.
    assert read_key(twin, added["port"], "kept") == "across replica changes"


def test_deleting_the_group_stops_its_servers(twin: RunningTwin) -> None:
    create_group(twin, "redis-gone", nodes=3)
    servers = servers_of(twin, "redis-gone")
    assert len(servers) == 3 and all(alive(s["pid"]) for s in servers)
    twin.elasticache().delete_replication_group(ReplicationGroupId="redis-gone")
    assert [s["pid"] for s in servers if not wait_gone(s["pid"])] == []
    assert not any(Path(s["data_dir"]).exists() for s in servers)
    assert "redis-gone" not in [s["replication_group_id"] for s in twin.control.redis()]
    assert set(redis_processes(twin.state)) == {s["pid"] for s in twin.control.redis()}


def test_the_server_stops_every_redis_server_when_it_stops() -> None:
    running = start_twin()
    try:
        create_group(running, "redis-a", nodes=3)
        create_group(running, "redis-b", token=None, transit=False)
        pids = [s["pid"] for s in running.control.redis()]
        assert len(pids) == 5
        assert sorted(redis_processes(running.state)) == sorted(pids)
        # SIGTERM to the server alone: its own shutdown must stop the servers (`twin down` also
        # signals the whole process group, which reaches them directly).
        running.process.send_signal(signal.SIGTERM)
        running.process.wait(30)
        assert [pid for pid in pids if not wait_gone(pid)] == []
        assert redis_processes(running.state) == []
        assert list((running.state / "redis").glob("*/*")) == []
    finally:
        stop_twin(running)


def test_servers_a_killed_twin_left_behind_are_stopped() -> None:
    running = start_twin()
    try:
        create_group(running, "redis-orphan")
        servers = running.control.redis()
        assert len(servers) == 2
        running.process.kill()  # the server alone, as a crash would: its Redis servers live on
        running.process.wait(30)
        assert all(alive(s["pid"]) for s in servers)
        # What `twin down` runs for what a dead server left.
        RedisPlane(running.state / "redis", TwinCA(running.state / "ca")).delete_all()
        assert [s["pid"] for s in servers if not wait_gone(s["pid"])] == []
        assert redis_processes(running.state) == []
        assert not any(Path(s["data_dir"]).exists() for s in servers)
    finally:
        stop_twin(running)
