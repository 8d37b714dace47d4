"""The interpreter the suite's inventory gives Ansible (scripts/module-python): `python FILE ARGS...`,
run by the module server (server.py says why), started here when none is running.

Whatever goes wrong with the server, the module still runs: in an interpreter of its own, as
without this. Standard library only, and started with -I -S: it runs once per module.

    scripts/module-python FILE ARGS...   run FILE as the virtualenv's Python would
    scripts/module-python                run the program on standard input (Ansible's pipelining)
    scripts/module-python --stop         stop the server, if one runs
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(HERE))
PYTHON = os.path.join(CHECKOUT, ".venv", "bin", "python")
# Short enough for a Unix socket's path, one per checkout (the tests give their own).
SOCKET = os.environ.get("WEDSYNC_MODULE_PYTHON_SOCKET") or os.path.join(
    tempfile.gettempdir(), f"wedsync-module-python-{os.getuid()}-{hashlib.sha256(CHECKOUT.encode()).hexdigest()[:12]}"
)
START_SECONDS = 10.0


def connect() -> socket.socket:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(SOCKET)
    except OSError:
        client.close()
        raise
    return client


def start_server() -> socket.socket:
    subprocess.Popen(
        [PYTHON, os.path.join(HERE, "server.py"), SOCKET],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    deadline = time.monotonic() + START_SECONDS
    while True:
        time.sleep(0.05)
        try:
            return connect()
        except OSError:
            if time.monotonic() > deadline:
                raise


def read_int(conn: socket.socket, signed: bool = False) -> int | None:
    data = b""
    while len(data) < 4:
        chunk = conn.recv(4 - len(data))
        if not chunk:
            return None
        data += chunk
    return int.from_bytes(data, "big", signed=signed)


def interpreter_of_our_own() -> None:
    os.execv(PYTHON, [PYTHON, *sys.argv[1:]])


def run() -> int:
    try:
        try:
            conn = connect()
        except OSError:
            conn = start_server()
    except OSError:
        interpreter_of_our_own()
    umask = os.umask(0)
    os.umask(umask)
    request = {"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd(), "umask": umask}
    with conn:
        conn.sendmsg(
            [json.dumps(request).encode()],
            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [0, 1, 2]))],
        )
        conn.shutdown(socket.SHUT_WR)  # the whole request is sent
        pid = read_int(conn)
        if pid is None:
            interpreter_of_our_own()  # the server went away before the module started
        # A signal for this process (a task's timeout, Ctrl-C) is for the module.
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, lambda number, _frame: os.kill(pid, number))
        status = read_int(conn, signed=True)
    return 1 if status is None else status


def stop() -> int:
    with contextlib.suppress(OSError, ValueError), open(f"{SOCKET}.pid") as pid_file:
        pid = int(pid_file.read())
        # Only our server: the pid may have been reused since it was written.
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            if SOCKET.encode() in cmdline.read().split(b"\0"):
                os.kill(pid, signal.SIGTERM)
    for leftover in (SOCKET, f"{SOCKET}.pid"):
        with contextlib.suppress(OSError):
            os.unlink(leftover)
    return 0


if __name__ == "__main__":
    sys.exit(stop() if sys.argv[1:] == ["--stop"] else run())
