# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The replica-lag probes: PostgreSQL (replay positions, both ends) and CloudWatch (AWS/RDS ReplicaLag).

rds_replica_lag gates on them; DR is to reuse them for its RPO. Each takes the RDS instances to
measure (Instance, from to_instance) and returns a replica_lag.Sample per replica; the lag rule
itself is in replica_lag.

PostgreSQL connections are psycopg2's own (connect_timeout, sslmode, read-only): no community.postgresql.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

try:
    import psycopg2

    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError:
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.wedsync.platform.plugins.module_utils._cloudwatch import get_metric_data
from ansible_collections.wedsync.platform.plugins.module_utils.replica_lag import (
    CLOUDWATCH,
    POSTGRES,
    InstanceRef,
    LagUnknown,
    Sample,
    bound_by_progress,
    conninfo_application_name,
    latest_datapoint,
    lsn_diff,
    match_replication_row,
    parse_instance_ref,
    replica_lag,
)

# A replica found behind by time and bytes is looked at again this much later (see bound_by_progress).
SECOND_LOOK_SECONDS = 0.25
APPLICATION_NAME = "wedsync.platform.rds_replica_lag"

SOURCE_SQL = """
SELECT CASE WHEN pg_is_in_recovery()
            THEN GREATEST(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
            ELSE pg_current_wal_flush_lsn() END::text,
       clock_timestamp()
"""

REPLICATION_ROWS_SQL = """
SELECT r.application_name, s.slot_name,
       EXTRACT(EPOCH FROM r.write_lag)::float8,
       EXTRACT(EPOCH FROM r.flush_lag)::float8,
       EXTRACT(EPOCH FROM r.replay_lag)::float8
FROM pg_stat_replication AS r
LEFT JOIN pg_replication_slots AS s ON s.active_pid = r.pid
"""

REPLICA_SQL = """
SELECT pg_is_in_recovery(),
       pg_last_wal_receive_lsn()::text,
       pg_last_wal_replay_lsn()::text,
       EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8,
       clock_timestamp(),
       CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END,
       w.status, w.slot_name, w.conninfo
FROM (SELECT 1) AS one
LEFT JOIN pg_stat_wal_receiver AS w ON true
"""


class CheckError(Exception):
    """Bad input or configuration: the check cannot run at all."""


class Unreachable(Exception):
    """PostgreSQL cannot be reached or used for this instance; CloudWatch still may."""


class AuthenticationFailed(Unreachable):
    """The server refused the credentials: waiting will not fix that."""


def is_authentication_failure(error: Exception) -> bool:
    # libpq reports connection failures as text without a SQLSTATE, so the server's words decide.
    text = str(error)
    return "authentication failed" in text or "no pg_hba.conf entry" in text


# -- the instances measured --------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    ref: InstanceRef
    engine: str
    address: str | None
    port: int | None
    master_username: str | None
    source: InstanceRef | None
    replicas: tuple[InstanceRef, ...]
    replication_status: str | None
    replication_error: str | None


def to_instance(ref: InstanceRef, found: dict[str, Any]) -> Instance:
    """An RDS DescribeDBInstances entry as the probes use it."""
    endpoint = found.get("Endpoint") or {}
    source_id = found.get("ReadReplicaSourceDBInstanceIdentifier")
    replication = next((s for s in found.get("StatusInfos") or [] if s.get("StatusType") == "read replication"), {})
    replication_error = None
    if replication and not replication.get("Normal", True):
        detail = f": {replication['Message']}" if replication.get("Message") else ""
        replication_error = f"RDS reports read replication {replication.get('Status')}{detail}"
    return Instance(
        ref=ref,
        engine=found.get("Engine", ""),
        address=endpoint.get("Address"),
        port=endpoint.get("Port"),
        master_username=found.get("MasterUsername"),
        source=parse_instance_ref(source_id, ref.region) if source_id else None,
        replicas=tuple(parse_instance_ref(r, ref.region) for r in found.get("ReadReplicaDBInstanceIdentifiers") or []),
        replication_status=replication.get("Status"),
        replication_error=replication_error,
    )


# -- measuring through PostgreSQL --------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionSettings:
    """How to log in to every instance; user None means each instance's master user."""

    user: str | None
    password: str | None
    dbname: str = "postgres"
    connect_timeout: int = 5
    sslmode: str = "prefer"
    sslrootcert: str | None = None

    def connect_args(self, instance: Instance) -> dict[str, Any]:
        """psycopg2.connect() arguments: bounded connect and statements, read-only transactions."""
        args = dict(
            host=instance.address,
            port=instance.port,
            user=self.user or instance.master_username,
            password=self.password,
            dbname=self.dbname,
            connect_timeout=self.connect_timeout,
            sslmode=self.sslmode,
            application_name=APPLICATION_NAME,
            options=f"-c statement_timeout={self.connect_timeout * 1000} -c default_transaction_read_only=on",
        )
        if self.sslrootcert:
            args["sslrootcert"] = self.sslrootcert
        return args


class PostgresProbe:
    """Measures replicas from their own and their source's PostgreSQL, reusing connections between polls.

    strict: an authentication failure raises CheckError (when PostgreSQL was asked for, waiting
    cannot help) instead of leaving the replica unmeasured for another probe.
    """

    def __init__(self, settings: ConnectionSettings, sources: dict[InstanceRef, Instance], strict: bool) -> None:
        self.settings = settings
        self.sources = sources
        self.strict = strict
        self._connections: dict[InstanceRef, Any] = {}

    def measure(self, replicas: list[Instance]) -> dict[InstanceRef, Sample]:
        samples, positions = self._sample(replicas)
        if not any(s.lag_bytes and s.lag_seconds > SECOND_LOOK_SECONDS for s in samples.values()):
            return samples
        time.sleep(SECOND_LOOK_SECONDS)
        samples, _ = self._sample(replicas)
        for sample in samples.values():
            if sample.lag_bytes and sample.source in positions:
                sample.lag_seconds = bound_by_progress(
                    sample.lag_seconds, sample.replay_lsn, sample.measured_at, *positions[sample.source]
                )
        return samples

    def _sample(self, replicas: list[Instance]) -> tuple[dict[InstanceRef, Sample], dict[InstanceRef, tuple]]:
        """Every replica measured once, and the (LSN, time) each reachable source was read at."""
        sources: dict[InstanceRef, Any] = {}
        for ref in sorted({r.source for r in replicas}):
            try:
                sources[ref] = self._read_source(self.sources[ref])
            except Unreachable as e:
                sources[ref] = self._unreachable(e)
        samples = {}
        for replica in replicas:
            state = sources[replica.source]
            if isinstance(state, Unreachable):
                samples[replica.ref] = Sample(replica.ref, replica.source, error=f"source {replica.source}: {state}")
                continue
            try:
                samples[replica.ref] = self._measure_replica(replica, state[0], state[2])
            except Unreachable as e:
                samples[replica.ref] = Sample(replica.ref, replica.source, error=str(self._unreachable(e)))
        positions = {ref: state[:2] for ref, state in sources.items() if not isinstance(state, Unreachable)}
        return samples, positions

    def _unreachable(self, error: Unreachable) -> Unreachable:
        """The error, to record for the instance; fatal when strict and waiting cannot help."""
        if self.strict and isinstance(error, AuthenticationFailed):
            raise CheckError(str(error))
        return error

    def _read_source(self, source: Instance) -> tuple[str, datetime, list[dict[str, Any]]]:
        lsn, read_at = self._query(source, SOURCE_SQL)[0]
        rows = [
            dict(zip(("application_name", "slot_name", "write_lag", "flush_lag", "replay_lag"), row, strict=True))
            for row in self._query(source, REPLICATION_ROWS_SQL)
        ]
        return lsn, read_at, rows

    def _measure_replica(self, replica: Instance, source_lsn: str, rows: list[dict[str, Any]]) -> Sample:
        (
            in_recovery,
            receive_lsn,
            replay_lsn,
            replay_age,
            measured_at,
            paused,
            receiver_status,
            slot_name,
            conninfo,
        ) = self._query(replica, REPLICA_SQL)[0]
        sample = Sample(
            replica.ref,
            replica.source,
            measured_by=POSTGRES,
            measured_at=measured_at.astimezone(UTC),
            replay_lsn=replay_lsn,
            replay_paused=paused,
            wal_receiver_status=receiver_status,
            replication_status=replica.replication_status,
            replication_error=replica.replication_error,
        )
        if not in_recovery:
            sample.error = f"not in recovery: it has been promoted and no longer replicates from {replica.source}"
            return sample
        row = match_replication_row(rows, slot_name, conninfo_application_name(conninfo))
        if row:
            sample.write_lag_seconds, sample.flush_lag_seconds, sample.replay_lag_seconds = (
                row["write_lag"],
                row["flush_lag"],
                row["replay_lag"],
            )
        try:
            sample.lag_seconds, sample.lag_bytes = replica_lag(
                source_lsn, replay_lsn, replay_age, sample.replay_lag_seconds
            )
        except LagUnknown as e:
            sample.error = str(e)
        if receive_lsn:
            sample.receive_lag_bytes = lsn_diff(source_lsn, receive_lsn)
        return sample

    def _query(self, instance: Instance, sql: str) -> list[tuple[Any, ...]]:
        conn = self._connect(instance)
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()
        except psycopg2.Error as e:
            # A connection that failed mid-query is dropped so the next poll reconnects.
            self._connections.pop(instance.ref, None)
            conn.close()
            raise Unreachable(f"query on {instance.ref} failed: {str(e).strip()}") from e

    def _connect(self, instance: Instance):
        if instance.ref in self._connections:
            return self._connections[instance.ref]
        if not instance.engine.startswith("postgres"):
            raise Unreachable(f"{instance.ref} runs {instance.engine or 'an unknown engine'}, not PostgreSQL")
        if not HAS_PSYCOPG2:
            raise Unreachable(missing_required_lib("psycopg2"))
        if not instance.address or not instance.port:
            raise Unreachable(f"{instance.ref} has no endpoint yet")
        if not self.settings.password:
            raise Unreachable("no database credentials: set login_password or login_secret_id")
        args = self.settings.connect_args(instance)
        conn = None
        try:
            conn = psycopg2.connect(**args)
            conn.set_session(readonly=True, autocommit=True)
        except psycopg2.Error as e:
            # A connection that cannot be made read-only is not used (nor left open).
            if conn is not None:
                conn.close()
            where = f"{instance.ref} at {instance.address}:{instance.port} as {args['user']}"
            reason = f"cannot connect to {where}: {str(e).strip()}"
            if is_authentication_failure(e):
                raise AuthenticationFailed(reason) from e
            raise Unreachable(reason) from e
        self._connections[instance.ref] = conn
        return conn

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()


# -- measuring through CloudWatch --------------------------------------------------------------


class CloudWatchProbe:
    """Reads the newest AWS/RDS ReplicaLag datapoint of each replica in its own region.

    cloudwatch(region) gives the CloudWatch client of a region.
    """

    PERIOD = 60

    def __init__(self, cloudwatch: Callable[[str], Any], max_datapoint_age: int) -> None:
        self.cloudwatch = cloudwatch
        self.max_datapoint_age = max_datapoint_age
        self.oldest_replication_slot_lag_bytes: float | None = None

    def measure(self, replicas: list[Instance]) -> dict[InstanceRef, Sample]:
        now = datetime.now(UTC)
        # CloudWatch aligns periods to the minute; aligning the start does the same wherever the
        # API is served, so a datapoint's timestamp is always the start of its minute.
        start = (now - timedelta(seconds=self.max_datapoint_age)).replace(second=0, microsecond=0)
        lags = self._latest("ReplicaLag", [r.ref for r in replicas], start, now)
        slot_lags = self._latest("OldestReplicationSlotLag", sorted({r.source for r in replicas}), start, now)
        slot_values = [value for _, value in slot_lags.values()]
        self.oldest_replication_slot_lag_bytes = max(slot_values) if slot_values else None
        return {replica.ref: self._sample(replica, lags.get(replica.ref)) for replica in replicas}

    def _sample(self, replica: Instance, latest: tuple[datetime, float] | None) -> Sample:
        sample = Sample(
            replica.ref,
            replica.source,
            measured_by=CLOUDWATCH,
            replication_status=replica.replication_status,
            replication_error=replica.replication_error,
        )
        if latest is None:
            sample.error = f"no AWS/RDS ReplicaLag datapoint in the last {self.max_datapoint_age} s"
            return sample
        sample.measured_at, value = latest
        if value < 0:
            sample.error = f"ReplicaLag is {value:g}: replication is not running"
        else:
            sample.lag_seconds = float(value)
        return sample

    def _latest(
        self, metric: str, refs: list[InstanceRef], start: datetime, now: datetime
    ) -> dict[InstanceRef, tuple[datetime, float]]:
        latest = {}
        for region in sorted({ref.region for ref in refs}):
            in_region = [ref for ref in refs if ref.region == region]
            queries = [metric_query(f"m{index}", metric, ref, self.PERIOD) for index, ref in enumerate(in_region)]
            results = get_metric_data(self.cloudwatch(region), queries, start, now + timedelta(seconds=self.PERIOD))
            for result in results:
                found = latest_datapoint(result.get("Timestamps", []), result.get("Values", []))
                if found:
                    latest[in_region[int(result["Id"][1:])]] = found
        return latest


def metric_query(query_id: str, metric: str, ref: InstanceRef, period: int) -> dict[str, Any]:
    """A GetMetricData query for the per-minute maximum of an AWS/RDS metric of one instance."""
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/RDS",
                "MetricName": metric,
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": ref.db_instance_identifier}],
            },
            "Period": period,
            "Stat": "Maximum",
        },
        "ReturnData": True,
    }
