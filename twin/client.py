"""A small client for the twin's control API, for tests, drills and benchmarks."""

from __future__ import annotations

import json
import os
import shlex
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class TwinError(RuntimeError):
    """The control API refused a call; the message is its reason."""


def use_running_twin(env_file: str | os.PathLike[str]) -> None:
    """Point this process at the running twin (endpoint, credentials, control API) from the env file
    `twin up` writes, unless the environment already names a twin."""
    if os.environ.get("WEDSYNC_TWIN_CONTROL_URL"):
        return
    if not os.path.exists(env_file):
        raise TwinError(f"the twin is not running: `make twin-up` first (it writes {env_file})")
    with open(env_file, encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("export "):
                key, _, value = line[len("export ") :].strip().partition("=")
                os.environ[key] = shlex.split(value)[0] if value else ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A load balancer's redirect is an answer to look at, not to follow."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


class TwinClient:
    def __init__(self, control_url: str, timeout: float = 60.0) -> None:
        self.control_url = control_url.rstrip("/")
        self.timeout = timeout

    @classmethod
    def from_env(cls) -> TwinClient:
        url = os.environ.get("WEDSYNC_TWIN_CONTROL_URL")
        if not url:
            raise TwinError("WEDSYNC_TWIN_CONTROL_URL is not set: run `make twin-up` and source .twin/env")
        return cls(url)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.control_url}/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise TwinError(json.load(exc).get("error", str(exc))) from None

    # -- whole twin ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self.call("GET", "health")

    def reset(self) -> None:
        """Forget every AWS resource, fault, health override, app response and transition; remove the clusters."""
        self.call("POST", "reset")

    # -- faults --------------------------------------------------------------------------------

    def inject_fault(self, action: str, kind: str = "throttle", count: int | None = None, **options: Any) -> int:
        """Make `action` fail (throttle, error) or slow down (latency, with latency_ms).

        Options: service, region (to narrow the match), status, code, message, latency_ms.
        """
        rule = {"action": action, "kind": kind, "count": count, **options}
        return int(self.call("POST", "faults", rule)["id"])

    def faults(self) -> list[dict[str, Any]]:
        return self.call("GET", "faults")

    def clear_faults(self) -> None:
        self.call("DELETE", "faults")

    # -- ELBv2 ---------------------------------------------------------------------------------

    def set_target_health(
        self,
        target_group_arn: str,
        target_id: str,
        state: str,
        reason: str | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """healthy, unhealthy, draining, initial, unused or unavailable, as DescribeTargetHealth reports."""
        return self.call(
            "POST",
            "target-health",
            {
                "target_group_arn": target_group_arn,
                "target_id": target_id,
                "state": state,
                "reason": reason,
                "description": description,
            },
        )

    def clear_target_health(self) -> None:
        self.call("DELETE", "target-health")

    def set_health_check_scale(self, interval_scale: float) -> dict[str, float]:
        """Run every target group's health checks at ``interval_scale`` times its interval (0 < scale <= 1)."""
        return self.call("PUT", "health-checks", {"interval_scale": interval_scale})

    # -- EC2 -------------------------------------------------------------------------------------

    def instances(self) -> list[dict[str, Any]]:
        """The host standing for each instance: its address, container, release and state."""
        return self.call("GET", "instances")

    def alb_request(
        self, load_balancer_name: str, port: int, path: str = "/api/health", region: str = "us-east-1"
    ) -> tuple[int, Any]:
        """GET `path` through the load balancer's listener on `port`: the status and the body (JSON if it is)."""
        status, _, body = self.alb_answer(load_balancer_name, port, path, region)
        return status, body

    def alb_answer(
        self, load_balancer_name: str, port: int, path: str = "/api/health", region: str = "us-east-1"
    ) -> tuple[int, dict[str, str], Any]:
        """As alb_request, with the headers too (X-Twin-Target-Group and X-Twin-Target say who answered)."""
        url = (
            f"{self.control_url}/alb/{urllib.parse.quote(load_balancer_name)}/{port}/{path.lstrip('/')}"
            f"?{urllib.parse.urlencode({'region': region})}"
        )
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(url, timeout=self.timeout) as response:
                status, headers, body = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            status, headers, body = exc.code, dict(exc.headers), exc.read()
        try:
            return status, headers, json.loads(body)
        except ValueError:
            return status, headers, body.decode()

    # -- the application behind the load balancers ---------------------------------------------

    def set_app_response(self, version: str, status: int, health_check: bool = False) -> dict[str, Any]:
        """Instances tagged wedsync:version=`version` answer `status` through the load balancers.

        With `health_check`, their health checks fail too, so the load balancer finds them unhealthy.
        """
        return self.call("POST", "app-responses", {"version": version, "status": status, "health_check": health_check})

    def app_responses(self) -> list[dict[str, Any]]:
        return self.call("GET", "app-responses")

    def clear_app_responses(self) -> None:
        self.call("DELETE", "app-responses")

    def set_transition_seconds(self, **seconds: float) -> dict[str, float]:
        """How long transitions take (0: at once): RDS creating, modifying, rebooting and promoting;
        target_registration (a new target is `initial`) and target_deregistration (`draining`)."""
        return self.call("PUT", "transitions", seconds)

    # -- RDS and PostgreSQL --------------------------------------------------------------------

    def postgres(self) -> list[dict[str, Any]]:
        return self.call("GET", "postgres")

    def pause_replay(self, db_instance_identifier: str, region: str = "us-east-1") -> None:
        self.call("POST", f"postgres/{region}/{db_instance_identifier}/pause-replay")

    def resume_replay(self, db_instance_identifier: str, region: str = "us-east-1") -> None:
        self.call("POST", f"postgres/{region}/{db_instance_identifier}/resume-replay")

    def replica_lag(self, db_instance_identifier: str, region: str = "us-east-1") -> dict[str, Any]:
        return self.call("GET", f"postgres/{region}/{db_instance_identifier}/lag")

    def sql(self, db_instance_identifier: str, sql: str, region: str = "us-east-1") -> list[list[Any]]:
        """Run SQL on the instance's cluster as the internal superuser."""
        return self.call("POST", f"postgres/{region}/{db_instance_identifier}/sql", {"sql": sql})

    def publish_metrics(self) -> list[dict[str, Any]]:
        """Push ReplicaLag datapoints now instead of at the next interval."""
        return self.call("POST", "metrics/publish")

    # -- ElastiCache and Redis -----------------------------------------------------------------

    def redis(self) -> list[dict[str, Any]]:
        """The Redis server behind each replication group: region, group, port, TLS, AUTH on, pid."""
        return self.call("GET", "redis")
