"""Target health from real HTTP health checks, as an Application Load Balancer runs them.

For every target of every target group whose instance has a host (twin.instances), a GET of the
group's health check path on its health check port (``traffic-port``: the target's own), every
``HealthCheckIntervalSeconds``, each within ``HealthCheckTimeoutSeconds``, judged by the group's
``Matcher``. A new target is ``initial`` until ``HealthyThresholdCount`` checks in a row pass, then
``healthy``; ``UnhealthyThresholdCount`` failures in a row make it ``unhealthy``, with the reason an
ALB gives (``Target.ResponseCodeMismatch``, ``Target.Timeout``, ``Target.FailedHealthChecks``).

The twin runs checks faster than the groups say (``interval_scale``, default 0.1: a 30 s interval is
3 s), so that tests need not wait minutes; thresholds, path, port and matcher are the group's own.
The control API changes the scale (``PUT /_twin/health-checks``).
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.elbv2.models import FakeTargetGroup, elbv2_backends

LOG = logging.getLogger("twin.target_health")
DEFAULT_INTERVAL_SCALE = 0.1
# No check runs more often than this, whatever the scale.
MIN_INTERVAL = 0.25


NO_ANSWER = (False, "Target.FailedHealthChecks", "Health checks failed")


@dataclass
class CheckState:
    """One target's standing in one target group."""

    state: str = "initial"
    reason: str | None = "Elb.RegistrationInProgress"
    description: str | None = "Target registration is in progress"
    passed_in_a_row: int = 0
    failed_in_a_row: int = 0
    next_check: float = 0.0


def matches(matcher: dict[str, Any] | None, status: int) -> bool:
    """Whether ``status`` is one the group's matcher accepts: ``200``, ``200,202`` or ``200-299``."""
    codes = str((matcher or {}).get("HttpCode") or "200")
    for part in codes.split(","):
        low, _, high = part.strip().partition("-")
        if low and int(low) <= status <= int(high or low):
            return True
    return False


def probe(address: str, port: int, path: str, timeout: float) -> tuple[int | None, str]:
    """GET ``path`` from ``address:port``: the status, or None and why the check could not be made."""
    connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.request("GET", path or "/", headers={"User-Agent": "ELB-HealthChecker/2.0"})
        response = connection.getresponse()
        response.read()
        return response.status, ""
    except TimeoutError:
        return None, "timeout"
    except OSError as error:
        return None, f"connection failed: {error.strerror or error}"
    except http.client.HTTPException as error:
        return None, f"bad answer: {error}"
    finally:
        connection.close()


class HealthChecker:
    """Runs the health checks of every target with a host; see the module docstring."""

    def __init__(self, is_host: Callable[[str], bool], address_of: Callable[[str], str | None]) -> None:
        self._is_host = is_host
        self._address_of = address_of
        self.interval_scale = DEFAULT_INTERVAL_SCALE
        self._states: dict[tuple[str, str], CheckState] = {}
        self._lock = threading.Lock()

    def set_scale(self, body: dict[str, Any]) -> dict[str, float]:
        scale = float(body.get("interval_scale", DEFAULT_INTERVAL_SCALE))
        if not 0 < scale <= 1:
            raise ValueError(f"interval_scale must be above 0 and at most 1, not {scale}")
        self.interval_scale = scale
        return {"interval_scale": scale}

    def has_host(self, target_id: str) -> bool:
        return self._is_host(target_id)

    def state_of(self, group_arn: str, target_id: str) -> CheckState | None:
        """The target's standing from its checks; None when its instance is not a host."""
        if not self.has_host(target_id):
            return None
        with self._lock:
            return self._states.setdefault((group_arn, target_id), CheckState())

    def forget(self, group_arn: str, target_id: str) -> None:
        """A target that leaves its group starts again from ``initial`` if it comes back."""
        with self._lock:
            self._states.pop((group_arn, target_id), None)

    @staticmethod
    def _targets() -> Iterator[tuple[FakeTargetGroup, dict[str, Any]]]:
        for backend in list(elbv2_backends[DEFAULT_ACCOUNT_ID].values()):
            for group in list(backend.target_groups.values()):
                for target in list(group.targets.values()):
                    yield group, target

    def check_due(self, now: float | None = None) -> None:
        """Run every check whose time has come."""
        now = time.monotonic() if now is None else now
        registered = set()
        for group, target in self._targets():
            registered.add((group.arn, target["Id"]))
            standing = self.state_of(group.arn, target["Id"])
            if standing is None or standing.next_check > now:
                continue
            interval = max(MIN_INTERVAL, float(group.health_check_interval_seconds) * self.interval_scale)
            timeout = min(float(group.health_check_timeout_seconds), interval)
            standing.next_check = now + interval
            # A host still booting, stopped or gone answers nothing, as an instance's address would not.
            address = self._address_of(target["Id"])
            result = self._check(group, target, address, timeout) if address else NO_ANSWER
            self._judge(group, standing, result)
        with self._lock:
            for key in set(self._states) - registered:
                del self._states[key]

    @staticmethod
    def _check(group: FakeTargetGroup, target: dict[str, Any], address: str, timeout: float) -> tuple[bool, str, str]:
        """Whether the check passed, and the reason and description an ALB gives when it did not."""
        port_setting = str(group.health_check_port or "traffic-port")
        port = int(target.get("Port") or group.port) if port_setting == "traffic-port" else int(port_setting)
        status, problem = probe(address, port, group.health_check_path or "/", timeout)
        if status is not None:
            if matches(group.matcher, status):
                return True, "", ""
            return False, "Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{status}]"
        if problem == "timeout":
            return False, "Target.Timeout", "Request timed out"
        return NO_ANSWER

    @staticmethod
    def _judge(group: FakeTargetGroup, standing: CheckState, result: tuple[bool, str, str]) -> None:
        passed, reason, description = result
        if passed:
            standing.passed_in_a_row += 1
            standing.failed_in_a_row = 0
            if standing.passed_in_a_row >= int(group.healthy_threshold_count):
                standing.state, standing.reason, standing.description = "healthy", None, None
            return
        standing.failed_in_a_row += 1
        standing.passed_in_a_row = 0
        if standing.failed_in_a_row >= int(group.unhealthy_threshold_count) or standing.state == "unhealthy":
            standing.state, standing.reason, standing.description = "unhealthy", reason, description

    def run(self, stop: threading.Event, tick: float = 0.1) -> None:
        while not stop.wait(tick):
            try:
                self.check_due()
            except RuntimeError:  # moto's dicts changed under the walk: the next tick sees them settled
                LOG.debug("target groups changed during a look", exc_info=True)
            except Exception:  # the checker must outlive one group it could not read
                LOG.exception("health checks failed to run")
