"""The module server: runs each Ansible module in a fork of a process that has already imported what
every module imports, instead of in a new interpreter.

A module run on the controller (connection local, as every AWS task is) starts a Python interpreter
that spends most of its CPU before the module's first line: importing ansible.module_utils, boto3
and botocore. The suite runs modules tens of thousands of times on two cores, so its inventory's
interpreter (WEDSYNC_MODULE_PYTHON, scripts/module-python) hands each run to this server, which
imported them once and forks a child per run. The child takes the client's standard streams (passed
over the socket), its arguments, environment, working directory and umask, runs the AnsiballZ file
as __main__ exactly as the interpreter would, and returns its exit status.

What differs from a new interpreter: ansible.module_utils and boto3/botocore come from the
virtualenv, already imported (the payload carries the same ansible-core's copies; the collections'
module_utils, ours included, are still imported from the payload). Only the development virtualenv
uses it; production's controllers and execution environments start an interpreter per module.

    python server.py SOCKET       serve on SOCKET until idle for IDLE_SECONDS, or until the
                                  virtualenv changes
"""

from __future__ import annotations

import array
import contextlib
import json
import os
import runpy
import signal
import socket
import sys
import traceback
import types

# What every AWS module imports, imported once here and inherited by every child.
import boto3  # noqa: F401
import botocore.client
import botocore.config
import botocore.exceptions
import botocore.session  # noqa: F401
from ansible.module_utils import basic  # noqa: F401
from ansible.module_utils._internal._ansiballz import _loader  # noqa: F401

IDLE_SECONDS = 300
MAX_REQUEST = 1 << 22
STREAMS = 3


def receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """The request, up to the client's end of writing, and the client's standard streams."""
    fds = array.array("i")
    message, ancillary, _, _ = conn.recvmsg(MAX_REQUEST, socket.CMSG_LEN(STREAMS * fds.itemsize))
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    while rest := conn.recv(MAX_REQUEST):
        message += rest
    return json.loads(message), list(fds)


def run(request: dict) -> int:
    """The AnsiballZ file as `python FILE ARGS...` would run it, or the program on standard input as
    `python` alone would (Ansible's pipelining); its exit status."""
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = request["argv"] or [""]
    # As python would have it: the program's directory first (the working directory for standard
    # input), not this server's.
    sys.path[0] = os.path.dirname(os.path.abspath(sys.argv[0])) if sys.argv[0] else ""
    try:
        if sys.argv[0]:
            runpy.run_path(sys.argv[0], run_name="__main__")
        else:
            run_standard_input()
    except SystemExit as done:
        if done.code is None or isinstance(done.code, int):
            return done.code or 0
        print(done.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def run_standard_input() -> None:
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    exec(compile(sys.stdin.buffer.read(), "<stdin>", "exec"), main.__dict__)  # as `python` does with no FILE


def child(conn: socket.socket) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    status = 1
    try:
        request, fds = receive(conn)
        for stream, fd in enumerate(fds):
            os.dup2(fd, stream)
            os.close(fd)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 -- the process's own streams, for its life
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
        conn.sendall(os.getpid().to_bytes(4, "big"))
        status = run(request)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    finally:
        # A module that daemonizes (async_wrapper) reaches here in its detached process too, after
        # the client has gone: nothing to tell it then.
        with contextlib.suppress(OSError):
            conn.sendall(status.to_bytes(4, "big", signed=True))
        os._exit(status)


def installed_stamp() -> float:
    """When the virtualenv was last installed: a server that imported older packages must go."""
    stamp = os.path.join(os.path.dirname(sys.executable), ".installed")
    return os.stat(stamp).st_mtime if os.path.exists(stamp) else 0.0


def serve(path: str) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    started_with = installed_stamp()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bound = f"{path}.{os.getpid()}"
    listener.bind(bound)
    listener.listen(128)
    os.replace(bound, path)
    own = os.stat(path).st_ino
    with open(f"{path}.pid", "w") as pid_file:
        pid_file.write(f"{os.getpid()}\n")
    listener.settimeout(IDLE_SECONDS)
    while True:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            break
        if installed_stamp() != started_with or not serving(path, own):
            conn.close()  # the client runs the module in an interpreter of its own
            break
        if os.fork() == 0:
            listener.close()
            child(conn)
        conn.close()
    if serving(path, own):
        for leftover in (path, f"{path}.pid"):
            os.unlink(leftover)


def serving(path: str, inode: int) -> bool:
    """Whether path is still this server's socket: a server started after it replaces it."""
    try:
        return os.stat(path).st_ino == inode
    except OSError:
        return False


if __name__ == "__main__":
    serve(sys.argv[1])
