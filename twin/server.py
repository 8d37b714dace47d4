"""The twin's AWS endpoint: moto, our fidelity layer, fault injection and the control API.

One loopback port serves both: ``/_twin/...`` is the control API (JSON), everything else is AWS.
``/_twin/alb/...`` is the load balancers' data plane: HTTP answered through a listener, any method;
``/_twin/edge/...`` CloudFront's, in front of them.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from twin import fidelity
from twin.ca import TwinCA
from twin.faults import FaultInjector
from twin.instances import InstancePlane
from twin.postgres import PostgresPlane, PostgresPlaneError
from twin.redis import RedisPlane, RedisPlaneError
from twin.target_health import HealthChecker

CONTROL_PREFIX = "/_twin"
ALB_PATH = re.compile(r"/alb/(?P<name>[^/]+)/(?P<port>\d+)(?P<path>/.*)?")
EDGE_PATH = re.compile(r"/edge/(?P<domain>[^/]+)(?P<path>/.*)?")
LOG = logging.getLogger("twin")


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Twin:
    """Everything the twin process holds, and the WSGI application over it."""

    def __init__(self, state_dir: Path, metrics_interval: float = 5.0, instance_hosts: bool = False) -> None:
        self.state_dir = state_dir
        self.endpoint_url = ""
        self.started_at = time.time()
        self.postgres = PostgresPlane(state_dir / "pg")
        # The CA exists while the twin is up, so the bundle the env file names is there to verify with.
        self.ca = TwinCA(state_dir / "ca")
        self.ca.ensure()
        self.redis = RedisPlane(state_dir / "redis", self.ca)
        self.fidelity = fidelity.FidelityState(self.postgres, self.redis)
        if instance_hosts:
            self.fidelity.instances = InstancePlane(state_dir / "instances", self.ca, lambda: self.endpoint_url)
            self.fidelity.health_checks = HealthChecker(
                self.fidelity.instances.is_host, self.fidelity.instances.address
            )
        fidelity.install(self.fidelity)
        self.faults = FaultInjector()
        self.metrics_interval = metrics_interval
        self._aws = self.faults.middleware(DomainDispatcherApplication(create_backend_app))
        self._stop = threading.Event()
        self._publish_lock = threading.Lock()
        self._routes = self._route_table()

    # -- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return self._control(environ, start_response)
        return self._aws(environ, start_response)

    def _control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        parts = [p for p in request.path[len(CONTROL_PREFIX) :].split("/") if p]
        if parts[:1] == ["alb"]:
            return _alb(request)(environ, start_response)
        if parts[:1] == ["edge"]:
            return _edge(request)(environ, start_response)
        try:
            # The control API speaks only JSON: a body is read as JSON whatever its Content-Type says.
            body = request.get_json(force=True, silent=True) or {}
            payload = self._dispatch(request.method, parts, body)
            response = Response(json.dumps(payload, default=str), status=200, mimetype="application/json")
        except ControlError as exc:
            response = _error(exc.status, str(exc))
        except (ValueError, KeyError, PostgresPlaneError, RedisPlaneError) as exc:
            response = _error(HTTPStatus.BAD_REQUEST, str(exc).strip("'\""))
        return response(environ, start_response)

    def _dispatch(self, method: str, parts: list[str], body: dict[str, Any]) -> Any:
        for (route_method, pattern), handler in self._routes.items():
            if route_method == method and _match(pattern, parts):
                args = [p for p, want in zip(parts, pattern, strict=True) if want.startswith("{")]
                return handler(*args, body)
        raise ControlError(HTTPStatus.NOT_FOUND, f"no control endpoint {method} {CONTROL_PREFIX}/{'/'.join(parts)}")

    def _route_table(self) -> dict[tuple[str, tuple[str, ...]], Callable[..., Any]]:
        return {
            ("GET", ("health",)): lambda _b: self.health(),
            ("POST", ("reset",)): lambda _b: self.reset(),
            ("GET", ("faults",)): lambda _b: self.faults.rules(),
            ("POST", ("faults",)): lambda b: vars(self.faults.add(b)),
            ("DELETE", ("faults",)): lambda _b: self.faults.clear() or [],
            ("GET", ("target-health",)): lambda _b: self._target_health(),
            ("POST", ("target-health",)): lambda b: self.fidelity.set_target_health(
                b["target_group_arn"], b["target_id"], b["state"], b.get("reason"), b.get("description")
            ),
            ("DELETE", ("target-health",)): lambda _b: self.fidelity.target_health.clear() or [],
            ("GET", ("transitions",)): lambda _b: self.fidelity.transition_seconds,
            ("PUT", ("transitions",)): self.fidelity.set_transitions,
            # The first name, from when only RDS had transitions.
            ("GET", ("rds", "transitions")): lambda _b: self.fidelity.transition_seconds,
            ("PUT", ("rds", "transitions")): self.fidelity.set_transitions,
            ("GET", ("app-responses",)): lambda _b: self.fidelity.app_response_rules(),
            ("POST", ("app-responses",)): lambda b: self.fidelity.set_app_response(
                b["version"], b["status"], bool(b.get("health_check", False))
            ),
            ("DELETE", ("app-responses",)): lambda _b: self.fidelity.clear_app_responses(),
            ("GET", ("postgres",)): lambda _b: [c.public() for c in self.postgres.clusters.values()],
            ("POST", ("postgres", "{region}", "{id}", "pause-replay")): self._pause,
            ("POST", ("postgres", "{region}", "{id}", "resume-replay")): self._resume,
            ("GET", ("postgres", "{region}", "{id}", "lag")): lambda r, i, _b: self.postgres.measure_lag(r, i),
            ("POST", ("postgres", "{region}", "{id}", "sql")): lambda r, i, b: self.postgres.run_sql(r, i, b["sql"]),
            ("GET", ("redis",)): lambda _b: [s.public() for s in self.redis.servers.values()],
            ("GET", ("instances",)): lambda _b: self.fidelity.instances.public() if self.fidelity.instances else [],
            ("GET", ("health-checks",)): lambda _b: self._health_checks().set_scale(
                {"interval_scale": self._health_checks().interval_scale}
            ),
            ("PUT", ("health-checks",)): lambda b: self._health_checks().set_scale(b),
            ("POST", ("metrics", "publish")): lambda _b: self.publish_metrics(),
        }

    def _pause(self, region: str, identifier: str, _body: dict[str, Any]) -> dict[str, Any]:
        self.postgres.pause_replay(region, identifier)
        return {"db_instance_identifier": identifier, "region": region, "replay": "paused"}

    def _resume(self, region: str, identifier: str, _body: dict[str, Any]) -> dict[str, Any]:
        self.postgres.resume_replay(region, identifier)
        return {"db_instance_identifier": identifier, "region": region, "replay": "resumed"}

    def _health_checks(self) -> HealthChecker:
        if self.fidelity.health_checks is None:
            raise ControlError(
                HTTPStatus.CONFLICT, "instances are records in this twin, not hosts: no health checks run"
            )
        return self.fidelity.health_checks

    def _target_health(self) -> list[dict[str, Any]]:
        return [
            {"target_group_arn": arn, "target_id": target, **entry}
            for (arn, target), entry in self.fidelity.target_health.items()
        ]

    # -- operations ----------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok",
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "postgres_clusters": len(self.postgres.clusters),
            "redis_servers": len(self.redis.servers),
            "fault_rules": len(self.faults.rules()),
            "app_responses": self.fidelity.app_response_rules(),
            "metrics_interval_seconds": self.metrics_interval,
            "instance_hosts": self.fidelity.instances is not None,
        }

    def reset(self) -> dict[str, Any]:
        self.faults.clear()
        self.fidelity.reset()
        moto_api_backend.reset()
        return {"reset": True}

    def publish_metrics(self) -> list[dict[str, Any]]:
        """Feed AWS/RDS ReplicaLag, in each replica's own region, from its standby's real lag."""
        published = []
        with self._publish_lock:
            for region, db in fidelity.rds_instances():
                cluster = self.postgres.find(region, db.db_instance_identifier)
                if not db.is_replica or cluster is None or cluster.role != "standby":
                    continue
                lag = self.postgres.measure_lag(region, db.db_instance_identifier)
                if lag["seconds"] is None:
                    continue  # CloudWatch has no datapoint for a replica it cannot measure
                _put_replica_lag(region, db.db_instance_identifier, lag["seconds"])
                published.append({"region": region, "db_instance_identifier": db.db_instance_identifier, **lag})
        return published

    def run_metrics_publisher(self) -> None:
        while not self._stop.wait(self.metrics_interval):
            try:
                self.publish_metrics()
            except Exception:  # the publisher must outlive a cluster that vanished mid-sample
                LOG.exception("publishing ReplicaLag failed")

    def serve(self, host: str, port: int, ready: Callable[[int], None]) -> None:
        server = make_server(host, port, self, threaded=True)
        self.endpoint_url = f"http://{host}:{server.server_port}"
        threading.Thread(target=self.run_metrics_publisher, name="replica-lag", daemon=True).start()
        if self.fidelity.instances is not None and self.fidelity.health_checks is not None:
            threading.Thread(
                target=self.fidelity.instances.run, args=(self._stop,), name="instances", daemon=True
            ).start()
            threading.Thread(
                target=self.fidelity.health_checks.run, args=(self._stop,), name="health-checks", daemon=True
            ).start()
        ready(server.server_port)
        try:
            server.serve_forever()
        finally:
            self._stop.set()
            if self.fidelity.instances is not None:
                self.fidelity.instances.delete_all()
            self.postgres.delete_all()
            self.redis.delete_all()

    def shutdown(self) -> None:
        self._stop.set()


def _put_replica_lag(region: str, identifier: str, seconds: float) -> None:
    cloudwatch_backends[DEFAULT_ACCOUNT_ID][region].put_metric_data(
        "AWS/RDS",
        [
            {
                "MetricName": "ReplicaLag",
                "Value": seconds,
                "Unit": "Seconds",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": identifier}],
            }
        ],
    )


def _data_plane_request(request: Request, path: str | None) -> fidelity.HttpRequest:
    query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "region"])
    return fidelity.HttpRequest(path or "/", query, request.method, request.get_data(), request.content_type)


def _answer(answer: fidelity.HttpAnswer) -> Response:
    body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body)
    return Response(body, status=answer.status, headers=answer.headers, content_type=answer.content_type)


def _alb(request: Request) -> Response:
    """`/_twin/alb/<load balancer>/<port>/<path>`: the request as the listener's default actions answer it."""
    match = ALB_PATH.fullmatch(request.path[len(CONTROL_PREFIX) :])
    if match is None:
        return _error(HTTPStatus.NOT_FOUND, f"use {CONTROL_PREFIX}/alb/<load balancer name>/<listener port>/<path>")
    try:
        answer = fidelity.alb_request(
            request.args.get("region", "us-east-1"),
            match["name"],
            int(match["port"]),
            _data_plane_request(request, match["path"]),
        )
    except fidelity.AlbNotFound as exc:
        return _error(HTTPStatus.NOT_FOUND, str(exc))
    return _answer(answer)


def _edge(request: Request) -> Response:
    """`/_twin/edge/<distribution id, domain name or alias>/<path>`: the request as CloudFront answers it."""
    match = EDGE_PATH.fullmatch(request.path[len(CONTROL_PREFIX) :])
    if match is None:
        return _error(HTTPStatus.NOT_FOUND, f"use {CONTROL_PREFIX}/edge/<distribution id or alias>/<path>")
    try:
        answer = fidelity.edge_request(match["domain"], _data_plane_request(request, match["path"]))
    except (fidelity.EdgeNotFound, fidelity.AlbNotFound) as exc:
        return _error(HTTPStatus.NOT_FOUND, str(exc))
    return _answer(answer)


def _match(pattern: tuple[str, ...], parts: list[str]) -> bool:
    return len(pattern) == len(parts) and all(
        want.startswith("{") or want == got for want, got in zip(pattern, parts, strict=True)
    )


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status=status, mimetype="application/json")
