# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Replica-lag arithmetic, the idle rule and the threshold gate, free of AWS and PostgreSQL.

The rule (documented in the rds_replica_lag module too):

* lag_bytes is the WAL the source has flushed (so could have sent) that the replica has not
  replayed: source LSN - replica replay LSN, never negative. The source is read first, so a
  replica that keeps up is never shown behind WAL written after it was read.
* lag_seconds is 0 when lag_bytes is 0: a replica that has replayed everything the source sent
  is current, however old its last replayed transaction is. That age only measures how long
  the source has been idle, which is why time lag alone is wrong on an idle primary.
* otherwise lag_seconds is the age of the last transaction the replica replayed (what RDS
  reports as ReplicaLag), or, before its first replayed transaction, the source's replay_lag.
* that age overstates the lag when the WAL left to replay has no transaction in it (vacuum,
  checkpoints) or follows a long idle period, so a replica behind by both is looked at again:
  once it has replayed what the source had flushed at the first look, it is behind by at most
  the time since (bound_by_progress).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

POSTGRES = "postgres"
CLOUDWATCH = "cloudwatch"

OK = "ok"
BREACHED = "breached"
UNMEASURABLE = "unmeasurable"

_LSN = re.compile(r"^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$")
_RDS_DB_ARN = re.compile(r"^arn:aws[a-z-]*:rds:([a-z0-9-]+):\d{12}:db:([A-Za-z][A-Za-z0-9-]*)$")
_APPLICATION_NAME = re.compile(r"(?:^|\s)application_name=('(?:[^'\\]|\\.)*'|\S+)")


class LagUnknown(ValueError):
    """The replica is behind but nothing says for how long."""


# -- identities ------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class InstanceRef:
    """One RDS DB instance: its region and identifier."""

    region: str
    db_instance_identifier: str

    def __str__(self) -> str:
        return f"{self.db_instance_identifier} ({self.region})"


def parse_instance_ref(value: str, default_region: str) -> InstanceRef:
    """An identifier in default_region, or an RDS DB instance ARN, which names its own region.

    RDS lists cross-region replicas (and a cross-region replica's source) by ARN, same-region
    ones by identifier, so both forms name an instance.
    """
    match = _RDS_DB_ARN.match(value)
    if match:
        return InstanceRef(match.group(1), match.group(2))
    if value.startswith("arn:"):
        raise ValueError(f"{value!r} is not the ARN of an RDS DB instance")
    return InstanceRef(default_region, value)


# -- lag arithmetic --------------------------------------------------------------------------


def parse_lsn(text: str) -> int:
    """The byte position of a PostgreSQL LSN such as '16/B374D848'."""
    match = _LSN.match(text or "")
    if not match:
        raise ValueError(f"not a PostgreSQL LSN: {text!r}")
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16)


def lsn_diff(ahead: str, behind: str) -> int:
    """Bytes from `behind` to `ahead` (pg_wal_lsn_diff), never negative."""
    return max(0, parse_lsn(ahead) - parse_lsn(behind))


def replica_lag(
    source_lsn: str,
    replay_lsn: str,
    replay_age_seconds: float | None,
    source_replay_lag_seconds: float | None = None,
) -> tuple[float, int]:
    """(lag_seconds, lag_bytes) of a replica by the idle rule in this module's docstring."""
    lag_bytes = lsn_diff(source_lsn, replay_lsn)
    if lag_bytes == 0:
        return 0.0, 0
    age = replay_age_seconds if replay_age_seconds is not None else source_replay_lag_seconds
    if age is None:
        raise LagUnknown(
            f"{lag_bytes} bytes behind, and it has replayed no transaction since it started, so its time lag is unknown"
        )
    # The age compares the source's commit clock with the replica's: skew must not make it negative.
    return max(0.0, float(age)), lag_bytes


def bound_by_progress(
    lag_seconds: float, replay_lsn: str, replayed_at: datetime, earlier_source_lsn: str, earlier_source_at: datetime
) -> float:
    """The lag, bounded by what the replica has replayed since an earlier look at its source.

    A replica that has replayed everything the source had flushed at an earlier moment is behind
    by at most the time since then, however old its last replayed transaction is.
    """
    if parse_lsn(replay_lsn) < parse_lsn(earlier_source_lsn):
        return lag_seconds
    return min(lag_seconds, max(0.0, (replayed_at - earlier_source_at).total_seconds()))


def conninfo_application_name(conninfo: str | None) -> str | None:
    """The application_name a WAL receiver's conninfo sets, if it sets one."""
    match = _APPLICATION_NAME.search(conninfo or "")
    if not match:
        return None
    return match.group(1).strip("'")


def match_replication_row(
    rows: list[dict[str, Any]], slot_name: str | None, application_name: str | None
) -> dict[str, Any] | None:
    """The source's pg_stat_replication row for a replica, or None when it cannot be told apart.

    The replication slot identifies a replica for certain (RDS gives each replica its own);
    an application_name only when no other row shares it.
    """
    if slot_name:
        by_slot = [row for row in rows if row.get("slot_name") == slot_name]
        if len(by_slot) == 1:
            return by_slot[0]
    if application_name:
        by_name = [row for row in rows if row.get("application_name") == application_name]
        if len(by_name) == 1:
            return by_name[0]
    return None


def latest_datapoint(timestamps: list[datetime], values: list[float]) -> tuple[datetime, float] | None:
    """The newest (timestamp, value) of a GetMetricData result, whatever order it came in."""
    if not timestamps:
        return None
    return max(zip(timestamps, values, strict=True), key=lambda pair: pair[0])


def credentials_from_secret(secret_string: str | None) -> tuple[str | None, str]:
    """(username, password) from an RDS-style JSON secret; the error never quotes the secret."""
    try:
        secret = json.loads(secret_string or "")
    except ValueError:
        raise ValueError("the secret is not a JSON object with a password key") from None
    if not isinstance(secret, dict) or not isinstance(secret.get("password"), str):
        raise ValueError("the secret is not a JSON object with a password key")
    username = secret.get("username")
    return (username if isinstance(username, str) else None), secret["password"]


# -- the gate --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    max_lag_seconds: float
    max_lag_bytes: int | None = None


@dataclass
class Sample:
    """What one measurement found for one replica; `error` set means it could not be measured."""

    replica: InstanceRef
    source: InstanceRef
    measured_by: str | None = None
    lag_seconds: float | None = None
    lag_bytes: int | None = None
    receive_lag_bytes: int | None = None
    measured_at: datetime | None = None
    replay_lsn: str | None = None
    replay_paused: bool | None = None
    wal_receiver_status: str | None = None
    write_lag_seconds: float | None = None
    flush_lag_seconds: float | None = None
    replay_lag_seconds: float | None = None
    replication_status: str | None = None
    replication_error: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def assess(sample: Sample, thresholds: Thresholds) -> tuple[str, list[str]]:
    """(status, reasons): ok, breached (with how far over) or unmeasurable (with why)."""
    if sample.error:
        return UNMEASURABLE, [sample.error]
    if sample.lag_seconds is None:
        return UNMEASURABLE, ["no lag was measured"]
    if thresholds.max_lag_bytes is not None and sample.lag_bytes is None:
        return UNMEASURABLE, [f"max_lag_bytes is set but {sample.measured_by} does not measure byte lag per replica"]
    reasons = []
    if sample.lag_seconds > thresholds.max_lag_seconds:
        over = sample.lag_seconds - thresholds.max_lag_seconds
        reasons.append(
            f"lag {format_seconds(sample.lag_seconds)} is {format_seconds(over)} over "
            f"{format_seconds(thresholds.max_lag_seconds)}"
        )
    max_bytes = thresholds.max_lag_bytes
    if max_bytes is not None and sample.lag_bytes is not None and sample.lag_bytes > max_bytes:
        reasons.append(f"lag {sample.lag_bytes} bytes is {sample.lag_bytes - max_bytes} bytes over {max_bytes} bytes")
    if sample.replication_error:
        reasons.append(sample.replication_error)
    return (BREACHED, reasons) if reasons else (OK, [])


def format_seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds:.0f} s"


def to_result(sample: Sample, status: str, reasons: list[str], now: datetime) -> dict[str, Any]:
    """One entry of the module's `replicas` return value."""
    age = None
    if sample.measured_at is not None:
        age = round(max(0.0, (now - sample.measured_at).total_seconds()), 3)
    return {
        "db_instance_identifier": sample.replica.db_instance_identifier,
        "region": sample.replica.region,
        "source_db_instance_identifier": sample.source.db_instance_identifier,
        "source_region": sample.source.region,
        "status": status,
        "lag_seconds": _round(sample.lag_seconds),
        "lag_bytes": sample.lag_bytes,
        "receive_lag_bytes": sample.receive_lag_bytes,
        "measured_by": sample.measured_by,
        "measured_at": sample.measured_at.isoformat(timespec="milliseconds") if sample.measured_at else None,
        "measurement_age_seconds": age,
        "replay_paused": sample.replay_paused,
        "wal_receiver_status": sample.wal_receiver_status,
        "write_lag_seconds": _round(sample.write_lag_seconds),
        "flush_lag_seconds": _round(sample.flush_lag_seconds),
        "replay_lag_seconds": _round(sample.replay_lag_seconds),
        "replication_status": sample.replication_status,
        "message": "; ".join([*reasons, *sample.notes]),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def worst(results: list[dict[str, Any]], key: str) -> float | int | None:
    values = [result[key] for result in results if result[key] is not None]
    return max(values) if values else None


def summarize(results: list[dict[str, Any]], thresholds: Thresholds) -> str:
    """One line for the operator: the verdict, then every replica that fails it and why.

    Replicas that cannot be measured for the same reason (a source that refuses the
    credentials, say) are named together under it instead of repeating it.
    """
    limit = format_seconds(thresholds.max_lag_seconds)
    if thresholds.max_lag_bytes is not None:
        limit += f" and {thresholds.max_lag_bytes} bytes"
    breached = [r for r in results if r["status"] == BREACHED]
    unmeasurable = [r for r in results if r["status"] == UNMEASURABLE]
    if not breached and not unmeasurable:
        worst_seconds = worst(results, "lag_seconds") or 0.0
        return f"all {len(results)} replicas within {limit}: worst lag {format_seconds(worst_seconds)}"
    parts = []
    if breached:
        parts.append(
            f"{len(breached)} of {len(results)} replicas over {limit}: "
            + "; ".join(f"{_name(r)} {r['message']}" for r in breached)
        )
    by_reason: dict[str, list[str]] = {}
    for result in unmeasurable:
        by_reason.setdefault(result["message"], []).append(_name(result))
    for reason, names in by_reason.items():
        parts.append(f"cannot measure {', '.join(names)}: {reason}")
    return "; ".join(parts)


def _name(result: dict[str, Any]) -> str:
    return f"{result['db_instance_identifier']} ({result['region']})"


def next_delay(attempt: int, remaining: float, first: float = 1.0, factor: float = 2.0, cap: float = 10.0) -> float:
    """Seconds to sleep before poll number attempt + 1: exponential, capped, never past the deadline."""
    growth = first * factor ** min(attempt, 32)  # bounded: a long wait must not overflow the float
    return max(0.0, min(growth, cap, remaining))
