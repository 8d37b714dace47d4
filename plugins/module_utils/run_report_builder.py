# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report: what a runbook run did, built from the events its tasks marked.

``build_report`` turns one run's events (``run_report_events``) into the report that
``report.json`` holds (its schema is ``meta/run_report.schema.json``); ``summarize`` gives it in
brief for AWX. ``run_report_files`` writes it with the page (``run_report_markdown``) and the
timeline (``run_report_svg``) a person reads.

Pure Python: no Ansible, no AWS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.run_report_events import (
    OUTCOMES,
    STARTED_BY_KEYS,
    ReportError,
    current_run,
    decide_outcome,
    failure_fields,
    is_stop,
)
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_text import (
    human_duration,
    parse_timestamp,
    seconds_between,
)
from ansible_collections.wedsync.platform.plugins.module_utils.severity import severity_rank

SCHEMA_VERSION = "1.1"
JOURNAL_KEYS = ("bucket", "key", "resumed_from", "completed_steps", "took_over")


def build_report(
    events: Sequence[Mapping[str, Any]],
    ended_at: str | None = None,
    outcome: str | None = None,
    summary: str = "",
    failure: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report of the latest run in events (from its begin), as report.json holds it.

    What is not given is taken from the run's end event, when it has one; a run without an end lasts
    until its last event.
    """
    run = current_run(events)
    if not run:
        raise ReportError("a report needs the run's begin event")
    begin = run[0]
    end = next((event for event in reversed(run) if event["kind"] == "end"), None)
    if end is not None:
        run = run[: run.index(end) + 1]
        outcome, summary, failure = (
            outcome or end.get("outcome"),
            summary or end.get("summary") or "",
            failure or end.get("failure"),
        )
    ended = ended_at or run[-1]["at"]
    failure = failure_fields(failure)
    outcome = outcome or decide_outcome(run, failure)
    if outcome not in OUTCOMES:
        raise ReportError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome}")
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "run_id": begin["run_id"],
        "runbook": begin["runbook"],
        "action": begin["action"],
        "collection_version": begin.get("collection_version"),
        "environment": begin.get("environment"),
        "region": begin.get("region"),
        "target": begin.get("target"),
        "play": begin.get("play"),
        "check_mode": bool(begin.get("check_mode")),
        "started_by": {key: (begin.get("started_by") or {}).get(key) for key in STARTED_BY_KEYS},
        "inputs": dict(begin.get("inputs") or {}),
        "started": begin["at"],
        "ended": ended,
        "duration_seconds": max(seconds_between(begin["at"], ended), 0.0),
        "outcome": outcome,
        "summary": summary,
        "phases": _phases(run, ended, outcome),
        "gates": [_gate(event) for event in run if event["kind"] == "gate"],
        "measurements": [_measurement(event) for event in run if event["kind"] == "measurement"],
        "findings": _findings(run),
        "resources": [_resource(event) for event in run if event["kind"] == "resource"],
        "journal": _journal(run),
        "resumed": False,
        "failure": failure,
        "follow_ups": [event["text"] for event in run if event["kind"] == "follow_up"],
    }
    report["resumed"] = bool(report["journal"] and report["journal"]["resumed_from"])
    report["summary"] = summary or default_summary(report)
    return report


def _phases(run: Sequence[Mapping[str, Any]], ended: str, outcome: str) -> list[dict[str, Any]]:
    """Each phase lasts until the next starts, the last until the run ended.

    A phase fails when a gate stopped the run in it. The last phase fails too when the run failed or
    was refused, and when it was rolled back unless a gate already failed an earlier phase: then the
    last one is the rollback, which did what it had to.
    """
    marks = [event for event in run if event["kind"] == "phase"]
    stops = [parse_timestamp(event["at"]) for event in run if is_stop(event)]
    phases = []
    for index, mark in enumerate(marks):
        last = index == len(marks) - 1
        until = ended if last else marks[index + 1]["at"]
        start, end = parse_timestamp(mark["at"]), parse_timestamp(until)
        stopped = any(start <= at < end or (last and at == end) for at in stops)
        phases.append(
            {
                "name": mark["name"],
                "detail": mark.get("detail"),
                "started": mark["at"],
                "ended": until,
                "duration_seconds": max(seconds_between(mark["at"], until), 0.0),
                "status": "failed" if stopped else "succeeded",
            }
        )
    already_failed = any(phase["status"] == "failed" for phase in phases)
    if phases and (outcome in ("FAILED", "REFUSED") or (outcome == "ROLLED_BACK" and not already_failed)):
        phases[-1]["status"] = "failed"
    return phases


def _gate(event: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": event["name"],
        "passed": bool(event["passed"]),
        "reason": event.get("reason") or "",
        "override": event.get("override"),
        "stopped": is_stop(event),
        "at": event["at"],
    }


def objective_met(value: float | None, objective: float | None, kind: str = "max") -> bool | None:
    """Whether value meets its objective (max: at most, min: at least); None without both."""
    if value is None or objective is None:
        return None
    return value <= objective if kind == "max" else value >= objective


def _measurement(event: Mapping[str, Any]) -> dict[str, Any]:
    kind = event.get("objective_kind") or "max"
    return {
        "name": event["name"],
        "value": event.get("value"),
        "unit": event.get("unit") or "s",
        "objective": event.get("objective"),
        "objective_kind": kind,
        "met": objective_met(event.get("value"), event.get("objective"), kind),
        "detail": event.get("detail"),
        "at": event["at"],
    }


def _findings(run: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The findings of the run, the worst first, in the order found within a severity."""
    found = [
        {key: event.get(key) for key in ("name", "check", "severity", "response_time", "detail", "at")}
        for event in run
        if event["kind"] == "finding"
    ]
    return sorted(found, key=lambda finding: severity_rank(finding["severity"]))


def _resource(event: Mapping[str, Any]) -> dict[str, Any]:
    fields = ("id", "type", "change", "before", "after", "at")
    return {key: event.get(key) for key in fields}


def _journal(run: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The journal facts of the run, later calls adding to earlier ones; None when none was given."""
    journal: dict[str, Any] | None = None
    for event in run:
        if event["kind"] != "journal":
            continue
        journal = journal or {**dict.fromkeys(JOURNAL_KEYS), "completed_steps": []}
        journal.update({key: event[key] for key in journal if event.get(key) not in (None, [])})
    return journal


def _why(report: Mapping[str, Any]) -> str:
    """The reason the run did not succeed: the gate that refused it, or what failed (then the gate)."""
    stop = next((gate["reason"] for gate in report["gates"] if gate["stopped"]), "")
    failed = (report["failure"] or {}).get("message") or ""
    reason = (stop or failed) if report["outcome"] == "REFUSED" else (failed or stop)
    return reason.strip().rstrip(".")


def default_summary(report: Mapping[str, Any]) -> str:
    """One line saying how the run went, for a run whose end gave no summary."""
    what = f"{report['runbook']} {report['action']}"
    took = human_duration(report["duration_seconds"])
    why = _why(report)
    because = f": {why}" if why else ""
    failed = next((phase["name"] for phase in reversed(report["phases"]) if phase["status"] == "failed"), None)
    texts = {
        "SUCCEEDED": f"{what} succeeded in {took}.",
        "REFUSED": f"{what} refused, nothing changed{because}.",
        "ROLLED_BACK": f"{what} rolled back after {took}{because}.",
        "FAILED": f"{what} failed after {took}" + (f" in {failed}" if failed else "") + f"{because}.",
    }
    text = texts[report["outcome"]]
    return f"Dry run (check mode): {text}" if report["check_mode"] else text


def summarize(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report in brief, for AWX's job artifacts."""
    return {
        "run_id": report["run_id"],
        "runbook": report["runbook"],
        "action": report["action"],
        "outcome": report["outcome"],
        "summary": report["summary"],
        "environment": report["environment"],
        "region": report["region"],
        "started": report["started"],
        "duration_seconds": report["duration_seconds"],
        "phases": [
            {"name": p["name"], "duration_seconds": p["duration_seconds"], "status": p["status"]}
            for p in report["phases"]
        ],
        "gates": [
            {"name": g["name"], "passed": g["passed"], "reason": g["reason"], "override": g["override"]}
            for g in report["gates"]
        ],
        "measurements": [
            {key: m[key] for key in ("name", "value", "unit", "objective", "objective_kind", "met")}
            for m in report["measurements"]
        ],
        "follow_ups": list(report["follow_ups"]),
    }
