"""scripts/module-python runs a program as the virtualenv's Python would, through the module server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
MODULE_PYTHON = ROOT / "scripts" / "module-python"

PROGRAM = """\
import json, os, sys
print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "marker": os.environ.get("MARKER"),
                  "umask": oct(os.umask(0)), "stdin": sys.stdin.read(), "pid": os.getpid(),
                  "boto3": "boto3" in sys.modules}))
print("to stderr", file=sys.stderr)
sys.exit(int(os.environ.get("EXIT", "0")))
"""


@pytest.fixture
def socket_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # A short directory: a Unix socket's path is limited to about 100 characters.
    path = f"/tmp/wedsync-module-python-test-{os.getpid()}-{time.monotonic_ns()}"
    yield path
    subprocess.run([MODULE_PYTHON, "--stop"], env={**os.environ, "WEDSYNC_MODULE_PYTHON_SOCKET": path}, check=False)


def run(program: Path, socket_path: str, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MODULE_PYTHON, str(program), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        cwd=program.parent,
        env={**os.environ, "WEDSYNC_MODULE_PYTHON_SOCKET": socket_path, **env},
    )


def test_a_program_runs_as_under_python_with_its_arguments_streams_environment_and_status(
    tmp_path: Path, socket_path: str
) -> None:
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    first = run(program, socket_path, "one", "two", stdin="the input", MARKER="first", EXIT="3")
    assert first.returncode == 3, first.stderr
    assert first.stderr == "to stderr\n"
    seen = json.loads(first.stdout)
    assert seen["argv"] == [str(program), "one", "two"]
    assert seen["cwd"] == str(tmp_path)
    umask = os.umask(0)
    os.umask(umask)
    assert (seen["marker"], seen["stdin"], seen["umask"]) == ("first", "the input", oct(umask))
    assert seen["boto3"], "run in the server, which has imported boto3"

    second = json.loads(run(program, socket_path, MARKER="second").stdout)
    assert second["marker"] == "second", "each run has its own environment"
    assert second["pid"] != seen["pid"], "each run is a process of its own"
    assert Path(f"{socket_path}.pid").exists()


def test_a_program_on_standard_input_runs_as_python_alone_runs_it(tmp_path: Path, socket_path: str) -> None:
    """Ansible's pipelining: no FILE, the program on standard input."""
    done = subprocess.run(
        [MODULE_PYTHON],
        input="import sys\nprint(__name__, repr(sys.argv), sys.path[0] == '')\nsys.exit(4)\n",
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "WEDSYNC_MODULE_PYTHON_SOCKET": socket_path},
    )
    assert (done.returncode, done.stdout, done.stderr) == (4, "__main__ [''] True\n", "")


def test_a_large_environment_arrives_whole(tmp_path: Path, socket_path: str) -> None:
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    # Each variable below the kernel's limit for one (128 KiB), the whole far above a socket's buffer.
    marker = "x" * 100_000
    padding = {f"PADDING_{n}": "y" * 100_000 for n in range(8)}
    done = run(program, socket_path, MARKER=marker, **padding)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["marker"] == marker


def test_an_exception_fails_the_run_with_its_traceback(tmp_path: Path, socket_path: str) -> None:
    program = tmp_path / "raises.py"
    program.write_text("raise RuntimeError('broken module')\n")
    done = run(program, socket_path)
    assert done.returncode == 1
    assert "RuntimeError: broken module" in done.stderr


def test_stop_leaves_no_server(tmp_path: Path, socket_path: str) -> None:
    program = tmp_path / "program.py"
    program.write_text(PROGRAM)
    run(program, socket_path)
    pid = int(Path(f"{socket_path}.pid").read_text())
    subprocess.run(
        [MODULE_PYTHON, "--stop"], env={**os.environ, "WEDSYNC_MODULE_PYTHON_SOCKET": socket_path}, check=True
    )
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert not Path(socket_path).exists()


@pytest.mark.parametrize("pipelining", ["False", "True"])
def test_an_ansible_module_runs_through_it(socket_path: str, pipelining: str) -> None:
    done = subprocess.run(
        [
            Path(sys.executable).parent / "ansible",
            "localhost",
            *("-i", "localhost,", "-c", "local", "-m", "ansible.builtin.ping", "-o"),
            *("-e", f"ansible_python_interpreter={MODULE_PYTHON}"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={
            **os.environ,
            "WEDSYNC_MODULE_PYTHON_SOCKET": socket_path,
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_PIPELINING": pipelining,
        },
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"ping": "pong"' in done.stdout
