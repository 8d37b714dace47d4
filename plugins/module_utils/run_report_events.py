# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The events of a runbook run, which its report is built from, and the run's spool.

Tasks mark events with the ``wedsync.platform.report`` action (``run_report_record``): the run
begins, phases start, gates pass or refuse, measurements are taken, resources change, follow-ups
arise, the journal says the run resumed or took over, the run ends. The events ride from task to
task in the host's facts, and in a spool file of the run on the controller for what facts cannot
carry. ``run_report_builder`` turns one run's events into its report.

Pure Python: no Ansible, no AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.run_report_text import (
    parse_timestamp,
    safe_name,
    timestamp,
)

OUTCOMES = ("SUCCEEDED", "FAILED", "REFUSED", "ROLLED_BACK")
# Who started the run, as its begin event records it.
STARTED_BY_KEYS = (
    "user",
    "controller",
    "pid",
    "awx_job_id",
    "awx_job_template_name",
    "awx_schedule_name",
    "awx_user_name",
)


class ReportError(ValueError):
    """A report call that cannot be recorded, with the reason, naming the option at fault."""


def make_event(kind: str, fields: Mapping[str, Any], run_id: str | None, at: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "at": at or timestamp(), "run_id": run_id, **fields}


def current_run(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The events of the latest run: from its begin on; empty when no run has begun."""
    starts = [index for index, event in enumerate(events) if event.get("kind") == "begin"]
    return [dict(event) for event in events[starts[-1] :]] if starts else []


def merge_events(events: Sequence[Mapping[str, Any]], more: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """events with those of more that belong to the same run and are not in it yet, in time order."""
    merged = [dict(event) for event in events]
    run_id = merged[0].get("run_id") if merged else None
    seen = {_identity(event) for event in merged}
    for event in more:
        if run_id and event.get("run_id") == run_id and _identity(event) not in seen:
            merged.append(dict(event))
            seen.add(_identity(event))
    return sorted(merged, key=lambda event: (event.get("kind") != "begin", parse_timestamp(event["at"])))


def _identity(event: Mapping[str, Any]) -> str:
    return json.dumps(event, sort_keys=True, default=str)


def is_stop(event: Mapping[str, Any]) -> bool:
    """A gate that failed and stopped the run."""
    return event.get("kind") == "gate" and not event.get("passed") and bool(event.get("refuse", True))


def decide_outcome(events: Sequence[Mapping[str, Any]], failure: Mapping[str, Any] | None = None) -> str:
    """REFUSED when a gate stopped the run before anything changed, FAILED on a failure or a later stop."""
    stops = [event for event in events if is_stop(event)]
    if stops and not any(event.get("changed_anything") for event in stops):
        return "REFUSED"
    if failure or stops:
        return "FAILED"
    return "SUCCEEDED"


def failure_fields(failure: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What failed, as the end event and the report record it; None when nothing did."""
    if not failure:
        return None
    return {"task": failure.get("task"), "message": str(failure.get("message") or "")}


# The spool: a copy of each run's events on the controller, beside the facts.
#
# A host's facts carry its run's events from task to task, but not everything reaches them: the
# items of a loop each see the facts from before the loop (only the last item's are kept), and a
# failed task's facts are dropped. Every report call also appends its event to a file of its run on
# the controller, where the calls of one host run one after another, and the next calls read it.


def spool_directory() -> str:
    return os.path.join(tempfile.gettempdir(), f"wedsync-run-report-{os.getuid()}")


def spool_path(run_id: str, directory: str | None = None) -> str:
    return os.path.join(directory or spool_directory(), f"{safe_name(run_id)}.jsonl")


def _own_directory(directory: str) -> bool:
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return os.stat(directory).st_uid == os.getuid()


def spool_append(event: Mapping[str, Any], directory: str | None = None) -> None:
    """Best effort: without the spool, the facts still carry the events."""
    directory = directory or spool_directory()
    with contextlib.suppress(OSError):
        if event.get("run_id") and _own_directory(directory):
            with open(spool_path(event["run_id"], directory), "a", encoding="utf-8") as handle:
                handle.write(json.dumps(event, default=str) + "\n")


def spool_read(run_id: str, directory: str | None = None) -> list[dict[str, Any]]:
    try:
        with open(spool_path(run_id, directory), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line a killed process left half-written
        if isinstance(event, dict) and event.get("run_id") == run_id:
            events.append(event)
    return events


def spool_remove(run_id: str, directory: str | None = None) -> None:
    with contextlib.suppress(OSError):
        os.remove(spool_path(run_id, directory))
