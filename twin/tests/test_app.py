"""The release bundle's stand-in application, run with node against a twin server's real dependencies.

One twin server for the module (as test_redis.py starts it) holds an RDS PostgreSQL primary with a
read replica, an ElastiCache group with an AUTH token and TLS, and a bucket. Each test runs the
bundle `python -m twin release` builds (`node server.js`, unpacked) with the environment the app
tier gives a server: the seed's settings, the secrets' keys and the SSM parameters the database and
cache roles publish, upper-cased.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from twin import release
from twin.postgres import free_port
from twin.redis import REDIS_SERVER
from twin.tests.test_redis import RunningTwin, start_twin, stop_twin

NODE = shutil.which("node")
VERSION = "1.4.2"
PASSWORD = "Twin-test-db-password-0123456789"  # throwaway secrets, on loopback only
TOKEN = "Twin-test-AUTH-token-0123456789"
WRONG_TOKEN = "Not-the-AUTH-token-9876543210"
BUCKET = "wedsync-test-uploads-us-east-1"

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed: run `make deps`"),
    pytest.mark.skipif(not REDIS_SERVER.exists(), reason="redis-server is not installed: run `make deps`"),
]


@dataclass
class Estate:
    twin: RunningTwin
    bundle: Path
    env: dict[str, str]  # what the app tier would give a server
    writer: str
    reader: str


@dataclass
class App:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def get(self, path: str, timeout: float = 10) -> tuple[int, dict[str, Any]]:
        return self.request("GET", path, timeout=timeout)

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 10
    ) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode() if body is not None else None
        sent = urllib.request.Request(f"{self.url}{path}", data, {"Content-Type": "application/json"}, method=method)
        try:
            with urllib.request.urlopen(sent, timeout=timeout) as answer:
                return answer.status, json.load(answer)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)


def aws(twin: RunningTwin, service: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=twin.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def endpoint_of(rds: Any, identifier: str) -> str:
    endpoint = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]["Endpoint"]
    return f"{endpoint['Address']}:{endpoint['Port']}"


def provision(twin: RunningTwin) -> tuple[str, str, dict[str, Any]]:
    rds = aws(twin, "rds")
    rds.create_db_instance(
        DBInstanceIdentifier="app-db",
        Engine="postgres",
        DBInstanceClass="db.t4g.micro",
        AllocatedStorage=20,
        MasterUsername="wedsync",
        MasterUserPassword=PASSWORD,
        DBName="wedsync",
    )
    rds.create_db_instance_read_replica(DBInstanceIdentifier="app-db-replica-1", SourceDBInstanceIdentifier="app-db")
    group = aws(twin, "elasticache").create_replication_group(
        ReplicationGroupId="app-cache",
        ReplicationGroupDescription="test",
        Engine="redis",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=2,
        TransitEncryptionEnabled=True,
        AuthToken=TOKEN,
    )["ReplicationGroup"]
    aws(twin, "s3").create_bucket(Bucket=BUCKET)
    return endpoint_of(rds, "app-db"), endpoint_of(rds, "app-db-replica-1"), group["NodeGroups"][0]["PrimaryEndpoint"]


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    bundle = tmp_path_factory.mktemp("release")
    # Offline: the test takes the dependencies `make deps` fetched, never the registry.
    with zipfile.ZipFile(io.BytesIO(release.bundle(VERSION, offline=True))) as archive:
        archive.extractall(bundle)
    twin = start_twin()
    try:
        writer, reader, cache = provision(twin)
        env = {
            # /etc/wedsync/app.env (the app_tier role)
            "NODE_ENV": "production",
            "WORKER_PROCESSES": "1",
            "MAX_REQUEST_SIZE": "50mb",
            "REQUEST_TIMEOUT": "30000",
            # /run/wedsync/secrets.env: wedsync/<env>/database and wedsync/<env>/redis, their lower-case
            # keys after the secret's name
            "DATABASE_USERNAME": "wedsync",
            "DATABASE_PASSWORD": PASSWORD,
            "REDIS_AUTH_TOKEN": TOKEN,
            # /run/wedsync/settings.env: the database and cache roles' SSM parameters
            "DB_WRITER_ENDPOINT": writer,
            "DB_READER_ENDPOINTS": reader,
            "DB_PORT": writer.split(":")[1],
            "DB_NAME": "wedsync",
            "REDIS_HOST": cache["Address"],
            "REDIS_PORT": str(cache["Port"]),
            # /etc/wedsync/app.env (the app_tier role's uploads bucket)
            "S3_BUCKET": BUCKET,
            # On a host, the instance profile and IMDS.
            "AWS_ENDPOINT_URL": twin.endpoint,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "NODE_EXTRA_CA_CERTS": str(twin.ca_bundle),
        }
        yield Estate(twin, bundle, env, writer, reader)
    finally:
        stop_twin(twin)


@contextlib.contextmanager
def run_app(estate: Estate, tmp_path: Path, **settings: str | None) -> Iterator[App]:
    """`node server.js` in the unpacked bundle; a setting of None removes that variable."""
    port = free_port()
    env = {**estate.env, "PORT": str(port), "WEDSYNC_FAULT_FILE": str(tmp_path / "fault.json")}
    for name, value in settings.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    log = tmp_path / "app.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(NODE), "server.js"], cwd=estate.bundle, env=env, stdout=out, stderr=out, start_new_session=True
        )
    app = App(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                if app.get("/api/health", timeout=2)[0] == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)
        yield app
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(15)


class SilentServer:
    """Accepts connections and never answers, noting when the other side closes each one."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = threading.Event()
        self.closed_by_peer = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            conn, _ = self.listener.accept()
            self.accepted.set()
            conn.settimeout(30)
            with conn, contextlib.suppress(OSError):
                while conn.recv(65536):
                    pass
                self.closed_by_peer.set()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_the_bundle_holds_the_app_its_version_and_pinned_dependencies(estate: Estate) -> None:
    package = json.loads((estate.bundle / "package.json").read_text())
    assert package["version"] == VERSION
    assert package["scripts"]["start"] == "node server.js"
    lock = json.loads((release.APP / "package-lock.json").read_text())["packages"]
    for name in ("pg", "ioredis"):
        vendored = json.loads((estate.bundle / "node_modules" / name / "package.json").read_text())
        assert vendored["version"] == lock[f"node_modules/{name}"]["version"] == package["dependencies"][name]
    assert (estate.bundle / "server.js").is_file() and (estate.bundle / "lib" / "checks.js").is_file()
    # Built again, the same bytes: nothing in it depends on when it was built.
    assert release.bundle(VERSION, offline=True) == release.bundle(VERSION, offline=True)


def test_deep_health_reaches_every_dependency_by_what_the_roles_publish(estate: Estate, tmp_path: Path) -> None:
    with run_app(estate, tmp_path) as app:
        status, shallow = app.get("/api/health")
        assert status == 200
        assert shallow == {"status": "ok", "version": VERSION, "worker": shallow["worker"]}
        status, deep = app.get("/api/health/deep")
    assert status == 200, deep
    assert deep["status"] == "ok" and deep["failing"] == []
    checks = deep["checks"]
    assert {name: check["status"] for name, check in checks.items()} == dict.fromkeys(
        ("primary", "replica", "redis", "s3"), "ok"
    )
    assert checks["primary"]["endpoint"] == estate.writer
    assert checks["replica"]["endpoints"] == [estate.reader]
    assert checks["redis"]["tls"] and checks["redis"]["auth"]
    assert checks["s3"]["bucket"] == BUCKET


def test_a_wrong_redis_token_fails_redis_alone_and_is_never_shown(estate: Estate, tmp_path: Path) -> None:
    with run_app(estate, tmp_path, REDIS_AUTH_TOKEN=WRONG_TOKEN) as app:
        status, deep = app.get("/api/health/deep")
    assert status == 503
    assert deep["failing"] == ["redis"]
    assert "WRONGPASS" in deep["checks"]["redis"]["error"]
    for text in (json.dumps(deep), app.log.read_text()):
        assert WRONG_TOKEN not in text and TOKEN not in text


@pytest.mark.parametrize(
    ("where", "reason"),
    [("closed", "ECONNREFUSED"), ("replica", "in recovery")],
    ids=["closed-port", "the-replica"],
)
def test_a_database_url_not_on_the_primary_fails_the_primary(
    estate: Estate, tmp_path: Path, where: str, reason: str
) -> None:
    host_port = f"127.0.0.1:{free_port()}" if where == "closed" else estate.reader
    url = f"postgresql://wedsync:{PASSWORD}@{host_port}/wedsync"
    with run_app(estate, tmp_path, DATABASE_URL=url) as app:
        status, deep = app.get("/api/health/deep")
    assert status == 503
    assert deep["failing"] == ["primary"]
    assert reason in deep["checks"]["primary"]["error"]
    for text in (json.dumps(deep), app.log.read_text()):
        assert PASSWORD not in text


def test_worker_processes_serve_the_port_together(estate: Estate, tmp_path: Path) -> None:
    with run_app(estate, tmp_path, WORKER_PROCESSES="2") as app:
        # The app answers once its first worker listens; the second may still be starting.
        workers: set[int] = set()
        deadline = time.monotonic() + 15
        while len(workers) < 2 and time.monotonic() < deadline:
            workers.add(app.get("/api/health")[1]["worker"])
        assert len(workers) == 2
        assert app.process.pid not in workers


def _raw_request(port: int, head: bytes, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(head + body)
        return conn.recv(65536)


def test_a_body_over_max_request_size_is_refused_before_it_is_read(estate: Estate, tmp_path: Path) -> None:
    with run_app(estate, tmp_path, MAX_REQUEST_SIZE="1kb") as app:
        port = int(app.url.rsplit(":", 1)[1])
        # Announced as 10 MB and never sent: the answer comes from the header alone.
        head = b"POST /api/health HTTP/1.1\r\nHost: app\r\nContent-Length: 10485760\r\n\r\n"
        assert _raw_request(port, head).startswith(b"HTTP/1.1 413 ")
        # Streamed without a length: refused once it goes over.
        chunked = b"POST /api/health HTTP/1.1\r\nHost: app\r\nTransfer-Encoding: chunked\r\n\r\n"
        assert _raw_request(port, chunked, b"800\r\n" + b"x" * 2048 + b"\r\n").startswith(b"HTTP/1.1 413 ")
        # Under the limit the body is read, and the route answers.
        small = b"POST /api/health HTTP/1.1\r\nHost: app\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"
        assert _raw_request(port, small, b"x" * 1000).startswith(b"HTTP/1.1 405 ")


def test_a_request_over_request_timeout_is_answered_and_its_work_abandoned(
    estate: Estate, tmp_path: Path, silent: SilentServer
) -> None:
    # REQUEST_TIMEOUT is in milliseconds, as the seed sets it; S3 never answers.
    with run_app(estate, tmp_path, REQUEST_TIMEOUT="300", AWS_ENDPOINT_URL=f"http://127.0.0.1:{silent.port}") as app:
        started = time.monotonic()
        status, answer = app.get("/api/health/deep")
        elapsed = time.monotonic() - started
        assert status == 503
        assert answer["error"] == "request timed out after 300 ms"
        assert elapsed < 1.5  # the request's timeout, well before the check's own
        assert silent.accepted.is_set()
        # The check's connection is dropped with the request, not left to wait for an answer (nor
        # for the check's own deadline, 2 s after it began).
        assert silent.closed_by_peer.wait(1)


def test_a_dependency_that_does_not_answer_fails_its_own_check(
    estate: Estate, tmp_path: Path, silent: SilentServer
) -> None:
    with run_app(estate, tmp_path, AWS_ENDPOINT_URL=f"http://127.0.0.1:{silent.port}") as app:
        started = time.monotonic()
        status, deep = app.get("/api/health/deep")
    assert status == 503
    assert deep["failing"] == ["s3"]
    assert deep["checks"]["s3"]["error"] == "no answer within 2000 ms"
    assert time.monotonic() - started < 5
    assert silent.closed_by_peer.wait(2)


def test_the_fault_file_makes_the_app_fail_as_the_control_api_says(estate: Estate, tmp_path: Path) -> None:
    fault = tmp_path / "fault.json"
    with run_app(estate, tmp_path) as app:
        fault.write_text(json.dumps({"status": 500, "health_check": False}))
        assert app.get("/api/weddings")[0] == 500
        assert app.get("/api/health")[0] == 200  # health checks pass unless told otherwise
        fault.write_text(json.dumps({"status": 503, "health_check": True}))
        status, answer = app.get("/api/health")
        assert (status, answer["status"]) == (503, "error")
        assert app.get("/api/health/deep")[0] == 503
        fault.write_text("not json")
        assert app.get("/api/health")[0] == 200  # ignored, and said so in the log
        fault.unlink()
        assert app.get("/api/health")[0] == 200
        assert app.get("/api/weddings")[0] == 404
    assert f"fault file {fault} ignored" in app.log.read_text()


class FakeInstanceMetadata(BaseHTTPRequestHandler):
    """IMDSv2 as EC2 serves it: a session token first, then the role's keys and the region."""

    TOKEN = "imds-session-token"
    ROLE = "wedsync-app-us-east-1"

    def do_PUT(self) -> None:
        self._answer(self.TOKEN if self.path == "/latest/api/token" else None)

    def do_GET(self) -> None:
        if self.headers.get("x-aws-ec2-metadata-token") != self.TOKEN:
            self._answer(None, 401)
            return
        credentials = {
            "Code": "Success",
            "AccessKeyId": "ASIATESTING",
            "SecretAccessKey": "imds-secret-key-0123456789",
            "Token": "imds-session-credential",
            "Expiration": "2999-01-01T00:00:00Z",
        }
        paths = {
            "/latest/meta-data/iam/security-credentials/": self.ROLE,
            f"/latest/meta-data/iam/security-credentials/{self.ROLE}": json.dumps(credentials),
            "/latest/meta-data/placement/region": "us-east-1",
        }
        self._answer(paths.get(self.path))

    def _answer(self, body: str | None, status: int = 200) -> None:
        self.send_response(status if body is not None else 404)
        self.end_headers()
        self.wfile.write((body or "").encode())

    def log_message(self, *_args: Any) -> None:
        pass


def test_without_keys_in_the_environment_s3_takes_the_instance_profile(estate: Estate, tmp_path: Path) -> None:
    imds = ThreadingHTTPServer(("127.0.0.1", 0), FakeInstanceMetadata)
    threading.Thread(target=imds.serve_forever, daemon=True).start()
    try:
        settings: dict[str, str | None] = dict.fromkeys(
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_EC2_METADATA_DISABLED")
        )
        settings["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = f"http://127.0.0.1:{imds.server_port}"
        with run_app(estate, tmp_path, **settings) as app:
            status, deep = app.get("/api/health/deep")
    finally:
        imds.shutdown()
        imds.server_close()
    assert status == 200, deep
    assert deep["checks"]["s3"]["region"] == "us-east-1"


def test_requests_are_signed_as_botocore_signs_them(estate: Estate) -> None:
    """The app's SigV4 against botocore's, for the request the S3 check sends."""
    now = datetime(2026, 3, 14, 15, 9, 26)
    script = """
const { sign } = require('./lib/aws');
const headers = sign({ method: 'HEAD', host: '127.0.0.1:4566', path: '/wedsync-test-uploads', region: 'us-east-1',
  service: 's3', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token' }, now: new Date(Date.UTC(2026, 2, 14, 15, 9, 26)) });
console.log(headers.authorization);
"""
    ours = subprocess.run([str(NODE), "-e", script], cwd=estate.bundle, capture_output=True, text=True, check=True)
    request = AWSRequest(method="HEAD", url="http://127.0.0.1:4566/wedsync-test-uploads")
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=now):
        botocore.auth.S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    assert ours.stdout.strip() == request.headers["Authorization"]


def test_a_probe_is_written_to_the_primary_and_the_cache_read_back_and_deleted(estate: Estate, tmp_path: Path) -> None:
    probe = "/api/e2e/probes/e2e-test-probe-1"
    with run_app(estate, tmp_path) as app:
        assert app.get(probe)[0] == 404, "no table yet: not found"
        status, written = app.request("POST", "/api/e2e/probes", {"id": "e2e-test-probe-1", "value": "v1"})
        assert (status, written["written"]) == (201, ["database", "cache"])
        assert app.request("POST", "/api/e2e/probes", {"id": "e2e-test-probe-1", "value": "v2"})[0] == 201
        status, found = app.get(probe)
        assert (status, found["database"], found["cache"]) == (200, "v2", "v2")
        status, deleted = app.request("DELETE", probe)
        assert (status, deleted["deleted"]) == (200, {"database": 1, "cache": 1})
        assert app.get(probe)[0] == 404
        assert app.request("DELETE", probe)[1]["deleted"] == {"database": 0, "cache": 0}


def test_a_bad_probe_request_is_refused_naming_what_is_wrong(estate: Estate, tmp_path: Path) -> None:
    refused = [
        (("POST", "/api/e2e/probes", {"id": "short", "value": "v"}), 400, "id must be 8 to 64"),
        (("POST", "/api/e2e/probes", {"id": "e2e-test-probe-2", "value": 7}), 400, "value must be a string"),
        (("PUT", "/api/e2e/probes/e2e-test-probe-2", {}), 405, "use GET or DELETE"),
        (("GET", "/api/e2e/probes", None), 405, "use POST"),
    ]
    with run_app(estate, tmp_path) as app:
        for request, status, error in refused:
            answer = app.request(*request)
            assert (answer[0], error in answer[1]["error"]) == (status, True), request


def test_a_probe_write_with_the_cache_refusing_fails_and_shows_no_secret(estate: Estate, tmp_path: Path) -> None:
    with run_app(estate, tmp_path, REDIS_AUTH_TOKEN=WRONG_TOKEN) as app:
        status, answer = app.request("POST", "/api/e2e/probes", {"id": "e2e-test-probe-3", "value": "v"})
        assert status == 500 and "WRONGPASS" in answer["error"]
        for text in (json.dumps(answer), app.log.read_text()):
            assert WRONG_TOKEN not in text and TOKEN not in text
