"""What moto lacks and the runbooks depend on, patched into moto's models in this process.

RDS: PostgreSQL instances are backed by real clusters (endpoint, credentials, promotion);
replicas report StatusInfos; promotion really detaches; cross-region replicas need no
parameter-group workaround; status transitions take configurable time.
ELBv2: target health can be set per target through the control API; new targets are ``initial``
and deregistered ones ``draining`` for configurable seconds; load balancers answer HTTP through
their listeners' default actions (the data plane a runbook smoke-tests), and the application behind
them can be told to fail by version.

Each change to moto is a point of the twin's one registry (twin.patching), declared beside its code.
"""

from __future__ import annotations

import http.client
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.cloudfront.models import cloudfront_backends
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.elbv2.models import ELBv2Backend, FakeListener, FakeLoadBalancer, FakeTargetGroup, elbv2_backends
from moto.rds.exceptions import InvalidDBInstanceStateError, RDSClientError
from moto.rds.models import DBInstance, RDSBackend, rds_backends

from twin import patching
from twin.instances import InstancePlane
from twin.patching import patch_point
from twin.postgres import PostgresPlane
from twin.redis import RedisPlane
from twin.target_health import HealthChecker

# The status RDS reports while each kind of transition runs.
TRANSITION_STATUS = {
    "creating": "creating",
    "modifying": "modifying",
    "rebooting": "rebooting",
    "promoting": "modifying",
}
# An ALB's default idle timeout: how long it waits for a target's answer.
ALB_IDLE_TIMEOUT = 60
# How long a new target stays `initial`, and a deregistered one `draining`.
TARGET_TRANSITIONS = ("target_registration", "target_deregistration")
TRANSITIONS = (*TRANSITION_STATUS, *TARGET_TRANSITIONS)

TARGET_STATES = {
    "healthy": (None, None),
    "unhealthy": ("Target.FailedHealthChecks", "Health checks failed"),
    "draining": ("Target.DeregistrationInProgress", "Target deregistration is in progress"),
    "initial": ("Elb.RegistrationInProgress", "Target registration is in progress"),
    "unused": ("Target.NotInUse", "Target group is not configured to receive traffic from the load balancer"),
    "unavailable": ("Target.HealthCheckDisabled", "Health checks are disabled"),
}


@dataclass
class FidelityState:
    """The twin's own state that moto's models consult."""

    postgres: PostgresPlane
    redis: RedisPlane
    transition_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TRANSITIONS, 0.0))
    target_health: dict[tuple[str, str], dict[str, str | None]] = field(default_factory=dict)
    # wedsync:version tag -> the HTTP status instances of that version answer with.
    app_responses: dict[str, int] = field(default_factory=dict)
    # The versions whose answer also fails the load balancer's health checks.
    failing_health_checks: set[str] = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Set where instances are hosts (the twin server); None where only the moto patches are installed.
    instances: InstancePlane | None = None
    health_checks: HealthChecker | None = None

    def set_target_health(
        self,
        target_group_arn: str,
        target_id: str,
        state: str,
        reason: str | None = None,
        description: str | None = None,
    ) -> dict[str, Any]:
        if state not in TARGET_STATES:
            raise ValueError(f"state must be one of {sorted(TARGET_STATES)}, not {state!r}")
        default_reason, default_description = TARGET_STATES[state]
        entry = {"state": state, "reason": reason or default_reason, "description": description or default_description}
        self.target_health[(target_group_arn, target_id)] = entry
        return {"target_group_arn": target_group_arn, "target_id": target_id, **entry}

    def set_transitions(self, seconds: dict[str, float]) -> dict[str, float]:
        unknown = set(seconds) - set(TRANSITIONS)
        if unknown:
            raise ValueError(f"unknown transitions {sorted(unknown)}; known: {sorted(TRANSITIONS)}")
        for name, value in seconds.items():
            if float(value) < 0:
                raise ValueError(f"{name}: seconds must be zero or more")
            self.transition_seconds[name] = float(value)
        return self.transition_seconds

    def set_app_response(self, version: str, status: int, health_check: bool = False) -> dict[str, Any]:
        if not version:
            raise ValueError("version is required")
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {status!r}")
        self.app_responses[version] = status
        if health_check and status >= 400:
            self.failing_health_checks.add(version)
        else:
            self.failing_health_checks.discard(version)
        if self.instances is not None:
            self.instances.set_fault(version, {"status": status, "health_check": version in self.failing_health_checks})
        return {"version": version, "status": status, "health_check": version in self.failing_health_checks}

    def app_response_rules(self) -> list[dict[str, Any]]:
        return [
            {"version": version, "status": status, "health_check": version in self.failing_health_checks}
            for version, status in self.app_responses.items()
        ]

    def clear_app_responses(self) -> list[Any]:
        self.app_responses.clear()
        self.failing_health_checks.clear()
        if self.instances is not None:
            self.instances.clear_faults()
        return []

    def reset(self) -> None:
        self.target_health.clear()
        self.app_responses.clear()
        self.failing_health_checks.clear()
        self.transition_seconds.update(dict.fromkeys(TRANSITIONS, 0.0))
        self.postgres.delete_all()
        self.redis.delete_all()


_installed: dict[str, FidelityState] = {}


def state() -> FidelityState:
    return _installed["state"]


def redis_plane() -> RedisPlane | None:
    """The servers behind ElastiCache groups; none where only the moto patches are installed (unit tests)."""
    current = _installed.get("state")
    return current.redis if current else None


def install(fidelity: FidelityState) -> None:
    """Install every patch point (once per process); later calls only swap the state they consult."""
    patching.install()
    _installed["state"] = fidelity


# -- RDS -------------------------------------------------------------------------------------


def _is_postgres(db: DBInstance) -> bool:
    return str(db.engine).startswith("postgres")


def begin_transition(db: DBInstance, name: str) -> None:
    seconds = state().transition_seconds[name]
    db.__dict__["_twin_transition"] = (TRANSITION_STATUS[name], time.monotonic() + seconds) if seconds else None


def _status_get(db: DBInstance) -> str:
    transition = db.__dict__.get("_twin_transition")
    if transition and time.monotonic() < transition[1]:
        return str(transition[0])
    return str(db.__dict__.get("_twin_status", "available"))


def _status_set(db: DBInstance, value: str) -> None:
    db.__dict__["_twin_status"] = value


patch_point(
    "moto.rds.models.DBInstance.status",
    kind="add",
    why="moto keeps status as a plain attribute; the twin reports a transition's status while it lasts",
)(property(_status_get, _status_set))


@patch_point(
    "moto.rds.models.DBInstance.address",
    kind="replace",
    params="self",
    why="an instance backed by a real PostgreSQL cluster is reached on loopback",
)
@property
def _address(db: DBInstance) -> str:
    if state().postgres.find(db.region, db.db_instance_identifier):
        return "127.0.0.1"
    return f"{db.db_instance_identifier}.aaaaaaaaaa.{db.region}.rds.amazonaws.com"


@patch_point(
    "moto.rds.models.DBInstance.status_infos",
    kind="add",
    why="a replica reports replicating, or error when its standby is not streaming",
)
@property
def _status_infos(db: DBInstance) -> list[dict[str, Any]] | None:
    if not db.is_replica:
        return None
    cluster = state().postgres.find(db.region, db.db_instance_identifier)
    lag = cluster.lag if cluster else {}
    if lag and (lag.get("error") or not lag.get("streaming")):
        message = lag.get("error") or "Replication has stopped: the replica is not streaming from its source"
        return [{"StatusType": "read replication", "Normal": False, "Status": "error", "Message": message}]
    return [{"StatusType": "read replication", "Normal": True, "Status": "replicating"}]


@patch_point(
    "moto.rds.models.DBInstance.remove_replica",
    kind="replace",
    params="self, replica",
    why="moto removes a replica by name only; a cross-region one is listed by ARN",
)
def _remove_replica(source: DBInstance, replica: DBInstance) -> None:
    for reference in (replica.db_instance_identifier, replica.db_instance_arn):
        if reference in source.replicas:
            source.replicas.remove(reference)


def _split_source(backend: RDSBackend, source_id: str) -> tuple[str, str]:
    if backend.arn_regex.match(source_id):
        parts = source_id.split(":")
        return parts[3], parts[-1]
    return backend.region_name, source_id


@patch_point(
    "moto.rds.models.RDSBackend.create_db_instance",
    kind="wrap",
    params="self, db_kwargs",
    why="a PostgreSQL instance starts a real cluster and takes time to create when asked",
)
def _create_db_instance(original: Callable[..., DBInstance], self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    db = original(self, db_kwargs)
    begin_transition(db, "creating")
    if _is_postgres(db) and not db.db_cluster_identifier:
        try:
            cluster = state().postgres.create_primary(
                db.region,
                db.db_instance_identifier,
                db.master_username or "postgres",
                db_kwargs.get("master_user_password") or "",
                db.db_name,
            )
        except Exception as exc:
            self.databases.pop(db.db_instance_identifier, None)
            raise RDSClientError("InternalFailure", f"the twin could not start PostgreSQL: {exc}") from exc
        db.port = cluster.port
    return db


@patch_point(
    "moto.rds.models.RDSBackend.create_db_instance_read_replica",
    kind="wrap",
    params="self, db_kwargs",
    why="a replica of a PostgreSQL instance starts a streaming standby; a cross-region one lives in its region",
)
def _create_read_replica(
    original: Callable[..., DBInstance], self: RDSBackend, db_kwargs: dict[str, Any]
) -> DBInstance:
    source_region, source_id = _split_source(self, db_kwargs["source_db_instance_identifier"])
    source = rds_backends[self.account_id][source_region].describe_db_instances(source_id)[0]
    if source_region != self.region_name and not db_kwargs.get("db_parameter_group_name"):
        # A cross-region replica gets the target region's default group unless told otherwise.
        db_kwargs["db_parameter_group_name"] = source.default_db_parameter_group_details()[1]
    replica = original(self, db_kwargs)
    if not replica.availability_zone.startswith(self.region_name):
        # moto copies the source's placement; a replica lives in its own region.
        replica.availability_zone = f"{self.region_name}a"
        if not db_kwargs.get("vpc_security_group_ids"):
            ec2 = ec2_backends[self.account_id][self.region_name]
            replica.vpc_security_group_ids = [ec2.get_default_security_group(ec2.default_vpc.id).id]
    replica.__dict__["_twin_transition"] = None
    replica.status = "available"
    begin_transition(replica, "creating")
    plane = state().postgres
    if plane.find(source_region, source_id):
        try:
            cluster = plane.create_standby(self.region_name, replica.db_instance_identifier, source_region, source_id)
        except Exception as exc:
            self.databases.pop(replica.db_instance_identifier, None)
            _remove_replica(source, replica)
            raise RDSClientError("InternalFailure", f"the twin could not start the standby: {exc}") from exc
        replica.port = cluster.port
    return replica


@patch_point(
    "moto.rds.models.RDSBackend.promote_read_replica",
    kind="replace",
    params="self, db_kwargs",
    why="promotion detaches the replica from its source, in the API and in its cluster",
)
def _promote_read_replica(self: RDSBackend, db_kwargs: dict[str, Any]) -> DBInstance:
    db = self.describe_db_instances(db_kwargs["db_instance_identifier"])[0]
    if not db.is_replica:
        raise InvalidDBInstanceStateError(db.db_instance_identifier, "promote")
    detach_replica(self, db)
    db.update(**db_kwargs)
    begin_transition(db, "promoting")
    return db


def detach_replica(backend: RDSBackend, db: DBInstance) -> None:
    """Make a replica standalone in the model and, for PostgreSQL, in its cluster."""
    source_region, source_id = _split_source(backend, db.source_db_instance_identifier or "")
    source = rds_backends[backend.account_id][source_region].databases.get(source_id)
    if source is not None:
        _remove_replica(source, db)
    db.is_replica = False
    db.source_db_instance_identifier = None
    if state().postgres.find(db.region, db.db_instance_identifier):
        state().postgres.promote(db.region, db.db_instance_identifier)


@patch_point(
    "moto.rds.models.RDSBackend.delete_db_instance",
    kind="wrap",
    params="self, db_instance_identifier, ...",
    why="deleting removes the cluster and, as RDS does, promotes the deleted source's replicas",
)
def _delete_db_instance(
    original: Callable[..., DBInstance], self: RDSBackend, db_instance_identifier: str, *args: Any, **kwargs: Any
) -> DBInstance:
    existing = self.databases.get(db_instance_identifier)
    if existing is not None and existing.is_replica:
        # moto removes a cross-region replica from its source by name only; do it here.
        source_region, source_id = _split_source(self, existing.source_db_instance_identifier or "")
        source = rds_backends[self.account_id][source_region].databases.get(source_id)
        if source is not None:
            _remove_replica(source, existing)
        existing.is_replica = False
    db = original(self, db_instance_identifier, *args, **kwargs)
    # RDS promotes the replicas of a deleted source to standalone instances.
    for reference in list(db.replicas):
        region, replica_id = _split_source(self, reference)
        replica = rds_backends[self.account_id][region].databases.get(replica_id)
        if replica is not None:
            detach_replica(rds_backends[self.account_id][region], replica)
    state().postgres.delete(db.region, db_instance_identifier)
    return db


@patch_point(
    "moto.rds.models.RDSBackend.reboot_db_instance",
    kind="wrap",
    params="self, db_instance_identifier, ...",
    why="rebooting restarts the instance's cluster and takes time when asked",
)
def _reboot_db_instance(
    original: Callable[..., DBInstance], self: RDSBackend, db_instance_identifier: str, *args: Any, **kwargs: Any
) -> DBInstance:
    db = original(self, db_instance_identifier, *args, **kwargs)
    if state().postgres.find(db.region, db.db_instance_identifier):
        state().postgres.restart(db.region, db.db_instance_identifier)
    begin_transition(db, "rebooting")
    return db


@patch_point(
    "moto.rds.models.RDSBackend.modify_db_instance",
    kind="wrap",
    params="self, db_instance_identifier, db_kwargs",
    why="a new master password is set on the cluster; modifying takes time when asked",
)
def _modify_db_instance(
    original: Callable[..., DBInstance], self: RDSBackend, db_instance_identifier: str, db_kwargs: dict[str, Any]
) -> DBInstance:
    password = db_kwargs.get("master_user_password")
    db = original(self, db_instance_identifier, db_kwargs)
    if password and state().postgres.find(db.region, db.db_instance_identifier):
        state().postgres.set_password(db.region, db.db_instance_identifier, db.master_username, password)
    begin_transition(db, "modifying")
    return db


def rds_instances() -> list[tuple[str, DBInstance]]:
    """Every RDS instance the twin holds, with its region."""
    found = []
    for region, backend in rds_backends[DEFAULT_ACCOUNT_ID].items():
        found.extend((region, db) for db in list(backend.databases.values()))
    return found


# -- ELBv2 -----------------------------------------------------------------------------------


@patch_point(
    "moto.elbv2.models.FakeTargetGroup.health_for",
    kind="wrap",
    params="self, target, ec2_backend",
    why="health set through the control API, registration and deregistration in progress, failing releases",
)
def _health_for(original: Callable[..., Any], self: FakeTargetGroup, target: dict[str, Any], ec2_backend: Any) -> Any:
    health = original(self, target, ec2_backend)
    entry = _health_entry(self, target["Id"], health.status)
    entry = entry or _failed_check(target["Id"], health.status, ec2_backend)
    if entry:
        health.status = entry["state"]
        health.reason = entry["reason"]
        health.description = entry["description"]
    return health


def _health_entry(group: FakeTargetGroup, target_id: str, status: str) -> dict[str, str | None] | None:
    """What the twin reports instead of moto's health: an override, else what the health checks of a
    target with a host found, else a transition in progress."""
    if target_id in group.targets:
        override = state().target_health.get((group.arn, target_id))
        if override:
            return override
        checked = _checked(group, target_id, status)
        if checked is not None:
            return checked
        if status == "healthy" and _in_transition(group, target_id, "target_registration"):
            return _target_entry("initial")
    elif target_id in group.deregistered_targets and _in_transition(group, target_id, "target_deregistration"):
        return _target_entry("draining")
    return None


def _checked(group: FakeTargetGroup, target_id: str, status: str) -> dict[str, str | None] | None:
    """The standing the real health checks give a target whose instance is a host; None otherwise."""
    checker = state().health_checks
    standing = checker.state_of(group.arn, target_id) if checker is not None and status == "healthy" else None
    if standing is None:
        return None
    return {"state": standing.state, "reason": standing.reason, "description": standing.description}


def _failed_check(target_id: str, status: str, ec2_backend: Any) -> dict[str, str | None] | None:
    """An instance whose release answers its health check with an error is unhealthy, as the ALB finds it."""
    twin = state()
    if status != "healthy" or not twin.failing_health_checks:
        return None
    if twin.health_checks is not None and twin.health_checks.has_host(target_id):
        return None  # its own health checks found what its fault file makes it answer
    version = ec2_backend.tags.get(target_id, {}).get("wedsync:version")
    if version not in twin.failing_health_checks:
        return None
    code = twin.app_responses[version]
    return {
        "state": "unhealthy",
        "reason": "Target.ResponseCodeMismatch",
        "description": f"Health checks failed with these codes: [{code}]",
    }


def _target_entry(state_name: str) -> dict[str, str | None]:
    reason, description = TARGET_STATES[state_name]
    return {"state": state_name, "reason": reason, "description": description}


def _since(group: FakeTargetGroup, transition: str) -> dict[str, float]:
    """When each target of the group last began `transition` (monotonic seconds)."""
    return group.__dict__.setdefault(f"_twin_{transition}", {})


def _in_transition(group: FakeTargetGroup, target_id: str, transition: str) -> bool:
    began = _since(group, transition).get(target_id)
    return began is not None and time.monotonic() - began < state().transition_seconds[transition]


@patch_point(
    "moto.elbv2.models.FakeTargetGroup.register",
    kind="wrap",
    params="self, targets",
    why="when each target joined, for the registration transition",
)
def _register(original: Callable[..., None], self: FakeTargetGroup, targets: list[dict[str, Any]]) -> None:
    joining = {t["Id"] for t in targets if t["Id"] not in self.targets}
    original(self, targets)
    now = time.monotonic()
    # Registering a target already registered changes nothing, on AWS too.
    _since(self, "target_registration").update({t: now for t in joining if t in self.targets})


@patch_point(
    "moto.elbv2.models.FakeTargetGroup.deregister",
    kind="wrap",
    params="self, targets",
    why="when each target left, for the deregistration transition",
)
def _deregister(original: Callable[..., None], self: FakeTargetGroup, targets: list[dict[str, Any]]) -> None:
    original(self, targets)
    now = time.monotonic()
    _since(self, "target_deregistration").update({t["Id"]: now for t in targets})


@patch_point(
    "moto.elbv2.models.ELBv2Backend.describe_target_health",
    kind="wrap",
    params="self, target_group_arn, targets",
    why="draining targets are listed until their deregistration delay is over",
)
def _describe_target_health(
    original: Callable[..., Any], self: ELBv2Backend, target_group_arn: str, targets: list[dict[str, Any]]
) -> Any:
    group = self.target_groups.get(target_group_arn)
    if not targets and group is not None:
        draining = [
            t for t_id, t in group.deregistered_targets.items() if _in_transition(group, t_id, "target_deregistration")
        ]
        targets = list(group.targets.values()) + draining
    return original(self, target_group_arn, targets)


# -- the ALB data plane --------------------------------------------------------------------------


@dataclass
class HttpAnswer:
    """What a load balancer answers one HTTP request with."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


class AlbNotFound(LookupError):
    """No load balancer of that name in the region, or no listener on that port."""


@dataclass(frozen=True)
class HttpRequest:
    """One request on the data plane, as the viewer sent it."""

    path: str = "/"
    query: str = ""
    method: str = "GET"
    body: bytes = b""
    content_type: str | None = None


def alb_request(region: str, load_balancer_name: str, port: int, request: HttpRequest) -> HttpAnswer:
    """Answer a request to a load balancer's listener from its default actions, as the ALB would."""
    try:
        backend = elbv2_backends[DEFAULT_ACCOUNT_ID][region]
    except KeyError:
        raise AlbNotFound(f"no region {region}") from None
    balancer = next((lb for lb in backend.load_balancers.values() if lb.name == load_balancer_name), None)
    if balancer is None:
        raise AlbNotFound(f"no load balancer {load_balancer_name} in {region}")
    listener = next((li for li in balancer.listeners.values() if str(li.port) == str(port)), None)
    if listener is None:
        raise AlbNotFound(f"load balancer {load_balancer_name} has no listener on port {port}")
    # The terminal action is the last one; authenticate actions come before it.
    action = sorted(listener.default_actions, key=lambda a: int(a.data.get("Order", 0)))[-1].data
    if action["Type"] == "redirect":
        return _redirect(balancer, listener, action["RedirectConfig"], request.path, request.query)
    if action["Type"] == "fixed-response":
        config = action["FixedResponseConfig"]
        return HttpAnswer(
            int(config["StatusCode"]),
            config.get("MessageBody", ""),
            content_type=config.get("ContentType", "text/plain"),
        )
    return _forward(backend, action, request)


class EdgeNotFound(LookupError):
    """No distribution of that id, domain name or alias, or no load balancer behind its origin."""


def edge_request(domain: str, request: HttpRequest) -> HttpAnswer:
    """Answer a viewer's HTTPS request as the CloudFront distribution would: the first cache behaviour whose
    path pattern matches (the default one otherwise) must allow the method, and its origin, an ALB by its
    DNS name, answers through the listener the origin's protocol policy picks. Nothing is cached (the
    API's behaviours cache nothing) and the web ACL's rules are not evaluated."""
    distribution = _distribution(domain)
    config = distribution.distribution_config
    via = {"Via": f"1.1 {distribution.domain_name} (CloudFront)", "X-Twin-Distribution": distribution.distribution_id}
    if not config.Enabled:
        return HttpAnswer(403, {"status": "error", "reason": "the distribution is disabled"}, via)
    behaviour = next(
        (b for b in _cache_behaviours(config) if _path_matches(b.path_pattern, request.path)),
        config.DefaultCacheBehavior,
    )
    methods = behaviour.allowed_methods.items
    methods = next(iter(methods.values()), []) if isinstance(methods, dict) else methods
    if request.method not in ([methods] if isinstance(methods, str) else methods):
        return HttpAnswer(403, {"status": "error", "reason": f"{request.method} is not allowed on {request.path}"}, via)
    origin = next(o for o in config.Origins["Items"] if o.id == behaviour.target_origin_id)
    region, balancer = _balancer_by_dns_name(origin.domain_name)
    custom = origin.custom_origin_config
    port = int(custom.http_port if custom.origin_protocol_policy == "http-only" else custom.https_port)
    forwarded = HttpRequest(
        origin.origin_path + request.path, request.query, request.method, request.body, request.content_type
    )
    answer = alb_request(region, balancer.name, port, forwarded)
    answer.headers.update({**via, "X-Cache": "Miss from cloudfront"})
    return answer


def _distribution(domain: str) -> Any:
    for distribution in cloudfront_backends[DEFAULT_ACCOUNT_ID]["global"].distributions.values():
        aliases = distribution.distribution_config.Aliases.get("Items") or []
        aliases = next(iter(aliases.values()), []) if isinstance(aliases, dict) else aliases
        if domain in (distribution.distribution_id, distribution.domain_name, *aliases):
            return distribution
    raise EdgeNotFound(f"no distribution {domain}")


def _cache_behaviours(config: Any) -> list[Any]:
    return list(config.CacheBehaviors.get("Items") or [])


def _path_matches(pattern: str, path: str) -> bool:
    """CloudFront's path patterns: `*` any run of characters, `?` one; case-sensitive; the leading / optional."""
    expression = re.escape("/" + pattern.lstrip("/")).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(expression, path) is not None


def _balancer_by_dns_name(dns_name: str) -> tuple[str, FakeLoadBalancer]:
    for region, backend in elbv2_backends[DEFAULT_ACCOUNT_ID].items():
        for balancer in backend.load_balancers.values():
            if balancer.dns_name == dns_name:
                return region, balancer
    raise EdgeNotFound(f"the distribution's origin {dns_name} is no load balancer")


def _redirect(
    balancer: FakeLoadBalancer, listener: FakeListener, config: dict[str, Any], path: str, query: str
) -> HttpAnswer:
    protocol = config.get("Protocol", "#{protocol}").replace("#{protocol}", listener.protocol).lower()
    values = {
        "#{protocol}": protocol,
        "#{host}": balancer.dns_name,
        "#{port}": str(listener.port),
        "#{path}": path.lstrip("/"),
        "#{query}": query,
    }
    parts = {}
    for key, default in (("Host", "#{host}"), ("Port", "#{port}"), ("Path", "/#{path}"), ("Query", "#{query}")):
        parts[key] = config.get(key, default)
        for placeholder, value in values.items():
            parts[key] = parts[key].replace(placeholder, value)
    default_port = {"http": "80", "https": "443"}.get(protocol)
    netloc = parts["Host"] if parts["Port"] == default_port else f"{parts['Host']}:{parts['Port']}"
    location = f"{protocol}://{netloc}{parts['Path']}" + (f"?{parts['Query']}" if parts["Query"] else "")
    status = 302 if config.get("StatusCode") == "HTTP_302" else 301
    return HttpAnswer(status, {"status": "redirect", "location": location}, {"Location": location})


def _proxy(address: str, port: int, request: HttpRequest, headers: dict[str, str]) -> HttpAnswer:
    """The target's own answer to the request, as the load balancer passes it on; 502 or 504 as an ALB
    says when the target cannot be reached or does not answer in time."""
    connection = http.client.HTTPConnection(address, port, timeout=ALB_IDLE_TIMEOUT)
    sent = {"X-Forwarded-Proto": "https", **({"Content-Type": request.content_type} if request.content_type else {})}
    try:
        target = request.path + (f"?{request.query}" if request.query else "")
        connection.request(request.method, target, body=request.body or None, headers=sent)
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        content_type = response.getheader("Content-Type", "text/plain")
        return HttpAnswer(response.status, body, headers, content_type=content_type)
    except TimeoutError:
        return HttpAnswer(504, {"status": "error", "reason": "the target did not answer in time"}, headers)
    except (OSError, http.client.HTTPException) as error:
        return HttpAnswer(502, {"status": "error", "reason": f"the target could not be reached: {error}"}, headers)
    finally:
        connection.close()


def _forward(backend: ELBv2Backend, action: dict[str, Any], request: HttpRequest) -> HttpAnswer:
    weighted = [
        (g["TargetGroupArn"], int(g.get("Weight", 1))) for g in action.get("ForwardConfig", {}).get("TargetGroups", [])
    ] or [(action["TargetGroupArn"], 1)]
    weighted = [(arn, weight) for arn, weight in weighted if weight > 0]
    if not weighted:
        return HttpAnswer(
            503, {"status": "unavailable", "target_group": None, "reason": "every target group has weight 0"}
        )
    group = backend.target_groups[random.choices([a for a, _ in weighted], [w for _, w in weighted])[0]]
    headers = {"X-Twin-Target-Group": group.name}
    healthy = [t["Id"] for t in group.targets.values() if group.health_for(t, backend.ec2_backend).status == "healthy"]
    if not healthy:
        return HttpAnswer(
            503, {"status": "unavailable", "target_group": group.name, "reason": "no healthy target"}, headers
        )
    target = random.choice(healthy)
    headers["X-Twin-Target"] = target
    address = state().instances.address(target) if state().instances is not None else None
    if address is not None:
        return _proxy(address, int(group.targets[target].get("Port") or group.port), request, headers)
    version = backend.ec2_backend.tags.get(target, {}).get("wedsync:version")
    body = {
        "status": "ok",
        "path": request.path,
        "target_group": group.name,
        "color": backend.tagging_service.get_tag_dict_for_resource(group.arn).get("wedsync:color"),
        "target": target,
        "version": version,
    }
    failing = state().app_responses.get(version) if version is not None else None
    if failing is not None:
        return HttpAnswer(failing, {**body, "status": "error"}, headers)
    return HttpAnswer(200, body, headers)
