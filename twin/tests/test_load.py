"""SteadyLoad against a small server on loopback: its rate, its bounds, what it counts as failed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from twin.load import SteadyLoad, is_loopback


class Answers(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/health"


class Handler(BaseHTTPRequestHandler):
    server: Answers

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[Answers]:
    answers = Answers()
    threading.Thread(target=answers.serve_forever, daemon=True).start()
    yield answers
    answers.shutdown()
    answers.server_close()


def test_a_steady_load_sends_at_its_rate_and_counts_every_answer(server: Answers) -> None:
    with SteadyLoad(server.url, rate=50) as load:
        time.sleep(1)
    result = load.result
    assert 40 <= result.sent <= 60
    assert result.failed == 0 and result.statuses == {200: result.sent}
    assert len(result.latencies_ms) == result.sent
    assert result.percentile(50) <= result.percentile(95) <= result.percentile(99)


def test_answers_other_than_200_and_no_answer_are_failures(server: Answers) -> None:
    with SteadyLoad(server.url, rate=50) as load:
        time.sleep(0.3)
        server.status = 503
        time.sleep(0.3)
        server.shutdown()
        server.server_close()
        time.sleep(0.3)
    result = load.result
    assert result.statuses[200] > 0 and result.statuses[503] > 0
    assert any(isinstance(status, str) for status in result.statuses), result.statuses
    assert result.failed == result.sent - result.statuses[200]
    assert result.summary()["first_failures"][0].split()[1] == "503"


def test_the_load_stops_by_itself_at_its_bounds(server: Answers) -> None:
    with SteadyLoad(server.url, rate=100, max_requests=10) as load:
        time.sleep(0.5)
        assert load.result.sent == 10
    started = time.monotonic()
    with SteadyLoad(server.url, rate=20, max_seconds=0.5) as load:
        assert load.wait(5)
        assert time.monotonic() - started < 2
    assert 8 <= load.result.sent <= 12


@pytest.mark.parametrize(
    ("url", "loopback"),
    [("http://127.0.0.1:80/", True), ("http://localhost/", True), ("http://[::1]/", True),
     ("http://10.0.0.1/", False), ("https://wedsync.com/", False)],
)  # fmt: skip
def test_only_loopback_is_loaded(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback
    if not loopback:
        with pytest.raises(ValueError, match="loopback addresses only"):
            SteadyLoad(url)
