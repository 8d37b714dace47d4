# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The end-to-end check's verdicts: the synthetic journey wedsync.platform.e2e_journey made, graded.

Pure. The journey writes a probe through the public path (edge, load balancer, app, primary database
and cache), reads it back, deletes it and asks for it once more; each step is a fact (method, path,
status, milliseconds, the body's database and cache values). Severities by the seed's definitions:
- nothing on the public path answers, or a write it acknowledged is not read back from the database
  (data loss): P0;
- a write or read refused or failing, the cache not returning what was written, the p95 response time
  over the seed's target (performance degraded): P1;
- the probe left behind after the journey (a row and a key to delete by hand): P2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.health import finding
from ansible_collections.wedsync.platform.plugins.module_utils.severity import severity_rank

# The seed: Response Time Target <200ms for 95% of requests.
RESPONSE_TIME_TARGET_MS = 200.0
EXPECTED_STATUS = {"write": 201, "read": 200, "delete": 200, "gone": 404}


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The nearest-rank percentile (the smallest value at or above pct% of them); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def _described(step: Mapping[str, Any]) -> str:
    said = f"status {step['status']}" if step.get("status") is not None else "no answer"
    return f"{step['method']} {step['path']}: {said}" + (f" ({step['error']})" if step.get("error") else "")


def _expected(step: Mapping[str, Any]) -> bool:
    return step.get("status") == EXPECTED_STATUS[step["step"]]


def _read_findings(reads: Sequence[Mapping[str, Any]], value: str | None, written: bool) -> list[dict[str, Any]]:
    if not written:
        # A dry run, or a write that failed: the probe must not be found (the read path answers 404).
        wrong = [r for r in reads if r.get("status") != EXPECTED_STATUS["gone"]]
        if not wrong:
            return []
        return [finding("read", f"{len(wrong)} of {len(reads)} reads failed", "P1", _described(wrong[0]))]
    found: list[dict[str, Any]] = []
    failed = [r for r in reads if not _expected(r)]
    if failed:
        found.append(finding("read", f"{len(failed)} of {len(reads)} reads failed", "P1", _described(failed[0])))
    answered = [r for r in reads if _expected(r)]
    lost = [r for r in answered if r.get("database") != value]
    if lost:
        detail = f"the database held {lost[0].get('database')!r}"
        found.append(finding("read", "an acknowledged write is not read back from the database", "P0", detail))
    stale = [r for r in answered if r.get("cache") != value]
    if stale:
        detail = f"the cache held {stale[0].get('cache')!r} in {len(stale)} of {len(answered)} reads"
        found.append(finding("cache", "the cache does not return what was written", "P1", detail))
    return found


def journey_findings(journey: Mapping[str, Any], target_ms: float = RESPONSE_TIME_TARGET_MS) -> list[dict[str, Any]]:
    """Findings of one journey, worst first; one finding without a severity says the journey was whole."""
    steps = journey["steps"]
    if not steps or all(s.get("status") is None or s["status"] >= 500 for s in steps):
        detail = _described(steps[0]) if steps else "no request was made"
        return [finding("journey", f"the public path {journey['url']} answers nothing", "P0", detail)]
    by_name = {name: [s for s in steps if s["step"] == name] for name in EXPECTED_STATUS}
    writes = by_name["write"]
    written = bool(writes) and _expected(writes[0])
    found: list[dict[str, Any]] = []
    if writes and not written:
        found.append(finding("write", "a write through the public path fails", "P1", _described(writes[0])))
    found += _read_findings(by_name["read"], journey.get("value"), written)
    cleanup = [s for s in by_name["delete"] + by_name["gone"] if not _expected(s)]
    if writes and cleanup:
        text = f"the probe {journey['probe_id']} was left behind: delete its row in e2e_probes and its key by hand"
        found.append(finding("cleanup", text, "P2", _described(cleanup[0])))
    if not found:
        reads = len(by_name["read"])
        what = f"wrote, read back {reads} times and deleted a probe" if writes else f"read {reads} times (dry run)"
        found.append(finding("journey", f"{what} through {journey['url']}"))
    found.append(_latency_finding(steps, target_ms))
    return sorted(found, key=lambda f: severity_rank(f["severity"]))


def latency_ms(steps: Sequence[Mapping[str, Any]]) -> list[float]:
    """The response times of the requests that were answered."""
    return [s["ms"] for s in steps if s.get("status") is not None]


def _latency_finding(steps: Sequence[Mapping[str, Any]], target_ms: float) -> dict[str, Any]:
    times = latency_ms(steps)
    p95 = percentile(times, 95)
    if p95 is None:
        return finding("response time", "no request was answered to time")
    text = f"p95 {p95:.0f} ms over {len(times)} requests"
    if p95 > target_ms:
        return finding("response time", f"{text}, over the target of {target_ms:.0f} ms", "P1", "performance degraded")
    return finding("response time", f"{text}, within the target of {target_ms:.0f} ms")
