"""e2e_journey against a small probe API on loopback: the whole journey, a failing write still cleaned
up, a probe that will not go, nothing answering, check mode, bad input."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import e2e_journey


class ProbeApi(ThreadingHTTPServer):
    """The app's /api/e2e/probes, in memory; `fail` maps a method to the status it answers instead."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ProbeHandler)
        self.probes: dict[str, str] = {}
        self.fail: dict[str, int] = {}
        self.requests: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ProbeHandler(BaseHTTPRequestHandler):
    server: ProbeApi

    def log_message(self, *args: Any) -> None:
        pass

    def answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_probe(self) -> None:
        self.server.requests.append((self.command, self.path))
        if self.command in self.server.fail:
            return self.answer(self.server.fail[self.command], {"error": "injected"})
        probe_id = self.path.rsplit("/", 1)[1]
        if self.command == "POST":
            probe = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            self.server.probes[probe["id"]] = probe["value"]
            return self.answer(201, {"id": probe["id"]})
        if self.command == "DELETE":
            return self.answer(200, {"deleted": int(self.server.probes.pop(probe_id, None) is not None)})
        value = self.server.probes.get(probe_id)
        return self.answer(200 if value else 404, {"id": probe_id, "database": value, "cache": value})

    do_GET = do_POST = do_DELETE = handle_probe


@pytest.fixture
def api() -> Iterator[ProbeApi]:
    server = ProbeApi()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def run(capsys, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        e2e_journey.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def test_the_journey_writes_reads_back_deletes_and_leaves_nothing(capsys, api: ProbeApi) -> None:
    result = run(capsys, url=api.url + "/", reads=3)
    assert [(s["step"], s["status"]) for s in result["steps"]] == [
        ("write", 201), ("read", 200), ("read", 200), ("read", 200), ("delete", 200), ("gone", 404)
    ]  # fmt: skip
    assert {s["database"] for s in result["steps"] if s["step"] == "read"} == {result["value"]}
    assert all(s["ms"] > 0 for s in result["steps"])
    assert result["cleaned_up"] is True and result["changed"] is False
    assert result["probe_id"].startswith("e2e-") and api.probes == {}


def test_a_failing_write_is_still_cleaned_up(capsys, api: ProbeApi) -> None:
    api.fail["POST"] = 500
    result = run(capsys, url=api.url, reads=3, probe_id="e2e-fixed-id")
    assert [s["step"] for s in result["steps"]] == ["write", "delete", "gone"]
    assert result["steps"][0]["error"] == "injected"
    assert ("DELETE", "/api/e2e/probes/e2e-fixed-id") in api.requests


def test_a_probe_that_will_not_go_is_reported_as_a_change(capsys, api: ProbeApi) -> None:
    api.fail["DELETE"] = 503
    result = run(capsys, url=api.url, reads=1)
    assert result["cleaned_up"] is False and result["changed"] is True
    assert list(api.probes) == [result["probe_id"]]


def test_nothing_answering_is_a_fact_not_a_failure(capsys, api: ProbeApi) -> None:
    url = api.url
    api.shutdown()
    api.server_close()
    result = run(capsys, url=url, reads=2, timeout=2)
    assert [s["status"] for s in result["steps"]] == [None, None, None]
    assert all(s["error"] for s in result["steps"])


def test_check_mode_writes_nothing_and_only_reads(capsys, api: ProbeApi) -> None:
    result = run(capsys, check_mode=True, url=api.url, reads=2)
    assert {method for method, _ in api.requests} == {"GET"}
    assert [(s["step"], s["status"]) for s in result["steps"]] == [("read", 404), ("read", 404)]
    assert result["value"] is None and result["changed"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [({"probe_id": "short"}, "probe_id 'short' must be 8 to 64"), ({"reads": 0}, "reads must be at least 1")],
)
def test_bad_input_is_refused_naming_it(capsys, api: ProbeApi, args: dict[str, Any], message: str) -> None:
    result = run(capsys, url=api.url, **args)
    assert result["failed"] and message in result["msg"]
    assert api.requests == []
