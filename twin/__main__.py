"""`python -m twin up|down|status|serve|demo|hosts|release|patches`: run the local twin of production."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from twin.client import TwinClient

REPO = Path(__file__).resolve().parents[1]
STATE = Path(os.environ.get("WEDSYNC_TWIN_STATE", REPO / ".twin"))
SERVER_FILE = STATE / "server.json"
ENV_FILE = STATE / "env"
CONTAINERS_CONF = Path(__file__).resolve().with_name("containers.conf")
ADMIN_USER = "rdsadmin"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start the twin (idempotent) and write .twin/env")
    commands.add_parser("down", help="stop everything the twin started")
    commands.add_parser("status", help="what the twin is running")
    commands.add_parser("demo", help="show the twin serving")
    commands.add_parser("patches", help="every patch point into moto, and those that no longer match it")
    serve = commands.add_parser("serve", help="run the server in the foreground")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--metrics-interval", type=float, default=5.0)
    commands.add_parser("hosts", help="host containers: hosts up NAME..., hosts down, hosts list", add_help=False)
    commands.add_parser("release", help="release VERSION: a bundle to deploy in the bucket", add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "hosts":
        from twin import hosts

        return hosts.cli(rest)
    if args.command == "release":
        from twin import release

        return release.cli(rest)
    if rest:
        parser.error(f"unrecognised arguments: {' '.join(rest)}")
    handler = {
        "up": up,
        "down": down,
        "status": status,
        "demo": demo,
        "patches": patch_points,
        "serve": lambda: serve_forever(args),
    }
    return handler[args.command]()


def running_server() -> dict[str, int] | None:
    """The live server's pid and port, or None when nothing answers."""
    try:
        server = json.loads(SERVER_FILE.read_text())
        os.kill(server["pid"], 0)
        TwinClient(f"http://127.0.0.1:{server['port']}/_twin", timeout=5).health()
        return server
    except (OSError, ValueError, KeyError):
        return None


def up() -> int:
    server = running_server()
    if server is None:
        _remove_leftover_clusters()
        server = _start_server()
    _write_env(server["port"])
    print(f"twin up: AWS endpoint http://127.0.0.1:{server['port']}, control API /_twin (pid {server['pid']})")
    print(f"  source {ENV_FILE.relative_to(REPO) if ENV_FILE.is_relative_to(REPO) else ENV_FILE} to use it")
    return 0


def _start_server() -> dict[str, int]:
    STATE.mkdir(parents=True, exist_ok=True)
    SERVER_FILE.unlink(missing_ok=True)
    log = (STATE / "twin.log").open("ab")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
        "MOTO_ACM_VALIDATION_WAIT": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "twin", "serve"],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
        cwd=REPO,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the twin server exited ({process.returncode}); see {STATE / 'twin.log'}")
        server = running_server()
        if server:
            return server
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the twin server did not answer within 60 s; see {STATE / 'twin.log'}")


def _write_env(port: int) -> None:
    from twin.ca import TwinCA

    endpoint = f"http://127.0.0.1:{port}"
    lines = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "WEDSYNC_TWIN_CONTROL_URL": f"{endpoint}/_twin",
        "WEDSYNC_TWIN_PG_HOST": "127.0.0.1",
        "WEDSYNC_TWIN_PG_ADMIN_USER": ADMIN_USER,
        # The CA of the twin's TLS endpoints (Redis with in-transit encryption), to verify them with.
        "WEDSYNC_TWIN_CA_BUNDLE": str(TwinCA(STATE / "ca").bundle),
        "CONTAINERS_CONF": str(CONTAINERS_CONF),
    }
    ENV_FILE.write_text(
        "# The local twin. PostgreSQL clusters: see their RDS endpoints, or GET $WEDSYNC_TWIN_CONTROL_URL/postgres\n"
        + "".join(f"export {key}={value}\n" for key, value in lines.items())
    )


def down(quiet: bool = False) -> int:
    server = _read_server_file()
    if server and _alive(server["pid"]):
        os.killpg(server["pid"], signal.SIGTERM)
        if not _wait_gone(server["pid"], 30):
            os.killpg(server["pid"], signal.SIGKILL)
            _wait_gone(server["pid"], 10)
    _remove_leftover_clusters()
    removed = _remove_hosts()
    for path in (SERVER_FILE, ENV_FILE):
        path.unlink(missing_ok=True)
    if not quiet:
        print("twin down" + (f"; removed hosts: {', '.join(removed)}" if removed else ""))
    return 0


def _read_server_file() -> dict[str, int] | None:
    try:
        return json.loads(SERVER_FILE.read_text())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _remove_leftover_clusters() -> None:
    """Stop clusters and Redis servers a killed server could not stop itself."""
    pg_root = STATE / "pg"
    if any(pg_root.glob("*/*/postmaster.pid")):
        from twin.postgres import PostgresPlane

        PostgresPlane(pg_root).delete_all()
    redis_root = STATE / "redis"
    if any(redis_root.rglob("redis.pid")):
        from twin.ca import TwinCA
        from twin.redis import RedisPlane

        RedisPlane(redis_root, TwinCA(STATE / "ca")).delete_all()


def _remove_hosts() -> list[str]:
    from twin import hosts

    try:
        return hosts.remove_all()
    except FileNotFoundError:  # no podman on this machine: no hosts to remove
        return []


def status() -> int:
    server = running_server()
    if server is None:
        print(json.dumps({"running": False}))
        return 3
    client = TwinClient(f"http://127.0.0.1:{server['port']}/_twin")
    print(
        json.dumps(
            {
                "running": True,
                **server,
                **client.health(),
                "postgres": client.postgres(),
                "redis": client.redis(),
                "faults": client.faults(),
            },
            indent=2,
        )
    )
    return 0


def serve_forever(args: argparse.Namespace) -> int:
    from twin.server import Twin

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    twin = Twin(
        STATE,
        metrics_interval=args.metrics_interval,
        instance_hosts=os.environ.get("WEDSYNC_TWIN_INSTANCE_HOSTS", "1") == "1",
    )

    def ready(port: int) -> None:
        tmp = SERVER_FILE.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "port": port}))
        tmp.rename(SERVER_FILE)

    twin.serve("127.0.0.1", args.port, ready)
    return 0


def patch_points() -> int:
    """List every patch point; exit 1, naming them, when some no longer match the moto installed."""
    from importlib.metadata import version

    from twin import patching

    points = patching.load()
    print("\n".join(point.describe() for point in points))
    problems = patching.check(points)
    print(f"\nmoto {version('moto')}: {len(points)} patch points, {len(problems)} no longer match")
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


def demo() -> int:
    from twin import demo as demo_module

    return demo_module.run(STATE)


if __name__ == "__main__":
    sys.exit(main())
