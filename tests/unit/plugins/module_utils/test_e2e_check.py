"""The end-to-end check's verdicts: a journey's steps graded by the seed's severities and response-time target."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.wedsync.platform.plugins.module_utils.e2e_check import journey_findings, percentile

URL = "https://wedsync.com"
PROBE = "e2e-0123456789abcdef"
VALUE = "9c1e4b7a2f6d3e80"
PATH = f"/api/e2e/probes/{PROBE}"


def step(name: str, status: int | None, ms: float = 40.0, **more: Any) -> dict[str, Any]:
    method, path = {"write": ("POST", "/api/e2e/probes"), "delete": ("DELETE", PATH)}.get(name, ("GET", PATH))
    return {"step": name, "method": method, "path": path, "status": status, "ms": ms, "error": None, **more}


def read(ms: float = 40.0, database: str | None = VALUE, cache: str | None = VALUE, status: int = 200) -> dict:
    return step("read", status, ms, database=database, cache=cache)


def journey(*steps: dict[str, Any], value: str | None = VALUE) -> dict[str, Any]:
    return {"url": URL, "probe_id": PROBE, "value": value, "steps": list(steps)}


def whole(*reads: dict[str, Any]) -> dict[str, Any]:
    return journey(step("write", 201), *(reads or [read()] * 3), step("delete", 200), step("gone", 404))


def graded(found: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(f["check"], f["severity"]) for f in found]


@pytest.mark.parametrize(
    ("values", "pct", "expected"),
    [([], 95, None), ([7.0], 95, 7.0), (list(range(1, 21)), 95, 19), (list(range(1, 101)), 95, 95), ([3, 1, 2], 50, 2)],
)
def test_percentile_is_the_nearest_rank(values: list[float], pct: float, expected: float | None) -> None:
    assert percentile(values, pct) == expected


def test_a_whole_journey_within_the_target_has_no_severity() -> None:
    found = journey_findings(whole())
    assert graded(found) == [("journey", None), ("response time", None)]
    assert found[0]["finding"] == f"wrote, read back 3 times and deleted a probe through {URL}"
    assert found[1]["finding"] == "p95 40 ms over 6 requests, within the target of 200 ms"


def test_a_p95_over_the_target_is_performance_degraded_p1() -> None:
    reads = [read(ms) for ms in (40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180, 450, 460)]
    found = journey_findings(whole(*reads), target_ms=200)
    assert graded(found) == [("response time", "P1"), ("journey", None)]
    assert found[0]["finding"] == "p95 450 ms over 20 requests, over the target of 200 ms"


def test_nothing_answering_is_p0() -> None:
    dead = journey(step("write", None, error="connection refused"), step("delete", None), step("gone", 502))
    assert graded(journey_findings(dead)) == [("journey", "P0")]


def test_an_acknowledged_write_not_read_back_from_the_database_is_data_loss_p0() -> None:
    found = journey_findings(whole(read(), read(database=None, cache=VALUE, status=200), read()))
    assert graded(found)[0] == ("read", "P0")
    assert found[0]["finding"] == "an acknowledged write is not read back from the database"


def test_the_cache_not_returning_the_write_is_p1() -> None:
    found = journey_findings(whole(read(cache=None), read()))
    assert graded(found) == [("cache", "P1"), ("response time", None)]
    assert "in 1 of 2 reads" in found[0]["detail"]


def test_a_failing_write_is_p1_and_its_cleanup_still_judged() -> None:
    failed = journey(step("write", 500, error="WRONGPASS"), step("delete", 200), step("gone", 404))
    found = journey_findings(failed)
    assert graded(found) == [("write", "P1"), ("response time", None)]
    assert found[0]["detail"] == "POST /api/e2e/probes: status 500 (WRONGPASS)"


def test_reads_failing_are_p1() -> None:
    found = journey_findings(whole(read(), read(status=503, database=None, cache=None)))
    assert graded(found)[0] == ("read", "P1")
    assert found[0]["finding"] == "1 of 2 reads failed"


def test_a_probe_left_behind_is_p2_naming_it() -> None:
    left = journey(step("write", 201), read(), step("delete", 503), step("gone", 200))
    found = journey_findings(left)
    assert graded(found) == [("cleanup", "P2"), ("response time", None)]
    assert PROBE in found[0]["finding"]


def test_a_dry_run_only_reads_and_expects_no_probe() -> None:
    absent = read(status=404, database=None, cache=None)
    found = journey_findings(journey(absent, absent, absent, value=None))
    assert graded(found) == [("journey", None), ("response time", None)]
    assert found[0]["finding"] == f"read 3 times (dry run) through {URL}"
    failing = journey(absent, read(status=500, database=None, cache=None), value=None)
    assert graded(journey_findings(failing))[0] == ("read", "P1")
