# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report: what a runbook run did, built from the events its tasks marked.

Tasks mark events with the ``wedsync.platform.report`` action: the run begins, phases start, gates
pass or refuse, measurements are taken, resources change, follow-ups arise, the journal says the run
resumed or took over, the run ends. The events ride from task to task in the host's facts, and in
a spool file of the run on the controller for what facts cannot carry.
``build_report`` turns one run's events into the report that ``report.json`` holds (its schema is
``meta/run_report.schema.json``); ``render_markdown`` (``run_report_markdown``) and ``render_svg``
(``run_report_svg``) turn that into the page and the timeline a person reads; ``write_report``
leaves the three files in one directory.

Pure Python: no Ansible, no AWS.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import tempfile
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = "1.0"
OUTCOMES = ("SUCCEEDED", "FAILED", "REFUSED", "ROLLED_BACK")
EVENT_KINDS = ("begin", "phase", "gate", "measurement", "resource", "follow_up", "journal", "end")
RESOURCE_CHANGES = ("created", "modified", "deleted", "replaced")
OBJECTIVE_KINDS = ("max", "min")
REDACTED = "********"
SECRET_NAME = re.compile(r"password|secret|token|private_key|api_key|credential", re.IGNORECASE)
FILES = {"json": "report.json", "markdown": "report.md", "svg": "timeline.svg"}

# The options of the report action that make each kind of event, and the options each kind takes.
KIND_OPTIONS: dict[str, tuple[str, ...]] = {
    "begin": ("begin",),
    "phase": ("phase", "detail"),
    "gate": ("gate", "passed", "reason", "override", "refuse", "changed_anything"),
    "measurement": ("measurement", "value", "unit", "objective", "objective_kind", "detail"),
    "resource": ("resource",),
    "follow_up": ("follow_up",),
    "journal": ("journal", "resumed", "took_over"),
    "end": ("end", "outcome", "summary", "failure"),
}
KIND_MARKERS = {kind: kind for kind in KIND_OPTIONS} | {"resumed": "journal", "took_over": "journal"}

JOURNAL_KEYS = ("bucket", "key", "resumed_from", "completed_steps", "took_over")
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


# Time


def timestamp(moment: datetime | None = None) -> str:
    """ISO-8601 in UTC with milliseconds, e.g. 2026-12-07T03:04:05.123Z."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def seconds_between(start: str, end: str) -> float:
    return round((parse_timestamp(end) - parse_timestamp(start)).total_seconds(), 3)


def new_run_id(moment: datetime | None = None) -> str:
    """UTC time of the start to the second, and six hex digits: 20261207T030405Z-a1b2c3."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return f"{moment.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def human_duration(seconds: float | None) -> str:
    """4.2s, 31s, 5m 26s, 18m, 4h, 1h 05m."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + "s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes}m {rest:02d}s" if rest else f"{minutes}m"
    hours, rest = divmod(whole, 3600)
    return f"{hours}h {rest // 60:02d}m" if rest // 60 else f"{hours}h"


def clock(seconds: float) -> str:
    """An offset from the start: +mm:ss, or +h:mm:ss past an hour."""
    hours, rest = divmod(int(max(seconds, 0)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"+{hours}:{minutes:02d}:{secs:02d}" if hours else f"+{minutes:02d}:{secs:02d}"


# Inputs


def is_secret(name: str, secret_names: Collection[str] = ()) -> bool:
    return name in secret_names or bool(SECRET_NAME.search(name))


def redact(value: Any, secret_names: Collection[str] = ()) -> Any:
    """The value with every secret input (named in secret_names, or by its name) replaced, at any depth."""
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED if is_secret(str(key), secret_names) else redact(item, secret_names)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, secret_names) for item in value]
    return value


def as_number(value: Any, option: str = "value") -> float | int | None:
    """A measured value: a number, a numeric string, or None for a measurement that could not be taken."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ReportError(f"{option} must be a number or null, not a boolean")
    if isinstance(value, int | float):
        number: float | int = value
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ReportError(f"{option} must be a number or null, got {value!r}") from None
    if not math.isfinite(number):
        raise ReportError(f"{option} must be a finite number, got {value!r}")
    return number


# Events


def kind_of(given: Iterable[str]) -> str:
    """The one kind of event the options given to a report call make; fails naming the stray option."""
    given = list(given)
    kinds = list(dict.fromkeys(KIND_MARKERS[name] for name in given if name in KIND_MARKERS))
    if not kinds:
        raise ReportError("give one of begin, phase, gate, measurement, resource, follow_up, resumed or took_over, end")
    if len(kinds) > 1:
        raise ReportError(f"one event per call: {' and '.join(kinds)} were both given")
    kind = kinds[0]
    for name in given:
        if name not in KIND_OPTIONS[kind]:
            raise ReportError(f"{name} is not an option of {kind} (its options: {', '.join(KIND_OPTIONS[kind])})")
    return kind


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


def stop_message(action: str | None, event: Mapping[str, Any]) -> str:
    if event.get("changed_anything"):
        return f"Stopping: {event['reason']}"
    return f"Refusing to {action or 'go on'}, nothing changed: {event['reason']}"


def make_event(kind: str, fields: Mapping[str, Any], run_id: str | None, at: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "at": at or timestamp(), "run_id": run_id, **fields}


def begin_fields(begin: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """What a begin event records: the run, who started it from where, and its inputs with secrets hidden."""
    return {
        "runbook": begin["runbook"],
        "action": begin["action"],
        "environment": begin.get("environment"),
        "region": begin.get("region"),
        "target": context.get("target"),
        "play": context.get("play"),
        "check_mode": bool(context.get("check_mode")),
        "collection_version": context.get("collection_version"),
        "started_by": {key: context.get(key) for key in STARTED_BY_KEYS},
        "inputs": redact(begin.get("inputs") or {}, begin.get("secret_inputs") or ()),
    }


def event_fields(kind: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an event of kind (other than begin and end) from the report call's options."""
    if kind == "phase":
        return {"name": args["phase"], "detail": args.get("detail")}
    if kind == "gate":
        return {
            "name": args["gate"],
            "passed": bool(args["passed"]),
            "reason": args["reason"],
            "override": args.get("override"),
            "refuse": bool(args.get("refuse", True)),
            "changed_anything": bool(args.get("changed_anything", False)),
        }
    if kind == "measurement":
        return {
            "name": args["measurement"],
            "value": as_number(args.get("value")),
            "unit": args.get("unit") or "s",
            "objective": as_number(args.get("objective"), "objective"),
            "objective_kind": args.get("objective_kind") or "max",
            "detail": args.get("detail"),
        }
    if kind == "resource":
        resource = args["resource"]
        return {key: resource.get(key) for key in ("id", "type", "change", "before", "after")}
    if kind == "follow_up":
        return {"text": args["follow_up"]}
    if kind == "journal":
        journal, resumed = args.get("journal") or {}, args.get("resumed") or {}
        return {
            "bucket": journal.get("bucket"),
            "key": journal.get("key"),
            "resumed_from": resumed.get("run_id") or journal.get("resumed_from"),
            "completed_steps": list(resumed.get("completed_steps") or journal.get("completed_steps") or []),
            "took_over": args.get("took_over") or journal.get("took_over"),
        }
    raise ReportError(f"no event of kind {kind}")


def run_facts(begin: Mapping[str, Any]) -> dict[str, Any]:
    """The run a begin event starts, as the report action returns it."""
    fields = ("run_id", "runbook", "action", "started_by", "collection_version", "check_mode", "environment", "region")
    return {**{key: begin.get(key) for key in fields}, "started": begin["at"], "target": begin.get("target")}


def record(
    kind: str,
    args: Mapping[str, Any],
    previous: Sequence[Mapping[str, Any]],
    context: Mapping[str, Any],
    at: str | None = None,
) -> dict[str, Any]:
    """What one report call returns: its event, the run's events so far, and for end the whole report.

    previous are the events the host's facts carry (with a failed report call's event merged in by
    the caller); a begin starts over. Without a run begun, an event is returned but not kept.
    """
    at = at or timestamp()
    if kind == "begin":
        event = make_event("begin", begin_fields(args["begin"], context), new_run_id(parse_timestamp(at)), at)
        return {
            "wedsync_report_event": event,
            "ansible_facts": {"wedsync_report_events": [event]},
            "run": run_facts(event),
        }
    run = current_run(previous)
    if kind == "end":
        return _end(args, run, at)
    event = make_event(kind, event_fields(kind, args), run[0]["run_id"] if run else None, at)
    result: dict[str, Any] = {"wedsync_report_event": event}
    if run:
        result["ansible_facts"] = {"wedsync_report_events": [*run, event]}
    if is_stop(event):
        result.update(failed=True, msg=stop_message(run[0]["action"] if run else None, event))
    return result


def _end(args: Mapping[str, Any], run: list[dict[str, Any]], at: str) -> dict[str, Any]:
    if not run:
        raise ReportError("end: no run to end on this host; a report call with begin starts one")
    failure = _failure(args.get("failure"))
    outcome = args.get("outcome") or decide_outcome(run, failure)
    event = make_event(
        "end", {"outcome": outcome, "summary": args.get("summary") or "", "failure": failure}, run[0]["run_id"], at
    )
    events = [*run, event]
    report = build_report(events, ended_at=at, outcome=outcome, summary=event["summary"], failure=failure)
    event["summary"] = report["summary"]
    summary = summarize(report)
    return {
        "wedsync_report_event": event,
        "ansible_facts": {"wedsync_report_events": events},
        "report": report,
        "ansible_stats": {
            "data": {"wedsync_run_report": summary, "wedsync_run_reports": {report["run_id"]: summary}},
            "per_host": False,
            "aggregate": True,
        },
    }


# The spool: a copy of each run's events on the controller, beside the facts.
#
# A host's facts carry its run's events from task to task, but not everything reaches them: the
# items of a loop each see the facts from before the loop (only the last item's are kept), and a
# failed task's facts are dropped. Every report call also appends its event to a file of its run on
# the controller, where the calls of one host run one after another, and the next calls read it.


def spool_directory() -> str:
    return os.path.join(tempfile.gettempdir(), f"wedsync-run-report-{os.getuid()}")


def spool_path(run_id: str, directory: str | None = None) -> str:
    return os.path.join(directory or spool_directory(), f"{_safe(run_id)}.jsonl")


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


# The report


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
    failure = _failure(failure)
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
        "resources": [_resource(event) for event in run if event["kind"] == "resource"],
        "journal": _journal(run),
        "resumed": False,
        "failure": failure,
        "follow_ups": [event["text"] for event in run if event["kind"] == "follow_up"],
    }
    report["resumed"] = bool(report["journal"] and report["journal"]["resumed_from"])
    report["summary"] = summary or default_summary(report)
    return report


def _failure(failure: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not failure:
        return None
    return {"task": failure.get("task"), "message": str(failure.get("message") or "")}


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


# Shared by the page (run_report_markdown) and the timeline (run_report_svg)

MARK = {True: "✓", False: "✗", None: "—"}


def offset(report: Mapping[str, Any], at: str | None) -> float:
    """Seconds from the start of the run to at; 0 without either."""
    if not at or not report.get("started"):
        return 0.0
    return max(seconds_between(report["started"], at), 0.0)


# Files


def _safe(part: Any) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(part)).strip("._") or "unknown"


def report_directory(base: str, report: Mapping[str, Any]) -> str:
    """<base>/<runbook>-<action>-<run_id>."""
    return os.path.join(base, "-".join(_safe(report[key]) for key in ("runbook", "action", "run_id")))


def write_report(report: Mapping[str, Any], directory: str) -> dict[str, str]:
    """Writes report.json, report.md and timeline.svg into directory (created); returns their paths by kind."""
    # Imported here, not at the top: the renderers import this module's helpers.
    from ansible_collections.wedsync.platform.plugins.module_utils.run_report_markdown import render_markdown  # noqa: PLC0415
    from ansible_collections.wedsync.platform.plugins.module_utils.run_report_svg import render_svg  # noqa: PLC0415

    os.makedirs(directory, exist_ok=True)
    contents = {
        "json": json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n",
        "markdown": render_markdown(report),
        "svg": render_svg(report),
    }
    paths = {}
    for kind, name in FILES.items():
        path = os.path.join(directory, name)
        partial = f"{path}.partial"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(contents[kind])
        os.replace(partial, path)
        paths[kind] = path
    return paths
