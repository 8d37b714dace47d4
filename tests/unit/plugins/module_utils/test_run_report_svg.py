"""The run report as a picture: timeline.svg, the run at a glance."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_builder import build_report
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_svg import render_svg, tick_label
from run_report_examples import BEGIN, deploy_events, play, validate

SVG = "{http://www.w3.org/2000/svg}"


def svg_root(report: dict[str, Any]) -> ET.Element:
    root = ET.fromstring(render_svg(report))
    assert root.tag == f"{SVG}svg"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]


class TestSvg:
    def test_a_deploy_timeline(self):
        root = svg_root(build_report(deploy_events()))
        labels = texts(root)
        assert labels[0] == "SUCCEEDED · blue_green deploy"
        phases = [
            "discover",
            "stage green",
            "smoke test green",
            "shift 10% to green",
            "shift 50% to green",
            "shift 100% to green",
        ]
        assert [label for label in labels if label in phases] == phases
        assert "4m 01s of 15m objective ✓" in labels
        assert labels.count("5m of 5m objective ✓") == 3
        assert "time to full shift" not in labels
        assert {"0s", "5m", "10m", "15m"} <= set(labels)
        diamonds = root.findall(f"./{SVG}g/{SVG}polygon")
        assert len(diamonds) == 6
        assert {p.get("fill") for p in diamonds} == {"#2e7d32"}

    def test_an_overridden_gate_is_amber_and_only_times_with_objectives_are_gauged(self):
        forced = "blue now runs release 1.2.4, not 1.2.2, which passed its checks there"
        results = play(
            (0, BEGIN),
            (1, {"gate": "target color verified", "passed": True, "reason": "recorded", "override": forced}),
            (2, {"gate": "journal", "passed": True, "reason": "held by this run"}),
            (3, {"measurement": "smoke p99 latency", "value": 84, "unit": "ms", "objective": 500}),
            (4, {"measurement": "time to full shift", "value": 3}),
            (5, {"end": True}),
        )
        root = svg_root(results[-1]["report"])
        diamonds = root.findall(f"./{SVG}g/{SVG}polygon")
        assert [p.get("fill") for p in diamonds] == ["#ef8f00", "#2e7d32"]
        assert any(forced in (t.text or "") for t in root.iter(f"{SVG}title"))
        labels = texts(root)
        assert not any("smoke p99" in label or "time to full shift" in label for label in labels)
        assert "times against objectives" not in labels

    def test_an_objective_missed(self):
        results = play(
            (0, BEGIN), (1080, {"measurement": "RTO", "value": 5400, "objective": 14400}), (1081, {"end": True})
        )
        assert "1h 30m of 4h objective ✓" in texts(svg_root(results[-1]["report"]))
        results = play((0, BEGIN), (1, {"measurement": "RTO", "value": 18000, "objective": 14400}), (2, {"end": True}))
        assert "5h of 4h objective ✗" in texts(svg_root(results[-1]["report"]))

    def test_zero_duration_run_without_phases(self):
        results = play((0, BEGIN), (0, {"end": True}))
        report = validate(results[-1]["report"])
        assert report["duration_seconds"] == 0.0
        assert "no phases were marked" in texts(svg_root(report))

    def test_a_single_phase_fills_the_axis(self):
        results = play((0, BEGIN), (0, {"phase": "only"}), (12, {"end": True}))
        root = svg_root(results[-1]["report"])
        (bar,) = [r for r in root.iter(f"{SVG}rect") if r.get("height") == "14"]
        assert float(bar.get("x")) == 250.0
        assert float(bar.get("width")) == 680.0

    def test_dozens_of_phases_and_long_names(self):
        long_name = "wait for every replica in every region to catch up with the primary"
        calls = [(0, BEGIN)] + [(i * 3, {"phase": f"{long_name} {i}"}) for i in range(1, 61)] + [(200, {"end": True})]
        report = validate(play(*calls)[-1]["report"])
        root = svg_root(report)
        bars = [r for r in root.iter(f"{SVG}rect") if r.get("height") == "14"]
        assert len(bars) == 60
        assert int(root.get("height")) > 60 * 22
        assert all(len(label) <= 28 for label in texts(root) if label.startswith("wait for"))
        assert any(long_name in (t.text or "") for t in root.iter(f"{SVG}title"))

    def test_missing_times_and_markup_in_names(self):
        report = build_report(
            play((0, BEGIN), (1, {"phase": "<b>&"}), (5, {"end": True}))[-1]["ansible_facts"]["wedsync_report_events"]
        )
        report["phases"][0]["ended"] = None
        report["phases"][0]["duration_seconds"] = None
        report["ended"] = None
        report["gates"] = [{"name": "x", "passed": False, "reason": "<script>", "override": None, "at": None}]
        root = svg_root(report)
        assert "<b>&" in texts(root)

    @pytest.mark.parametrize(
        ("seconds", "label"), [(0, "0s"), (45, "45s"), (60, "1m"), (90, "1m30s"), (3600, "1h"), (5400, "1h30m")]
    )
    def test_tick_labels(self, seconds, label):
        assert tick_label(seconds) == label
