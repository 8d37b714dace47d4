# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report as a page: ``report.md``, for the person on call.

``render_markdown`` turns a report (as ``run_report_builder.build_report`` makes it) into Markdown: the
outcome, summary, who, when, where and how long first; then the failure and follow-ups, the timeline
(``timeline.svg``, beside it), and the phases, gates, measurements, resources, inputs and journal as
tables. Pure Python: no Ansible, no AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.run_report_text import (
    MARK,
    clock,
    human_duration,
    offset,
    parse_timestamp,
)


def cell(value: Any, limit: int = 300) -> str:
    """A Markdown table cell: one line, pipes escaped, long values cut."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], align: str = "") -> list[str]:
    align = align or "l" * len(header)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---:" if a == "r" else "---" for a in align) + " |"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return [*lines, ""]


def measured(value: float | None, unit: str) -> str:
    if value is None:
        return "not measured"
    if unit == "s":
        return human_duration(value)
    return f"{value:g} {unit}"


def _when(report: Mapping[str, Any]) -> str:
    started = parse_timestamp(report["started"])
    ended = parse_timestamp(report["ended"]) if report.get("ended") else None
    text = started.strftime("%Y-%m-%d %H:%M:%S")
    if ended is None:
        return f"{text} UTC"
    same_day = ended.date() == started.date()
    return f"{text} → {ended.strftime('%H:%M:%S' if same_day else '%Y-%m-%d %H:%M:%S')} UTC"


def _who(started_by: Mapping[str, Any]) -> str:
    who = f"{started_by.get('user') or 'unknown'} on {started_by.get('controller') or 'unknown'}"
    if started_by.get("pid"):
        who += f" (pid {started_by['pid']})"
    if started_by.get("awx_job_id") is not None:
        who += f", AWX job {started_by['awx_job_id']}"
        details = [
            f"template '{started_by['awx_job_template_name']}'" if started_by.get("awx_job_template_name") else "",
            f"schedule '{started_by['awx_schedule_name']}'" if started_by.get("awx_schedule_name") else "",
            f"launched by {started_by['awx_user_name']}" if started_by.get("awx_user_name") else "",
        ]
        if any(details):
            who += " (" + ", ".join(detail for detail in details if detail) + ")"
    return who


def _header(report: Mapping[str, Any]) -> list[str]:
    where = " · ".join(str(part) for part in (report["environment"], report["region"]) if part)
    target = f" (host {report['target']})" if report.get("target") else ""
    run = f"`{report['run_id']}` · collection {report.get('collection_version') or 'unknown'}"
    if report.get("play"):
        run += f" · play '{report['play']}'"
    return [
        f"# **{report['outcome']}** · {report['runbook']} {report['action']}",
        "",
        report["summary"],
        "",
        f"- **Who**: {_who(report['started_by'])}",
        f"- **When**: {_when(report)}",
        f"- **Where**: {where or 'unknown'}{target}",
        f"- **How long**: {human_duration(report['duration_seconds'])}",
        f"- **Run**: {run}" + (" · **check mode: nothing was changed**" if report["check_mode"] else ""),
        "",
    ]


def _failure_section(report: Mapping[str, Any]) -> list[str]:
    failure = report.get("failure")
    if not failure:
        return []
    message = (failure.get("message") or "").replace("```", "'''")
    return ["## Failure", "", f"**Task**: {failure.get('task') or 'unknown'}", "", "```text", message, "```", ""]


def _follow_ups_section(report: Mapping[str, Any]) -> list[str]:
    if not report["follow_ups"]:
        return []
    return ["## Follow-ups", "", *(f"- {' '.join(text.split())}" for text in report["follow_ups"]), ""]


def _phases_section(report: Mapping[str, Any]) -> list[str]:
    if not report["phases"]:
        return ["## Phases", "", "No phases were marked.", ""]
    rows = [
        [
            p["name"] + (f" ({p['detail']})" if p.get("detail") else ""),
            clock(offset(report, p["started"])),
            human_duration(p["duration_seconds"]),
            f"{MARK[p['status'] == 'succeeded']} {p['status']}",
        ]
        for p in report["phases"]
    ]
    return ["## Phases", "", *_table(("phase", "start", "duration", "status"), rows, "lrrl")]


def _gates_section(report: Mapping[str, Any]) -> list[str]:
    if not report["gates"]:
        return []
    rows = [
        [
            MARK[g["passed"]],
            g["name"] + (" (stopped the run)" if g["stopped"] else ""),
            g["reason"],
            f"overridden: {g['override']}" if g.get("override") else "",
            clock(offset(report, g["at"])),
        ]
        for g in report["gates"]
    ]
    return ["## Gates", "", *_table(("", "gate", "reason", "override", "at"), rows, "lllll")]


def _objective(m: Mapping[str, Any]) -> str:
    if m["objective"] is None:
        return ""
    return ("≤ " if m["objective_kind"] == "max" else "≥ ") + measured(m["objective"], m["unit"])


def _measurements_section(report: Mapping[str, Any]) -> list[str]:
    if not report["measurements"]:
        return []
    rows = [
        [
            m["name"] + (f" ({m['detail']})" if m.get("detail") else ""),
            measured(m["value"], m["unit"]),
            _objective(m),
            MARK[m["met"]],
        ]
        for m in report["measurements"]
    ]
    return ["## Measurements", "", *_table(("measurement", "value", "objective", "met"), rows, "lrrl")]


def _findings_section(report: Mapping[str, Any]) -> list[str]:
    if not report["findings"]:
        return []
    rows = [
        [
            f["severity"] or "ok",
            f["check"],
            f["name"] + (f" ({f['detail']})" if f.get("detail") else ""),
            f["response_time"] or "",
        ]
        for f in report["findings"]
    ]
    return ["## Findings", "", *_table(("severity", "check", "finding", "respond within"), rows)]


def _change(resource: Mapping[str, Any]) -> str:
    before, after = resource.get("before"), resource.get("after")
    if before is None and after is None:
        return ""
    return f"{cell(before, 60) or '—'} → {cell(after, 60) or '—'}"


def _resources_section(report: Mapping[str, Any]) -> list[str]:
    verb = "would change" if report["check_mode"] else "changed"
    if not report["resources"]:
        return [f"## Resources {verb}", "", "None.", ""]
    rows = [[r["change"], r["type"], r["id"], _change(r)] for r in report["resources"]]
    return [f"## Resources {verb}", "", *_table(("change", "type", "resource", "from → to"), rows)]


def _inputs_section(report: Mapping[str, Any]) -> list[str]:
    if not report["inputs"]:
        return []
    return ["## Inputs", "", *_table(("input", "value"), sorted(report["inputs"].items()))]


def _journal_section(report: Mapping[str, Any]) -> list[str]:
    journal = report.get("journal")
    if not journal:
        return []
    lines = ["## Journal", ""]
    if journal.get("bucket") or journal.get("key"):
        lines.append(f"- Kept in `s3://{journal.get('bucket') or '?'}/{journal.get('key') or ''}`.")
    if journal.get("resumed_from"):
        steps = ", ".join(str(step) for step in journal.get("completed_steps") or []) or "none"
        lines.append(f"- Resumed run `{journal['resumed_from']}`; steps it had completed: {steps}.")
    took_over = journal.get("took_over")
    if took_over:
        holder = cell(took_over.get("holder"), 200) or "an unknown holder"
        run = f"run `{took_over['run_id']}` of " if took_over.get("run_id") else ""
        lines.append(f"- Took the lock over from {run}{holder}: {took_over.get('reason') or 'no reason given'}.")
    return [*lines, ""]


def render_markdown(report: Mapping[str, Any]) -> str:
    """report.md: outcome, summary, who, when, where and how long first; then the timeline and the detail."""
    sections = (
        _header(report),
        _failure_section(report),
        _follow_ups_section(report),
        ["![timeline](timeline.svg)", ""],
        _phases_section(report),
        _findings_section(report),
        _gates_section(report),
        _measurements_section(report),
        _resources_section(report),
        _inputs_section(report),
        _journal_section(report),
    )
    return "\n".join(line for section in sections for line in section).rstrip("\n") + "\n"
