"""A bounded, steady load on the twin's data plane: what users send while a runbook changes the estate.

    with SteadyLoad(f"{control_url}/alb/wedsync-local-alb/443/api/health") as load:
        ...  # deploy, roll back
    print(load.result.summary())

GET requests at a fixed rate from a background thread (a pool of senders keeps the rate when answers
are slow), to one loopback URL only, until the block ends or a bound is reached: `max_seconds` or
`max_requests`, whichever comes first, so a load left running by a failing test stops by itself. A
request fails when it gets no answer or an answer other than 200.
"""

from __future__ import annotations

import http.client
import ipaddress
import math
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

SENDERS = 8
KEPT_FAILURES = 20


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class LoadResult:
    """What the load saw: counts, the first failures, and the latency of every answered request."""

    sent: int = 0
    failed: int = 0
    statuses: Counter[int | str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def percentile(self, pct: float) -> float | None:
        """The nearest-rank percentile of the answered requests' latencies, in milliseconds."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]

    def summary(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "failed": self.failed,
            "seconds": round(self.seconds, 1),
            "statuses": dict(self.statuses),
            **{f"p{pct}_ms": self.percentile(pct) for pct in (50, 95, 99)},
            "first_failures": self.failures[:5],
        }


class SteadyLoad:
    """GET `url` `rate` times a second until stopped, or for at most `max_seconds` and `max_requests`."""

    def __init__(
        self,
        url: str,
        rate: float = 10.0,
        max_seconds: float = 900.0,
        max_requests: int = 20_000,
        timeout: float = 10.0,
    ) -> None:
        if not is_loopback(url):
            raise ValueError(f"the load goes to loopback addresses only, not {url}")
        if rate <= 0 or max_seconds <= 0 or max_requests <= 0:
            raise ValueError("rate, max_seconds and max_requests must be above 0")
        self.url, self.rate, self.timeout = url, rate, timeout
        self.max_seconds, self.max_requests = max_seconds, max_requests
        self.result = LoadResult()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="steady-load", daemon=True)

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the load to reach one of its bounds; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def stop(self) -> LoadResult:
        """Stop sending, wait for the requests in flight, and return what the load saw."""
        self._stop.set()
        self._thread.join()
        return self.result

    def _run(self) -> None:
        started = time.monotonic()
        interval = 1.0 / self.rate
        with ThreadPoolExecutor(SENDERS, thread_name_prefix="steady-load") as senders:
            for sent in range(self.max_requests):
                due = started + sent * interval
                if self._stop.wait(max(0.0, due - time.monotonic())) or due - started > self.max_seconds:
                    break
                senders.submit(self._send)
        self.result.seconds = time.monotonic() - started

    def _send(self) -> None:
        began = time.perf_counter()
        status: int | str
        detail = ""
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as answer:
                answer.read()
                status = answer.status
        except urllib.error.HTTPError as error:
            status, detail = error.code, error.read()[:200].decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as error:
            status, detail = type(error).__name__, str(error)
        elapsed_ms = (time.perf_counter() - began) * 1000
        with self._lock:
            self.result.sent += 1
            self.result.statuses[status] += 1
            if isinstance(status, int):
                self.result.latencies_ms.append(elapsed_ms)
            if status != 200:
                self.result.failed += 1
                if len(self.result.failures) < KEPT_FAILURES:
                    self.result.failures.append(f"{time.strftime('%H:%M:%S')} {status} {detail}".strip())
