"""Run a small playbook through ansible-playbook, as a user would, and read what each task returned.

For what only a real run shows: plugins found by their full names, Ansible's templating, argument specs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_playbook(
    playbook: Path, *args: str, timeout: int = 120, env: dict[str, str | None] | None = None
) -> dict[str, Any]:
    """The JSON callback's account of the run (``plays``, ``stats``), whether it failed or not; ``env``
    adds to (or, with a value of None, removes from) the environment."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), *args],
        cwd=ROOT,
        env=_environment(env or {}),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"ansible-playbook gave no JSON (rc {result.returncode}): {result.stderr[-2000:]}"
        ) from None


def _environment(changes: dict[str, str | None]) -> dict[str, str]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"}
    env.update({name: value for name, value in changes.items() if value is not None})
    return {name: value for name, value in env.items() if changes.get(name, "") is not None}


def task_results(run: dict[str, Any], host: str) -> list[tuple[str, dict[str, Any]]]:
    """Each task's name and its result on ``host``, in order, for the tasks that ran there."""
    return [
        (task["task"]["name"], task["hosts"][host])
        for play in run["plays"]
        for task in play["tasks"]
        if host in task["hosts"]
    ]


def failures(run: dict[str, Any], host: str) -> list[str]:
    """The messages of the tasks that failed on ``host``, a looped task's one per failed item."""
    found = []
    for _, result in task_results(run, host):
        if not result.get("failed"):
            continue
        items = [item for item in result.get("results", []) if item.get("failed")]
        found.extend(str(item.get("msg")) for item in items or [result])
    return found
