# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# ruff: noqa: E402 - ansible-test wants DOCUMENTATION before the imports

from __future__ import annotations

DOCUMENTATION = r"""
name: run_report
type: aggregate
short_description: Leave the run report of every runbook run
version_added: 0.1.0
author:
  - WedSync SRE (@wedsync)
description:
  - "Writes the report of every runbook run, however it ended, into its own directory
    C(<report_dir>/<runbook>-<action>-<run_id>): C(report.json) (the schema is
    C(meta/run_report.schema.json) in the collection), C(report.md) for people and C(timeline.svg),
    which C(report.md) shows."
  - A run is what the tasks of one host mark with M(wedsync.platform.report), from C(begin) to C(end).
    The report of a run that ends is written as soon as its C(end) task returns.
  - A run that stops before its C(end) task (a gate that refused, a task that failed with nothing to
    rescue it, an unreachable host) is reported at the end of the playbook from the events this plugin
    saw, with the first failure of a task on that host. Its outcome is C(REFUSED) when a gate refused
    before anything changed, otherwise C(FAILED) with the follow-up to run the runbook again.
  - At the end of the playbook, after the recap, it prints one line per report written, with its
    outcome and the path of its C(report.md).
  - Works beside any stdout callback, AWX's included. Writing a report never fails the run; a
    report that cannot be written is a warning naming its directory.
  - An interrupted C(ansible-playbook) (Ctrl-C, a killed process) runs no callback at its end, so
    leaves no report for a run without C(end); the runbook's journal says how far it got.
requirements:
  - Enabled in C(callbacks_enabled) (or C(ANSIBLE_CALLBACKS_ENABLED)) as C(wedsync.platform.run_report).
seealso:
  - module: wedsync.platform.report
options:
  report_dir:
    description:
      - The directory under which each run's report directory is made.
      - A relative path is taken from the working directory of C(ansible-playbook).
    type: str
    default: reports
    env:
      - name: WEDSYNC_REPORT_DIR
    ini:
      - section: wedsync_run_report
        key: report_dir
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible import constants as C
from ansible.plugins.callback import CallbackBase
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_builder import build_report
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_events import (
    decide_outcome,
    make_event,
    merge_events,
    spool_remove,
)
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_files import (
    FILES,
    report_directory,
    write_report,
)
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_text import timestamp

ENDED_EARLY = "the run ended before its report step; run it again to resume"
OUTCOME_COLORS = {
    "SUCCEEDED": C.COLOR_OK,
    "FAILED": C.COLOR_ERROR,
    "REFUSED": C.COLOR_WARN,
    "ROLLED_BACK": C.COLOR_WARN,
}


@dataclass
class _Run:
    host: str
    events: list[dict[str, Any]] = field(default_factory=list)
    failure: dict[str, Any] | None = None
    failed_at: str | None = None
    ended: bool = False


def _data(result: Any) -> Mapping[str, Any]:
    """The task's result: ``result`` from ansible-core 2.19, ``_result`` before."""
    data = getattr(result, "result", None)
    return data if isinstance(data, Mapping) else result._result


def _failure_message(data: Mapping[str, Any]) -> str:
    """What failed: the result's message, or for a loop the first failed item's."""
    items = [item for item in data.get("results") or [] if isinstance(item, Mapping) and item.get("failed")]
    for source in [*items, data]:
        message = source.get("msg") or source.get("stderr") or source.get("reason")
        if message:
            return str(message)
    return "failed without a message"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "wedsync.platform.run_report"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display: Any = None) -> None:
        super().__init__(display)
        self._runs: dict[str, _Run] = {}
        self._host_runs: dict[str, str] = {}
        self._written: list[tuple[str, str]] = []

    # Results

    def v2_runner_on_ok(self, result: Any) -> None:
        self._collect(result)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        self._collect(result, failed=not ignore_errors)

    def v2_runner_item_on_ok(self, result: Any) -> None:
        self._collect(result)

    def v2_runner_item_on_failed(self, result: Any) -> None:
        # The task's own failure follows, with whether it is ignored.
        self._collect(result)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        self._collect(result, failed=True, unreachable=True)

    def v2_playbook_on_stats(self, stats: Any) -> None:
        for run_id, run in self._runs.items():
            if not run.ended:
                self._write_unfinished(run_id, run)
        for outcome, directory in self._written:
            line = f"Run report ({outcome}): {os.path.join(directory, FILES['markdown'])}"
            self._display.display(line, color=OUTCOME_COLORS.get(outcome))
        self._written.clear()

    # Runs

    def _collect(self, result: Any, failed: bool = False, unreachable: bool = False) -> None:
        try:
            host = result._host.get_name()
            data = _data(result)
            event = data.get("wedsync_report_event")
            if isinstance(event, Mapping) and event.get("run_id"):
                self._add(host, dict(event), data)
            if failed:
                self._fail(host, result, data, unreachable)
        except Exception as error:  # a report must never break the run
            self._display.warning(f"wedsync.platform.run_report: could not record a result: {error}")

    def _add(self, host: str, event: dict[str, Any], data: Mapping[str, Any]) -> None:
        run_id = event["run_id"]
        if event["kind"] == "begin":
            self._runs[run_id] = _Run(host=host)
            self._host_runs[host] = run_id
        run = self._runs.get(run_id)
        if run is None or run.ended:
            return
        run.events = merge_events(run.events, [event]) if run.events else [event]
        if event["kind"] == "end" and isinstance(data.get("report"), Mapping):
            run.ended = True
            self._write(self._complete(run, event, data), run)

    def _complete(self, run: _Run, end: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        """The report the end task built, rebuilt when this plugin saw events its facts lost.

        Facts of a failed task are not kept: a gate that refused with ignore_errors is only here.
        """
        facts = (data.get("ansible_facts") or {}).get("wedsync_report_events") or []
        if len(merge_events(facts, run.events)) == len(facts):
            return dict(data["report"])
        return build_report(
            run.events,
            ended_at=end["at"],
            outcome=end.get("outcome"),
            summary=end.get("summary") or "",
            failure=end.get("failure"),
        )

    def _fail(self, host: str, result: Any, data: Mapping[str, Any], unreachable: bool) -> None:
        run = self._runs.get(self._host_runs.get(host, ""))
        if run is None or run.ended or run.failure is not None:
            return
        message = _failure_message(data)
        run.failed_at = timestamp()
        run.failure = {
            "task": result._task.get_name(),
            "message": f"{host} unreachable: {message}" if unreachable else message,
        }

    def _write_unfinished(self, run_id: str, run: _Run) -> None:
        """The report of a run that never reached its end task, from the events seen."""
        try:
            events = list(run.events)
            ended = run.failed_at or events[-1]["at"]
            outcome = decide_outcome(events, run.failure or {"message": "the run did not end"})
            if outcome != "REFUSED":
                outcome = "FAILED"
                events.append(make_event("follow_up", {"text": ENDED_EARLY}, run_id, ended))
            report = build_report(events, ended_at=ended, outcome=outcome, failure=run.failure)
        except Exception as error:  # a report must never break the run
            self._display.warning(f"wedsync.platform.run_report: could not build the report of run {run_id}: {error}")
            return
        run.ended = True
        spool_remove(run_id)
        self._write(report, run)

    def _write(self, report: Mapping[str, Any], run: _Run) -> None:
        directory = "(unknown)"
        try:
            base = os.path.abspath(os.path.expanduser(str(self.get_option("report_dir") or "reports")))
            directory = report_directory(base, report)
            write_report(report, directory)
        except Exception as error:  # a report must never break the run
            self._display.warning(f"Could not write the run report of {run.host} into {directory}: {error}")
            return
        self._written.append((report["outcome"], directory))
