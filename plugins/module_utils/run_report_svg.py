# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report as a picture: ``timeline.svg``, the run at a glance.

``render_svg`` draws a report (as ``run_report_builder.build_report`` makes it) on a time axis over the run's
whole duration: a bar per phase, the gates as diamonds where they were decided (green passed, red
failed, amber overridden), and each time measured against its objective as a gauge. Names are cut to
fit and given whole in tooltips. Pure Python: no Ansible, no AWS.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from ansible_collections.wedsync.platform.plugins.module_utils.run_report_text import (
    MARK,
    clock,
    human_duration,
    offset,
)

SVG_WIDTH = 960
SVG_LEFT = 250
SVG_RIGHT = 930
SVG_ROW = 22
SVG_NAME_CHARS = 28
SVG_GAUGE_TEXT = 210
COLORS = {
    "succeeded": "#2e7d32",
    "failed": "#c62828",
    "override": "#ef8f00",
    "axis": "#555555",
    "grid": "#e3e3e3",
    "text": "#222222",
    "muted": "#666666",
}
OUTCOME_COLORS = {"SUCCEEDED": "#2e7d32", "FAILED": "#c62828", "REFUSED": "#b26a00", "ROLLED_BACK": "#c45100"}
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def _truncate(text: str, limit: int = SVG_NAME_CHARS) -> str:
    """At most limit characters, cut in the middle: names that differ at their end stay apart."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 3
    return text[: limit - 1 - tail].rstrip() + "…" + text[-tail:].lstrip()


def _text(x: float, y: float, content: str, **attributes: Any) -> str:
    attrs = "".join(f" {name.replace('_', '-')}={quoteattr(str(value))}" for name, value in attributes.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{attrs}>{escape(content)}</text>'


def _tick_step(span: float) -> float:
    return next((step for step in TICK_STEPS if span / step <= 8), math.ceil(span / 8 / 86400) * 86400)


def tick_label(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs:02d}s" if secs else f"{minutes}m"
    return f"{secs}s"


class _Timeline:
    """Maps seconds since the start of the run to x, over the run's whole duration."""

    def __init__(self, duration: float) -> None:
        self.span = duration if duration > 0 else 1.0

    def x(self, seconds: float) -> float:
        return SVG_LEFT + (SVG_RIGHT - SVG_LEFT) * min(max(seconds, 0.0), self.span) / self.span


def _svg_header(report: Mapping[str, Any]) -> list[str]:
    outcome = report.get("outcome") or "UNKNOWN"
    where = " · ".join(str(part) for part in (report.get("environment"), report.get("region")) if part)
    started = report.get("started") or ""
    subtitle = " · ".join(
        part
        for part in (
            f"{started[:19].replace('T', ' ')} UTC" if started else "",
            human_duration(report.get("duration_seconds") or 0.0),
            where,
            "check mode" if report.get("check_mode") else "",
            report.get("run_id") or "",
        )
        if part
    )
    title = f"{report.get('runbook', '')} {report.get('action', '')}"
    return [
        f'<text x="16" y="28" font-size="16" font-weight="bold">'
        f"<tspan fill={quoteattr(OUTCOME_COLORS.get(outcome, COLORS['text']))}>{escape(outcome)}</tspan>"
        f"<tspan fill={quoteattr(COLORS['text'])}> · {escape(_truncate(title, 80))}</tspan></text>",
        _text(16, 48, subtitle, fill=COLORS["muted"]),
    ]


def _svg_axis(timeline: _Timeline, top: float, bottom: float) -> list[str]:
    step = _tick_step(timeline.span)
    parts = [f'<line x1="{SVG_LEFT}" y1="{top}" x2="{SVG_RIGHT}" y2="{top}" stroke="{COLORS["axis"]}"/>']
    ticks = int(timeline.span // step) + 1
    for index in range(ticks):
        x = timeline.x(index * step)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{COLORS["grid"]}"/>')
        parts.append(_text(x, top - 6, tick_label(index * step), text_anchor="middle", fill=COLORS["muted"]))
    return parts


def _diamond(x: float, y: float, color: str, tooltip: str) -> str:
    points = f"{x:.1f},{y - 7:.1f} {x + 7:.1f},{y:.1f} {x:.1f},{y + 7:.1f} {x - 7:.1f},{y:.1f}"
    return f'<g><title>{escape(tooltip)}</title><polygon points="{points}" fill="{color}" stroke="#ffffff"/></g>'


def _gate_lanes(xs: Sequence[float], spacing: float = 14.0, lanes: int = 4) -> list[int]:
    """A lane for each marker so that close ones do not hide each other (the last lane takes the rest)."""
    ends: list[float] = []
    chosen = []
    for x in xs:
        lane = next((index for index, end in enumerate(ends) if x - end >= spacing), len(ends))
        lane = min(lane, lanes - 1)
        if lane == len(ends):
            ends.append(x)
        ends[lane] = max(ends[lane], x)
        chosen.append(lane)
    return chosen


def _svg_gates(report: Mapping[str, Any], timeline: _Timeline, y: float) -> tuple[list[str], int]:
    """The gates as diamonds where they were decided, and how many lanes they take."""
    parts = [_text(16, y + 4, "gates", fill=COLORS["muted"])]
    gates = report.get("gates") or []
    if not gates:
        parts.append(_text(SVG_LEFT, y + 4, "none", fill=COLORS["muted"]))
    offsets = [offset(report, gate.get("at")) for gate in gates]
    lanes = _gate_lanes([timeline.x(seconds) for seconds in offsets])
    for gate, seconds, lane in zip(gates, offsets, lanes, strict=True):
        color = COLORS["succeeded"] if gate.get("passed") else COLORS["failed"]
        if gate.get("passed") and gate.get("override"):
            color = COLORS["override"]
        tooltip = f"{MARK[bool(gate.get('passed'))]} {gate.get('name')} at {clock(seconds)}: {gate.get('reason') or ''}"
        if gate.get("override"):
            tooltip += f" (overridden: {gate['override']})"
        parts.append(_diamond(timeline.x(seconds), y + 16 * lane, color, tooltip))
    return parts, max(lanes, default=0) + 1


def _svg_legend(y: float) -> list[str]:
    items = [
        ("rect", COLORS["succeeded"], "phase succeeded"),
        ("rect", COLORS["failed"], "phase failed"),
        ("diamond", COLORS["succeeded"], "gate passed"),
        ("diamond", COLORS["failed"], "gate failed"),
        ("diamond", COLORS["override"], "gate overridden"),
    ]
    parts = []
    x = float(SVG_LEFT)
    for shape, color, label in items:
        if shape == "rect":
            parts.append(f'<rect x="{x:.1f}" y="{y - 9}" width="14" height="10" rx="2" fill="{color}"/>')
        else:
            points = f"{x + 7:.1f},{y - 10} {x + 13:.1f},{y - 4} {x + 7:.1f},{y + 2} {x + 1:.1f},{y - 4}"
            parts.append(f'<polygon points="{points}" fill="{color}"/>')
        parts.append(_text(x + 20, y, label, fill=COLORS["muted"], font_size="11"))
        x += 30 + 6.2 * len(label)
    return parts


def _svg_phase(report: Mapping[str, Any], phase: Mapping[str, Any], timeline: _Timeline, y: float) -> list[str]:
    start = offset(report, phase.get("started"))
    end = offset(report, phase.get("ended")) if phase.get("ended") else timeline.span
    failed = phase.get("status") == "failed"
    color = COLORS["failed"] if failed else COLORS["succeeded"]
    duration = phase.get("duration_seconds")
    duration = max(end - start, 0.0) if duration is None else duration
    x1, x2 = timeline.x(start), timeline.x(end)
    label = ("✗ " if failed else "") + human_duration(duration)
    name = str(phase.get("name") or "")
    tooltip = f"{name}: {human_duration(duration)} from {clock(start)}, {phase.get('status') or 'unknown'}"
    if phase.get("detail"):
        tooltip += f" ({phase['detail']})"
    return [
        f"<g><title>{escape(tooltip)}</title>",
        _text(16, y + 11, _truncate(name), fill=COLORS["text"]),
        _text(SVG_LEFT - 10, y + 11, label, text_anchor="end", fill=color),
        f'<rect x="{x1:.1f}" y="{y}" width="{max(x2 - x1, 2.0):.1f}" height="14" rx="2" fill="{color}"/>',
        "</g>",
    ]


def time_objectives(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The measurements of a time against an objective, which the timeline draws."""
    return [m for m in report.get("measurements") or [] if m.get("unit") == "s" and m.get("objective") is not None]


def _svg_objective(measurement: Mapping[str, Any], y: float) -> list[str]:
    """A gauge from 0 to the larger of the time and its objective, with the objective as a dashed line."""
    value, objective = measurement.get("value"), float(measurement["objective"])
    width = SVG_RIGHT - SVG_GAUGE_TEXT - SVG_LEFT
    scale = max(value or 0.0, objective) or 1.0
    met = measurement.get("met")
    color = {True: COLORS["succeeded"], False: COLORS["failed"]}.get(met, COLORS["muted"])
    kind = "at most" if measurement.get("objective_kind", "max") == "max" else "at least"
    if value is None:
        text = f"not measured (objective {kind} {human_duration(objective)})"
    else:
        text = f"{human_duration(value)} of {human_duration(objective)} objective {MARK[met]}"
    x_objective = SVG_LEFT + width * objective / scale
    parts = [
        f"<g><title>{escape(str(measurement.get('name')) + ': ' + text)}</title>",
        _text(16, y + 10, _truncate(str(measurement.get("name") or "")), fill=COLORS["text"]),
        f'<rect x="{SVG_LEFT}" y="{y}" width="{width}" height="12" fill="#f2f2f2"/>',
    ]
    if value is not None:
        parts.append(
            f'<rect x="{SVG_LEFT}" y="{y}" width="{max(width * value / scale, 1.0):.1f}" height="12" fill="{color}"/>'
        )
    parts += [
        f'<line x1="{x_objective:.1f}" y1="{y - 4}" x2="{x_objective:.1f}" y2="{y + 16}" stroke="{COLORS["text"]}"'
        ' stroke-width="2" stroke-dasharray="3,2"/>',
        _text(SVG_RIGHT - SVG_GAUGE_TEXT + 8, y + 10, text, fill=color),
        "</g>",
    ]
    return parts


def render_svg(report: Mapping[str, Any]) -> str:
    """timeline.svg: a time axis, a bar per phase, the gates where they were decided, times against objectives."""
    timeline = _Timeline(float(report.get("duration_seconds") or 0.0))
    phases = report.get("phases") or []
    axis_top, gates_y = 80, 98
    gates, lanes = _svg_gates(report, timeline, gates_y)
    phases_top = gates_y + 16 * lanes + 4
    phases_bottom = phases_top + SVG_ROW * max(len(phases), 1)
    parts = _svg_header(report)
    parts += _svg_axis(timeline, axis_top, phases_bottom)
    parts += gates
    if not phases:
        parts.append(_text(SVG_LEFT, phases_top + 11, "no phases were marked", fill=COLORS["muted"]))
    for index, phase in enumerate(phases):
        parts += _svg_phase(report, phase, timeline, phases_top + SVG_ROW * index)
    y = phases_bottom + 10
    objectives = time_objectives(report)
    if objectives:
        parts.append(_text(16, y + 14, "times against objectives", fill=COLORS["muted"], font_weight="bold"))
        y += 28
        for measurement in objectives:
            parts += _svg_objective(measurement, y)
            y += SVG_ROW + 4
    y += 14
    parts += _svg_legend(y)
    height = y + 12
    label = f"{report.get('outcome')}: {report.get('runbook')} {report.get('action')}, timeline of the run"
    return "\n".join(
        [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" height="{height}"'
            f' viewBox="0 0 {SVG_WIDTH} {height}" font-family="sans-serif" font-size="12" role="img"'
            f" aria-label={quoteattr(label)}>",
            f"<title>{escape(label)}</title>",
            f'<rect width="{SVG_WIDTH}" height="{height}" fill="#ffffff"/>',
            *parts,
            "</svg>",
            "",
        ]
    )
