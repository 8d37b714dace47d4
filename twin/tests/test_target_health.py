"""Target health from real HTTP health checks: the matcher, the thresholds, and the ALB's reasons,
against real HTTP servers on loopback."""

from __future__ import annotations

import http.server
import itertools
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from twin.target_health import CheckState, HealthChecker, matches, probe


@pytest.mark.parametrize(
    ("matcher", "status", "accepted"),
    [
        ({"HttpCode": "200"}, 200, True),
        ({"HttpCode": "200"}, 204, False),
        ({"HttpCode": "200,202"}, 202, True),
        ({"HttpCode": "200-299"}, 299, True),
        ({"HttpCode": "200-299"}, 302, False),
        (None, 200, True),
    ],
)
def test_the_matcher_takes_codes_lists_and_ranges(matcher: dict[str, Any] | None, status: int, accepted: bool) -> None:
    assert matches(matcher, status) is accepted


class App(http.server.BaseHTTPRequestHandler):
    """Answers GET with the status the test sets, or hangs."""

    status = 200
    hang = threading.Event()

    def do_GET(self) -> None:
        if self.hang.is_set():
            time.sleep(1)  # past the check's timeout
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def app() -> Iterator[tuple[str, int]]:
    App.status = 200
    App.hang.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", server.server_port
    App.hang.clear()
    server.shutdown()


def group(port: int, healthy: int = 2, unhealthy: int = 3) -> Any:
    return SimpleNamespace(
        arn="arn:tg/blue",
        port=port,
        health_check_port="traffic-port",
        health_check_path="/api/health",
        health_check_interval_seconds=30,
        health_check_timeout_seconds=5,
        healthy_threshold_count=str(healthy),
        unhealthy_threshold_count=str(unhealthy),
        matcher={"HttpCode": "200"},
        targets={"i-1": {"Id": "i-1", "Port": port}},
    )


def checker_over(target_group: Any, address: str | None, host: bool = True) -> HealthChecker:
    checker = HealthChecker(
        lambda instance_id: host and instance_id == "i-1", lambda instance_id: address if instance_id == "i-1" else None
    )
    checker._targets = lambda: iter([(target_group, target_group.targets["i-1"])])  # type: ignore[method-assign]
    return checker


CLOCK = itertools.count(1000.0, 100.0)


def run_checks(checker: HealthChecker, times: int) -> CheckState:
    """``times`` checks, each due: the clock moves on by more than any interval between them."""
    for _ in range(times):
        checker.check_due(now=next(CLOCK))
    standing = checker.state_of("arn:tg/blue", "i-1")
    assert standing is not None
    return standing


def test_a_new_target_is_initial_until_the_healthy_threshold_then_healthy(app: tuple[str, int]) -> None:
    address, port = app
    checker = checker_over(group(port, healthy=3), address)
    assert run_checks(checker, 2).state == "initial"
    assert run_checks(checker, 1).state == "healthy"


def test_a_wrong_status_makes_it_unhealthy_after_the_unhealthy_threshold(app: tuple[str, int]) -> None:
    address, port = app
    checker = checker_over(group(port, healthy=1, unhealthy=2), address)
    assert run_checks(checker, 1).state == "healthy"
    App.status = 500
    assert run_checks(checker, 1).state == "healthy", "one failure is not enough"
    standing = run_checks(checker, 1)
    assert (standing.state, standing.reason) == ("unhealthy", "Target.ResponseCodeMismatch")
    assert standing.description == "Health checks failed with these codes: [500]"
    App.status = 200
    assert run_checks(checker, 1).state == "healthy"


def test_nothing_listening_fails_the_checks(app: tuple[str, int]) -> None:
    address, port = app
    checker = checker_over(group(port + 1 if port < 65535 else port - 1, unhealthy=1), address)
    standing = run_checks(checker, 1)
    assert (standing.state, standing.reason) == ("unhealthy", "Target.FailedHealthChecks")


def test_an_answer_later_than_the_timeout_is_a_timeout(app: tuple[str, int]) -> None:
    address, port = app
    slow = group(port, unhealthy=1)
    slow.health_check_timeout_seconds = 0.3
    App.hang.set()
    standing = run_checks(checker_over(slow, address), 1)
    assert (standing.state, standing.reason) == ("unhealthy", "Target.Timeout")


def test_checks_run_at_the_scaled_interval_only(app: tuple[str, int]) -> None:
    address, port = app
    checker = checker_over(group(port, healthy=2), address)
    start = next(CLOCK)
    checker.check_due(now=start)
    checker.check_due(now=start + 1)  # 30 s * 0.1 = 3 s: not due yet
    standing = checker.state_of("arn:tg/blue", "i-1")
    assert standing is not None and standing.passed_in_a_row == 1
    checker.check_due(now=start + 3.5)
    assert standing.state == "healthy"


def test_a_target_without_a_host_is_left_to_the_other_rules(app: tuple[str, int]) -> None:
    _, port = app
    assert checker_over(group(port), None, host=False).state_of("arn:tg/blue", "i-1") is None


def test_a_host_still_booting_fails_its_checks_rather_than_passing_them(app: tuple[str, int]) -> None:
    _, port = app
    checker = checker_over(group(port, unhealthy=2), None)
    assert run_checks(checker, 1).state == "initial"
    standing = run_checks(checker, 1)
    assert (standing.state, standing.reason) == ("unhealthy", "Target.FailedHealthChecks")


def test_the_scale_is_checked() -> None:
    checker = HealthChecker(lambda _: False, lambda _: None)
    assert checker.set_scale({"interval_scale": 0.05}) == {"interval_scale": 0.05}
    with pytest.raises(ValueError, match="interval_scale"):
        checker.set_scale({"interval_scale": 0})


def test_probe_reports_a_refused_connection() -> None:
    status, problem = probe("127.0.0.1", 9, "/", 0.5)
    assert status is None and problem.startswith("connection failed")
