# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One call of the ``wedsync.platform.report`` action: its options made into an event of the run.

``kind_of`` tells which event a call's options make, and ``record`` what the call returns: its
event and the run's events so far (``run_report_events``), and for the end the whole report
(``run_report_builder``) and the report in brief for AWX.

Pure Python: no Ansible, no AWS.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.run_report_builder import build_report, summarize
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_events import (
    STARTED_BY_KEYS,
    ReportError,
    current_run,
    decide_outcome,
    failure_fields,
    is_stop,
    make_event,
)
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_text import (
    new_run_id,
    parse_timestamp,
    redact,
    timestamp,
)
from ansible_collections.wedsync.platform.plugins.module_utils.severity import SEVERITIES

RESOURCE_CHANGES = ("created", "modified", "deleted", "replaced")
OBJECTIVE_KINDS = ("max", "min")

# The options of the report action that make each kind of event, and the options each kind takes.
KIND_OPTIONS: dict[str, tuple[str, ...]] = {
    "begin": ("begin",),
    "phase": ("phase", "detail"),
    "gate": ("gate", "passed", "reason", "override", "refuse", "changed_anything"),
    "measurement": ("measurement", "value", "unit", "objective", "objective_kind", "detail"),
    "finding": ("finding", "check", "severity", "detail"),
    "resource": ("resource",),
    "follow_up": ("follow_up",),
    "journal": ("journal", "resumed", "took_over"),
    "end": ("end", "outcome", "summary", "failure"),
}
KIND_MARKERS = {kind: kind for kind in KIND_OPTIONS} | {"resumed": "journal", "took_over": "journal"}


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


def kind_of(given: Iterable[str]) -> str:
    """The one kind of event the options given to a report call make; fails naming the stray option."""
    given = list(given)
    kinds = list(dict.fromkeys(KIND_MARKERS[name] for name in given if name in KIND_MARKERS))
    if not kinds:
        raise ReportError(
            "give one of begin, phase, gate, measurement, finding, resource, follow_up, resumed or took_over, end"
        )
    if len(kinds) > 1:
        raise ReportError(f"one event per call: {' and '.join(kinds)} were both given")
    kind = kinds[0]
    for name in given:
        if name not in KIND_OPTIONS[kind]:
            raise ReportError(f"{name} is not an option of {kind} (its options: {', '.join(KIND_OPTIONS[kind])})")
    return kind


def stop_message(action: str | None, event: Mapping[str, Any]) -> str:
    if event.get("changed_anything"):
        return f"Stopping: {event['reason']}"
    return f"Refusing to {action or 'go on'}, nothing changed: {event['reason']}"


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


def _phase_fields(args: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": args["phase"], "detail": args.get("detail")}


def _gate_fields(args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": args["gate"],
        "passed": bool(args["passed"]),
        "reason": args["reason"],
        "override": args.get("override"),
        "refuse": bool(args.get("refuse", True)),
        "changed_anything": bool(args.get("changed_anything", False)),
    }


def _measurement_fields(args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": args["measurement"],
        "value": as_number(args.get("value")),
        "unit": args.get("unit") or "s",
        "objective": as_number(args.get("objective"), "objective"),
        "objective_kind": args.get("objective_kind") or "max",
        "detail": args.get("detail"),
    }


def _resource_fields(args: Mapping[str, Any]) -> dict[str, Any]:
    return {key: args["resource"].get(key) for key in ("id", "type", "change", "before", "after")}


def _journal_fields(args: Mapping[str, Any]) -> dict[str, Any]:
    journal, resumed = args.get("journal") or {}, args.get("resumed") or {}
    return {
        "bucket": journal.get("bucket"),
        "key": journal.get("key"),
        "resumed_from": resumed.get("run_id") or journal.get("resumed_from"),
        "completed_steps": list(resumed.get("completed_steps") or journal.get("completed_steps") or []),
        "took_over": args.get("took_over") or journal.get("took_over"),
    }


def event_fields(kind: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of an event of kind (other than begin and end) from the report call's options."""
    fields = {
        "phase": _phase_fields,
        "gate": _gate_fields,
        "measurement": _measurement_fields,
        "finding": finding_fields,
        "resource": _resource_fields,
        "follow_up": lambda given: {"text": given["follow_up"]},
        "journal": _journal_fields,
    }
    if kind not in fields:
        raise ReportError(f"no event of kind {kind}")
    return fields[kind](args)


def finding_fields(args: Mapping[str, Any]) -> dict[str, Any]:
    """A finding of a check: what was found, and its severity (none when all is well) with its response time."""
    severity = args.get("severity") or None
    if severity is not None and severity not in SEVERITIES:
        raise ReportError(f"severity must be one of {', '.join(SEVERITIES)} or null (nothing wrong), not {severity!r}")
    return {
        "name": args["finding"],
        "check": args.get("check") or args["finding"],
        "severity": severity,
        "response_time": SEVERITIES[severity].response_time if severity else None,
        "detail": args.get("detail"),
    }


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
    failure = failure_fields(args.get("failure"))
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
