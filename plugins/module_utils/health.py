# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The deep health check's verdicts: what it read, made into findings with the seed's severities.

Pure: the health_check role reads the estate (estate_info, deep_health_info, the replica_lag role, the
live health URL) and hands it here as one mapping; each finding is what a check found, its severity
(None when all is well; severity.py has the seed's levels) and the detail an on-call engineer needs.

How severities are chosen, by the seed's definitions (P0 service down, data loss, security breach;
P1 major functionality impaired, performance degraded; P2 minor, workarounds; P3 cosmetic):
- the live site not answering, no healthy target behind the live colour, no available primary: P0;
- the cache unreachable, a lagging or broken replica, a DR replica missing or past the RPO, unhealthy
  targets in the live colour, a critical alarm, a certificate about to expire or not issued: P1;
- a replica or cache node missing of those the inventory asks for, a warning alarm, a certificate
  expiring within the warning period, a secret not replicated to the DR region: P2;
- the idle colour's unhealthy targets: P3.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.severity import severity_rank

# A primary in one of these states still serves; anything else but "available" does not.
SERVING_DB_STATUSES = frozenset(
    {"backing-up", "modifying", "maintenance", "configuring-enhanced-monitoring", "configuring-log-exports",
     "storage-optimization", "upgrading", "renaming"}
)  # fmt: skip
CERTIFICATE_URGENT_DAYS = 7
RPO_SECONDS = 3600.0
# The read replication states RDS reports (StatusInfos) for a replica that no longer replicates.
BROKEN_REPLICATION = frozenset({"error", "stopped", "terminated"})


def finding(check: str, text: str, severity: str | None = None, detail: str | None = None) -> dict[str, Any]:
    return {"check": check, "finding": text, "severity": severity, "detail": detail}


def worst(findings: Iterable[Mapping[str, Any]]) -> str | None:
    """The worst severity among findings, None when all is well."""
    levels = [f["severity"] for f in findings if f["severity"]]
    return min(levels, key=severity_rank) if levels else None


def failing(findings: Iterable[Mapping[str, Any]], fail_on: Sequence[str]) -> list[Mapping[str, Any]]:
    return [f for f in findings if f["severity"] in fail_on]


def serving_findings(serving: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The live site's health URL, as ansible.builtin.uri answered it."""
    url, status = serving.get("url"), serving.get("status")
    if status == 200:
        version = (serving.get("json") or {}).get("version")
        return [finding("serving", f"{url} answers 200" + (f", release {version}" if version else ""))]
    why = f"status {status}" if status and status > 0 else (serving.get("msg") or "no answer")
    return [finding("serving", f"{url} does not answer 200", "P0", why)]


def _live_colors(load_balancer: Mapping[str, Any], port: int) -> dict[str, int]:
    """The colours the listener on port forwards to, with their weights, by target group name."""
    listener = next((li for li in load_balancer.get("listeners") or [] if li.get("port") == port), None)
    weights: dict[str, int] = {}
    for action in (listener or {}).get("default_actions") or []:
        groups = ((action.get("forward_config") or {}).get("target_groups")) or []
        if not groups and action.get("target_group_arn"):
            groups = [{"target_group_arn": action["target_group_arn"], "weight": 1}]
        for group in groups:
            weights[group["target_group_arn"]] = int(group.get("weight", 1))
    return {arn: weight for arn, weight in weights.items() if weight > 0}


def _target_states(group: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (
            t["target"]["id"],
            t["target_health"]["state"],
            t["target_health"].get("reason") or t["target_health"].get("description") or "",
        )
        for t in group.get("targets_health_description") or []
    ]


def _color_findings(color: str, group: Mapping[str, Any], live: bool) -> list[dict[str, Any]]:
    targets = _target_states(group)
    healthy = [t for t in targets if t[1] == "healthy"]
    unhealthy = [f"{tid} {state}" + (f" ({why})" if why else "") for tid, state, why in targets if state != "healthy"]
    role = "live" if live else "idle"
    if not targets:
        text = f"no target in the {role} colour {color}"
        return [finding("targets", text, "P0", "nothing serves it")] if live else [finding("targets", text)]
    text = f"{len(healthy)} of {len(targets)} targets of the {role} colour {color} healthy"
    if live and not healthy:
        return [finding("targets", text, "P0", "; ".join(unhealthy))]
    if unhealthy:
        return [finding("targets", text, "P1" if live else "P3", "; ".join(unhealthy))]
    return [finding("targets", text)]


def target_findings(load_balancing: Mapping[str, Any], port: int) -> list[dict[str, Any]]:
    """Each colour's targets; the colours the listener on port forwards to are live."""
    balancer = load_balancing.get("load_balancer")
    if not balancer:
        return [finding("targets", "the load balancer is missing", "P0")]
    live = _live_colors(balancer, port)
    if not live:
        return [finding("targets", f"the listener on port {port} forwards to no target group", "P0")]
    groups = load_balancing.get("target_groups") or {}
    return [
        f
        for color, group in sorted(groups.items())
        for f in _color_findings(color, group, group.get("target_group_arn") in live)
    ]


def database_findings(database: Mapping[str, Any]) -> list[dict[str, Any]]:
    primary = database.get("primary")
    if not primary:
        return [finding("database", "no primary database instance", "P0")]
    name, status = primary["db_instance_identifier"], primary.get("db_instance_status")
    if status == "available":
        multi_az = "Multi-AZ" if primary.get("multi_az") else "single-AZ"
        return [finding("database", f"primary {name} available, {multi_az}")]
    severity = "P2" if status in SERVING_DB_STATUSES else "P0"
    return [finding("database", f"primary {name} is {status}", severity)]


def _lag_text(replica: Mapping[str, Any]) -> str:
    lag = replica.get("lag_seconds")
    return f"{replica['db_instance_identifier']} ({replica.get('region')}) " + (
        f"lags {lag:g} s" if lag is not None else "cannot be measured"
    )


def replica_findings(
    lag: Mapping[str, Any], primary_region: str, expected: int, max_seconds: float
) -> list[dict[str, Any]]:
    """The read replicas in the primary region: lag against max_seconds, and how many against expected."""
    replicas = [r for r in lag.get("replicas") or [] if r.get("region") == primary_region]
    found = []
    for replica in replicas:
        seconds = replica.get("lag_seconds")
        ok = seconds is not None and seconds <= max_seconds and replica.get("status") == "ok"
        detail = None if ok else (replica.get("message") or f"{replica.get('status')}; at most {max_seconds:g} s")
        found.append(finding("replicas", _lag_text(replica), None if ok else "P1", detail))
    if len(replicas) < expected:
        found.append(
            finding("replicas", f"{len(replicas)} read replicas in {primary_region}, {expected} expected", "P2")
        )
    return found


def dr_replica_findings(
    lag: Mapping[str, Any], dr_region: str, max_seconds: float, rpo_seconds: float = RPO_SECONDS
) -> list[dict[str, Any]]:
    """The DR replica: missing, broken or past the RPO is P1; lagging past max_seconds within the RPO, P2."""
    replicas = [r for r in lag.get("replicas") or [] if r.get("region") == dr_region]
    if not replicas:
        return [finding("dr replica", f"no replica of the primary in {dr_region}", "P1", "the RPO is not protected")]
    found = []
    for replica in replicas:
        seconds = replica.get("lag_seconds")
        if seconds is None or replica.get("replication_status") in BROKEN_REPLICATION:
            severity, detail = "P1", replica.get("message") or f"replication {replica.get('replication_status')}"
        elif seconds > rpo_seconds:
            severity, detail = "P1", f"past the RPO of {rpo_seconds:g} s"
        elif seconds > max_seconds:
            severity, detail = "P2", f"over {max_seconds:g} s, within the RPO of {rpo_seconds:g} s"
        else:
            severity, detail = None, None
        found.append(finding("dr replica", _lag_text(replica), severity, detail))
    return found


def cache_findings(cache: Mapping[str, Any], probe: Mapping[str, Any], expected_replicas: int) -> list[dict[str, Any]]:
    """The Redis group as ElastiCache describes it, and its primary as a PING with AUTH found it."""
    group = cache.get("replication_group")
    if not group:
        return [finding("cache", "no Redis replication group", "P1")]
    name = group["replication_group_id"]
    if not probe.get("reachable"):
        return [finding("cache", f"{name} does not answer PING", "P1", probe.get("error"))]
    replicas = probe.get("connected_slaves")
    connected = f", {replicas} replicas connected" if replicas is not None else ""
    found = [finding("cache", f"{name} answers PING in {1000 * (probe.get('ping_seconds') or 0):.1f} ms{connected}")]
    if group.get("status") != "available":
        found.append(finding("cache", f"{name} is {group.get('status')}", "P2"))
    if replicas is not None and replicas < expected_replicas:
        found.append(finding("cache", f"{name} has {replicas} replicas connected, {expected_replicas} expected", "P2"))
    return found


def alarm_findings(alerting: Mapping[str, Any]) -> list[dict[str, Any]]:
    firing = [a for a in alerting.get("alarms") or [] if a.get("state_value") == "ALARM"]
    if not firing:
        return [finding("alarms", f"none of {len(alerting.get('alarms') or [])} alarms in ALARM")]
    return [
        finding("alarms", f"{a['alarm_name']} in ALARM", "P1" if "critical" in a["alarm_name"] else "P2")
        for a in firing
    ]


def _days_left(not_after: str | None, now: datetime) -> float | None:
    if not not_after:
        return None
    return (datetime.fromisoformat(not_after.replace("Z", "+00:00")) - now).total_seconds() / 86400


def certificate_findings(
    certificates: Sequence[Mapping[str, Any]], min_days: int, now: datetime
) -> list[dict[str, Any]]:
    """Expired P0, within a week or in use but not issued P1, within min_days P2."""
    found = []
    for cert in certificates:
        # Several certificates may share a domain (the load balancer's, CloudFront's): the ARN's end tells them apart.
        name = f"{cert['domain_name']} (…{cert['certificate_arn'][-8:]})"
        days = _days_left(cert.get("not_after"), now)
        if cert.get("status") != "ISSUED":
            # One nothing uses yet (a renewal, a new domain) degrades nothing.
            severity = "P1" if cert.get("in_use_by") else "P3"
            found.append(finding("certificates", f"{name} is {cert.get('status')}", severity, cert["certificate_arn"]))
        elif days is not None and days < min_days:
            severity = "P0" if days <= 0 else "P1" if days <= CERTIFICATE_URGENT_DAYS else "P2"
            found.append(finding("certificates", f"{name} expires in {max(days, 0):.0f} days", severity))
        else:
            found.append(finding("certificates", f"{name} valid for {days:.0f} days" if days else f"{name} issued"))
    return found or [finding("certificates", "no certificate in this region")]


def secret_findings(secrets: Sequence[Mapping[str, Any]], dr_region: str) -> list[dict[str, Any]]:
    """Every secret is replicated to the DR region and in sync there."""
    found = []
    for secret in secrets:
        replica = next((r for r in secret.get("replication") or [] if r.get("region") == dr_region), None)
        if replica is None:
            found.append(finding("secrets", f"{secret['name']} is not replicated to {dr_region}", "P2"))
        elif replica.get("status") != "InSync":
            found.append(
                finding("secrets", f"{secret['name']} is {replica.get('status')} in {dr_region}", "P2",
                        replica.get("status_message"))
            )  # fmt: skip
    return found or [finding("secrets", f"{len(secrets)} secrets replicated to {dr_region} and in sync")]


def deep_health_findings(read: Mapping[str, Any], now: datetime | None = None) -> list[dict[str, Any]]:
    """Every finding of the deep check, the worst first, from what the health_check role read."""
    now = now or datetime.now(UTC)
    limits = read["limits"]
    primary, lag = read["primary_estate"], read["replica_lag"]
    found = [
        *serving_findings(read["serving"]),
        *target_findings(primary["load_balancer"], limits["listener_port"]),
        *database_findings(primary["database"]),
        *replica_findings(lag, read["primary_region"], limits["database_replicas"], limits["replica_max_seconds"]),
        *dr_replica_findings(lag, read["dr_region"], limits["replica_max_seconds"]),
        *cache_findings(primary["cache"], read["deep"].get("cache") or {}, limits["cache_replicas"]),
        *alarm_findings(primary["alerting"]),
        *certificate_findings(read["deep"].get("certificates") or [], limits["certificate_min_days"], now),
        *secret_findings(read["deep"].get("secrets") or [], read["dr_region"]),
    ]
    return sorted(found, key=lambda f: severity_rank(f["severity"]))
