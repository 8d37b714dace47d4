"""ElastiCache replication groups served by real Redis servers, through a twin server of their own.

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
from collections.abc import Iterator
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


def create_group(twin: RunningTwin, group_id: str, token: str | None = TOKEN, transit: bool = True) -> dict[str, Any]:
    extra = {"AuthToken": token} if token else {}
    return twin.elasticache().create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription="test",
        Engine="redis",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=2,
        TransitEncryptionEnabled=transit,
        **extra,
    )["ReplicationGroup"]


def server_of(twin: RunningTwin, group_id: str) -> dict[str, Any]:
    (server,) = [s for s in twin.control.redis() if s["replication_group_id"] == group_id]
    return server


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
    server = server_of(twin, "redis-tls")
    port = server["port"]
    assert server["tls"] and server["auth"]
    (node_group,) = group["NodeGroups"]
    loopback = {"Address": "127.0.0.1", "Port": port}
    assert node_group["PrimaryEndpoint"] == loopback
    assert node_group["ReaderEndpoint"] == loopback
    assert [m["ReadEndpoint"] for m in node_group["NodeGroupMembers"]] == [loopback, loopback]
    clusters = twin.elasticache().describe_cache_clusters(ShowCacheNodeInfo=True)["CacheClusters"]
    nodes = [c["CacheNodes"] for c in clusters if c.get("ReplicationGroupId") == "redis-tls"]
    assert [n[0]["Endpoint"] for n in nodes] == [loopback, loopback]
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
    # Only hashes of the token are kept on disk.
    assert TOKEN not in (Path(server["data_dir"]) / "redis.conf").read_text()


def test_a_group_without_transit_encryption_is_plain_tcp_with_no_auth(twin: RunningTwin) -> None:
    group = create_group(twin, "redis-plain", token=None, transit=False)
    port = group["NodeGroups"][0]["PrimaryEndpoint"]["Port"]
    assert server_of(twin, "redis-plain")["port"] == port
    with connect(twin, port, tls=False) as conn:
        assert conn.call("PING") == "PONG"


def test_token_strategies_rotate_set_and_delete(twin: RunningTwin) -> None:
    create_group(twin, "redis-rotate")
    port = server_of(twin, "redis-rotate")["port"]
    client = twin.elasticache()
    held = connect(twin, port)
    assert held.call("AUTH", TOKEN) == "OK"

    client.modify_replication_group(
        ReplicationGroupId="redis-rotate", AuthToken=NEW_TOKEN, AuthTokenUpdateStrategy="ROTATE", ApplyImmediately=True
    )
    assert authenticates(twin, port, TOKEN) and authenticates(twin, port, NEW_TOKEN)
    assert server_of(twin, "redis-rotate")["port"] == port  # changed live, no restart

    client.modify_replication_group(
        ReplicationGroupId="redis-rotate", AuthToken=NEW_TOKEN, AuthTokenUpdateStrategy="SET", ApplyImmediately=True
    )
    assert not authenticates(twin, port, TOKEN)
    assert authenticates(twin, port, NEW_TOKEN)
    # Redis 7 does not disconnect a user's connections when ACL SETUSER resets its passwords
    # (only ACL DELUSER, or turning the user off, does): a client authenticated with the old token
    # keeps working until it reconnects, when it needs the new one.
    assert held.call("PING") == "PONG"
    held.close()

    client.modify_replication_group(
        ReplicationGroupId="redis-rotate", AuthTokenUpdateStrategy="DELETE", ApplyImmediately=True
    )
    assert not server_of(twin, "redis-rotate")["auth"]
    with connect(twin, port) as conn:
        assert conn.call("PING") == "PONG"


def test_deleting_the_group_stops_its_server(twin: RunningTwin) -> None:
    create_group(twin, "redis-gone")
    server = server_of(twin, "redis-gone")
    assert alive(server["pid"])
    twin.elasticache().delete_replication_group(ReplicationGroupId="redis-gone")
    assert wait_gone(server["pid"])
    assert not Path(server["data_dir"]).exists()
    assert "redis-gone" not in [s["replication_group_id"] for s in twin.control.redis()]


def test_the_server_stops_every_redis_server_when_it_stops() -> None:
    running = start_twin()
    try:
        create_group(running, "redis-a")
        create_group(running, "redis-b", token=None, transit=False)
        pids = [s["pid"] for s in running.control.redis()]
        assert len(pids) == 2
        # SIGTERM to the server alone: its own shutdown must stop the servers (`twin down` also
        # signals the whole process group, which reaches them directly).
        running.process.send_signal(signal.SIGTERM)
        running.process.wait(30)
        assert [pid for pid in pids if not wait_gone(pid)] == []
        assert list((running.state / "redis").glob("*/*")) == []
    finally:
        stop_twin(running)


def test_servers_a_killed_twin_left_behind_are_stopped() -> None:
    running = start_twin()
    try:
        create_group(running, "redis-orphan")
        (server,) = running.control.redis()
        running.process.kill()  # the server alone, as a crash would: its Redis server lives on
        running.process.wait(30)
        assert alive(server["pid"])
        # What `twin down` runs for what a dead server left.
        RedisPlane(running.state / "redis", TwinCA(running.state / "ca")).delete_all()
        assert wait_gone(server["pid"])
        assert not Path(server["data_dir"]).exists()
    finally:
        stop_twin(running)
