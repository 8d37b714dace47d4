#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: rds_replica_lag
version_added: 0.1.0
short_description: Measure and gate the lag of RDS PostgreSQL read replicas
description:
  - Finds the read replicas of an RDS DB instance, in its region and in others, and measures how far
    behind its source each one is, in seconds and in bytes of WAL.
  - Measures straight from PostgreSQL through the RDS endpoints, or from the C(AWS/RDS) C(ReplicaLag)
    metric in CloudWatch, or the first of those that works (O(source=auto)).
  - Gates on O(max_lag_seconds) and O(max_lag_bytes); can wait for every replica to come under them.
  - "Right on an idle primary: a replica counts as lagging by time only while it has WAL left to replay.
    A replica whose replay position has reached everything the source has flushed has C(lag_seconds=0),
    however long ago its last replayed transaction was, because on an idle source that age only
    measures how long nothing was written. Otherwise C(lag_seconds) is the age of the last transaction
    the replica replayed (what RDS publishes as C(ReplicaLag)), an upper bound when the source was idle
    before the WAL still to replay, and C(lag_bytes) is C(pg_wal_lsn_diff) of the source's flushed
    position and the replica's replay position."
  - "A replica behind by both is looked at again a quarter of a second later: if by then it has replayed
    everything the source had flushed at the first look, it is at most that long behind. WAL without
    transactions (vacuum, checkpoints) or the first write after a long idle period then counts for the
    milliseconds it takes to replay, not for the idle time before it."
  - A replica that cannot be measured fails the task with its reason; it never passes silently.
  - Reads only; never changes an instance, a database or a metric.
options:
  db_instance_identifier:
    description:
      - The source DB instance, by identifier (in O(region)) or by ARN.
      - Without O(replicas), every read replica it lists is checked, including cross-region
        replicas, which RDS lists by ARN.
      - With O(replicas), each of them must replicate from this instance.
    type: str
    aliases:
      - id
  replicas:
    description:
      - The read replicas to check instead of all of them, by identifier (in O(region)) or by ARN.
      - Each one's source is the instance it replicates from, as RDS reports it.
    type: list
    elements: str
  source:
    description:
      - Where the lag is read.
      - C(postgres) connects to the source and to each replica through their RDS endpoints.
      - C(cloudwatch) reads C(AWS/RDS) C(ReplicaLag) in each replica's own region, the newest datapoint
        of one-minute maximums, and the source's C(OldestReplicationSlotLag) where it is published.
        It has no byte lag per replica.
      - C(auto) uses C(postgres) for every instance it can connect to and C(cloudwatch) for the rest,
        and says which it used in RV(replicas[].measured_by) and why in RV(replicas[].message).
    type: str
    choices: [auto, postgres, cloudwatch]
    default: auto
  max_lag_seconds:
    description:
      - A replica lagging more than this many seconds is over the threshold.
      - The default is the production alert threshold for read replicas.
    type: float
    default: 5
  max_lag_bytes:
    description:
      - A replica lagging more than this many bytes of WAL is over the threshold.
      - Needs a byte measurement, so a replica measured by C(cloudwatch) fails as unmeasurable when this is set.
    type: int
  fail_on_breach:
    description:
      - Fail when a replica is over a threshold, naming each one and by how much.
      - With V(false) the task reports RV(breached) and succeeds. A replica that cannot be measured
        fails the task either way.
    type: bool
    default: true
  wait:
    description:
      - Poll, with exponential backoff, until every replica is measured and under the thresholds or
        O(wait_timeout) passes.
      - Without it the check is one measurement.
    type: bool
    default: false
  wait_timeout:
    description:
      - How long O(wait=true) polls, in seconds.
    type: int
    default: 300
  max_datapoint_age:
    description:
      - With C(cloudwatch), how old, in seconds, the newest C(ReplicaLag) datapoint may be.
      - A replica with no newer datapoint is unmeasurable.
    type: int
    default: 300
  login_user:
    description:
      - The PostgreSQL user for C(postgres) and C(auto).
      - Defaults to the username in O(login_secret_id), then to the master username RDS reports.
    type: str
  login_password:
    description:
      - The password of O(login_user).
      - Without a password or O(login_secret_id), C(auto) uses C(cloudwatch) and C(postgres) fails.
    type: str
  login_secret_id:
    description:
      - The name or ARN of a Secrets Manager secret holding the credentials as JSON with
        C(password) and, optionally, C(username) keys (the format RDS uses for its own secrets).
      - Read in O(region) unless an ARN names another region.
    type: str
  login_db:
    description:
      - The database to connect to; any database works, the lag is the cluster's.
    type: str
    default: postgres
  connect_timeout:
    description:
      - Seconds to wait for each PostgreSQL connection, and for each query.
    type: int
    default: 5
  ssl_mode:
    description:
      - The libpq C(sslmode) of the PostgreSQL connections.
    type: str
    choices: [disable, allow, prefer, require, verify-ca, verify-full]
    default: prefer
  ca_cert:
    description:
      - A CA certificate file for O(ssl_mode=verify-ca) and O(ssl_mode=verify-full), such as the RDS
        regional bundle.
    type: path
    aliases:
      - ssl_rootcert
requirements:
  - psycopg2 (for O(source=postgres); O(source=auto) uses CloudWatch without it)
attributes:
  check_mode:
    support: full
    details: The module only reads, so check mode measures exactly as a normal run does.
  diff_mode:
    support: none
notes:
  - The PostgreSQL user needs the C(pg_monitor) role to read C(pg_stat_replication) and
    C(pg_stat_wal_receiver) in full; the RDS master user has it.
  - The source's view of each replica (RV(replicas[].write_lag_seconds) and the like) is reported
    when the replica's row in C(pg_stat_replication) can be told apart by its replication slot or
    its C(application_name); it is informative and does not decide the gate.
  - O(endpoint_url) applies to every region the check reaches; botocore also honours the
    C(AWS_ENDPOINT_URL) environment variable.
seealso:
  - module: amazon.aws.rds_instance_info
  - module: amazon.aws.cloudwatch_metric_alarm
extends_documentation_fragment:
  - wedsync.platform.aws
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.ACTIONGROUPS
"""

EXAMPLES = r"""
- name: Gate on every replica of the production database, whichever way it can be measured
  wedsync.platform.rds_replica_lag:
    db_instance_identifier: wedsync-production-db
    login_secret_id: wedsync/production/database
  register: replica_lag

- name: Show the lag of each replica
  ansible.builtin.debug:
    msg: "{{ item.db_instance_identifier }} ({{ item.region }}): {{ item.lag_seconds }} s, {{ item.lag_bytes }} bytes by {{ item.measured_by }}"
  loop: "{{ replica_lag.replicas }}"

- name: Wait up to ten minutes for both regions to catch up before a failover
  wedsync.platform.rds_replica_lag:
    db_instance_identifier: wedsync-production-db
    source: postgres
    login_secret_id: wedsync/production/database
    max_lag_seconds: 1
    max_lag_bytes: 16777216
    wait: true
    wait_timeout: 600

- name: Report only, from CloudWatch, for the replica in the DR region
  wedsync.platform.rds_replica_lag:
    replicas:
      - arn:aws:rds:us-west-2:123456789012:db:wedsync-production-db-dr
    source: cloudwatch
    fail_on_breach: false
  register: dr_lag

- name: The local twin after `make demo`, region and endpoint set once for the action group
  module_defaults:
    group/wedsync.platform.aws:
      region: us-east-1
      endpoint_url: "{{ lookup('ansible.builtin.env', 'AWS_ENDPOINT_URL') }}"
  block:
    - name: Check the twin's replicas in both regions
      wedsync.platform.rds_replica_lag:
        db_instance_identifier: wedsync-local-db
        login_secret_id: wedsync/local/database
"""

RETURN = r"""
breached:
  description: Whether any replica is over a threshold or could not be measured.
  returned: always
  type: bool
  sample: false
worst_lag_seconds:
  description: The largest RV(replicas[].lag_seconds), or null when no replica was measured.
  returned: always
  type: float
  sample: 0.42
worst_lag_bytes:
  description: The largest RV(replicas[].lag_bytes), or null when no byte lag was measured.
  returned: always
  type: int
  sample: 8192
oldest_replication_slot_lag_bytes:
  description:
    - The largest C(OldestReplicationSlotLag) CloudWatch publishes for the sources, when any replica was
      measured by C(cloudwatch) and the metric exists; null otherwise.
  returned: always
  type: float
  sample: 1048576.0
attempts:
  description: How many times the replicas were measured.
  returned: always
  type: int
  sample: 1
elapsed_seconds:
  description: How long the check took, discovery and waiting included.
  returned: always
  type: float
  sample: 0.21
replicas:
  description: One entry per replica checked, sorted by region and identifier.
  returned: always
  type: list
  elements: dict
  contains:
    db_instance_identifier:
      description: The replica's identifier.
      type: str
      returned: always
      sample: wedsync-prod-replica-1
    region:
      description: The replica's region.
      type: str
      returned: always
      sample: us-east-1
    source_db_instance_identifier:
      description: The instance it replicates from.
      type: str
      returned: always
      sample: wedsync-prod
    source_region:
      description: The region of the instance it replicates from.
      type: str
      returned: always
      sample: us-east-1
    status:
      description: V(ok), V(breached) (over a threshold, or RDS reports replication broken) or V(unmeasurable).
      type: str
      returned: always
      sample: ok
    lag_seconds:
      description: Seconds behind the source by the idle rule in the description; null when unmeasured.
      type: float
      returned: always
      sample: 0.0
    lag_bytes:
      description: Bytes of WAL the source has flushed that the replica has not replayed; null with C(cloudwatch).
      type: int
      returned: always
      sample: 0
    receive_lag_bytes:
      description:
        - Bytes of that WAL the replica has not even received (network rather than replay); null with C(cloudwatch).
      type: int
      returned: always
      sample: 0
    measured_by:
      description: V(postgres) or V(cloudwatch); null when neither could measure it.
      type: str
      returned: always
      sample: postgres
    measured_at:
      description:
        - When the measurement was taken (ISO 8601, UTC); with C(cloudwatch), the start of the datapoint's minute.
      type: str
      returned: always
      sample: "2025-11-25T04:12:03.512+00:00"
    measurement_age_seconds:
      description: How old the measurement was when it was judged against the thresholds.
      type: float
      returned: always
      sample: 0.004
    replay_paused:
      description: Whether WAL replay is paused on the replica; null with C(cloudwatch).
      type: bool
      returned: always
      sample: false
    wal_receiver_status:
      description: The replica's WAL receiver status (V(streaming) when healthy); null when it has none or with C(cloudwatch).
      type: str
      returned: always
      sample: streaming
    write_lag_seconds:
      description: C(write_lag) of the replica's row in the source's C(pg_stat_replication); null when not identified or idle.
      type: float
      returned: always
      sample: 0.001
    flush_lag_seconds:
      description: C(flush_lag) of that row; null when not identified or idle.
      type: float
      returned: always
      sample: 0.002
    replay_lag_seconds:
      description: C(replay_lag) of that row; null when not identified or idle.
      type: float
      returned: always
      sample: 0.002
    replication_status:
      description: The read replication status RDS reports for the replica (C(StatusInfos)), when it reports one.
      type: str
      returned: always
      sample: replicating
    message:
      description: Why the replica is over a threshold or unmeasurable, and how it was measured if not as asked.
      type: str
      returned: always
      sample: "lag 12.3 s is 7.3 s over 5.0 s"
"""

import contextlib
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

try:
    import psycopg2

    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError:
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.wedsync.platform.plugins.module_utils.modules import THROTTLING_ERROR_CODES, WedSyncAWSModule
from ansible_collections.wedsync.platform.plugins.module_utils.replica_lag import (
    CLOUDWATCH,
    OK,
    POSTGRES,
    UNMEASURABLE,
    InstanceRef,
    LagUnknown,
    Sample,
    Thresholds,
    assess,
    bound_by_progress,
    conninfo_application_name,
    credentials_from_secret,
    latest_datapoint,
    lsn_diff,
    match_replication_row,
    next_delay,
    parse_instance_ref,
    replica_lag,
    summarize,
    to_result,
    worst,
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


# -- AWS calls ---------------------------------------------------------------------------------


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def describe_db_instance(client, db_instance_identifier: str) -> dict[str, Any] | None:
    paginator = client.get_paginator("describe_db_instances")
    try:
        result = paginator.paginate(DBInstanceIdentifier=db_instance_identifier).build_full_result()
    except is_boto3_error_code("DBInstanceNotFound"):
        return None
    return result["DBInstances"][0] if result["DBInstances"] else None


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def get_metric_data(client, queries: list[dict[str, Any]], start: datetime, end: datetime) -> list[dict[str, Any]]:
    paginator = client.get_paginator("get_metric_data")
    pages = paginator.paginate(MetricDataQueries=queries, StartTime=start, EndTime=end, ScanBy="TimestampDescending")
    return pages.build_full_result()["MetricDataResults"]


@AWSRetry.jittered_backoff(catch_extra_error_codes=THROTTLING_ERROR_CODES)
def get_secret_string(client, secret_id: str) -> str | None:
    return client.get_secret_value(SecretId=secret_id).get("SecretString")


class Clients:
    """One boto3 client per service and region, with the module's credentials and endpoint."""

    def __init__(self, module: WedSyncAWSModule) -> None:
        self.module = module
        self._clients: dict[tuple[str, str], Any] = {}

    def get(self, service: str, region: str):
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.module.client(service, region=region)
        return self._clients[key]


# -- discovery ---------------------------------------------------------------------------------


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


def describe(clients: Clients, ref: InstanceRef) -> Instance:
    try:
        found = describe_db_instance(clients.get("rds", ref.region), ref.db_instance_identifier)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        raise CheckError(f"cannot describe DB instance {ref}: {e}") from e
    if found is None:
        raise CheckError(f"DB instance {ref} not found")
    return to_instance(ref, found)


def to_instance(ref: InstanceRef, found: dict[str, Any]) -> Instance:
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


def discover(
    clients: Clients, params: dict[str, Any], region: str
) -> tuple[list[Instance], dict[InstanceRef, Instance]]:
    """The replicas to check and, by reference, the sources they replicate from."""
    try:
        wanted_source = (
            parse_instance_ref(params["db_instance_identifier"], region) if params["db_instance_identifier"] else None
        )
        wanted = sorted({parse_instance_ref(r, region) for r in params["replicas"] or []})
    except ValueError as e:
        raise CheckError(str(e)) from e
    sources: dict[InstanceRef, Instance] = {}
    if wanted_source is not None:
        sources[wanted_source] = describe(clients, wanted_source)
    if not wanted:
        wanted = sorted(sources[wanted_source].replicas)
        if not wanted:
            raise CheckError(f"DB instance {wanted_source} has no read replicas")
    replicas = [describe(clients, ref) for ref in wanted]
    for replica in replicas:
        if replica.source is None:
            raise CheckError(f"DB instance {replica.ref} is not a read replica: it has no source instance")
        if wanted_source is not None and replica.source != wanted_source:
            raise CheckError(f"DB instance {replica.ref} replicates from {replica.source}, not from {wanted_source}")
        if replica.source not in sources:
            sources[replica.source] = describe(clients, replica.source)
    return replicas, sources


# -- measuring through PostgreSQL --------------------------------------------------------------


class PostgresProbe:
    """Measures replicas from their own and their source's PostgreSQL, reusing connections between polls."""

    def __init__(self, module: WedSyncAWSModule, clients: Clients, sources: dict[InstanceRef, Instance]) -> None:
        self.params = module.params
        self.sources = sources
        self.strict = module.params["source"] == POSTGRES
        self.user, self.password = self._credentials(clients, module.region)
        self._connections: dict[InstanceRef, Any] = {}

    def _credentials(self, clients: Clients, region: str) -> tuple[str | None, str | None]:
        user, password = self.params["login_user"], self.params["login_password"]
        secret_id = self.params["login_secret_id"]
        if secret_id:
            secret_region = parse_instance_arn_region(secret_id) or region
            try:
                secret_user, password = credentials_from_secret(
                    get_secret_string(clients.get("secretsmanager", secret_region), secret_id)
                )
            except is_boto3_error_code("ResourceNotFoundException"):
                raise CheckError(f"Secrets Manager secret {secret_id} not found in {secret_region}") from None
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                raise CheckError(f"cannot read Secrets Manager secret {secret_id}: {e}") from e
            except ValueError as e:
                raise CheckError(f"Secrets Manager secret {secret_id}: {e}") from e
            user = user or secret_user
        return user, password

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
        """The error, to record for the instance; fatal when postgres was asked for and waiting cannot help."""
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
        if not self.password:
            raise Unreachable("no database credentials: set login_password or login_secret_id")
        user = self.user or instance.master_username
        connect_args = dict(
            host=instance.address,
            port=instance.port,
            user=user,
            password=self.password,
            dbname=self.params["login_db"],
            connect_timeout=self.params["connect_timeout"],
            sslmode=self.params["ssl_mode"],
            application_name=APPLICATION_NAME,
            options=f"-c statement_timeout={self.params['connect_timeout'] * 1000} -c default_transaction_read_only=on",
        )
        if self.params["ca_cert"]:
            connect_args["sslrootcert"] = self.params["ca_cert"]
        try:
            conn = psycopg2.connect(**connect_args)
        except psycopg2.OperationalError as e:
            reason = (
                f"cannot connect to {instance.ref} at {instance.address}:{instance.port} as {user}: {str(e).strip()}"
            )
            if is_authentication_failure(e):
                raise AuthenticationFailed(reason) from e
            raise Unreachable(reason) from e
        conn.set_session(readonly=True, autocommit=True)
        self._connections[instance.ref] = conn
        return conn

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()


class AuthenticationFailed(Unreachable):
    """The server refused the credentials: waiting will not fix that."""


def is_authentication_failure(error: Exception) -> bool:
    # libpq reports connection failures as text without a SQLSTATE, so the server's words decide.
    text = str(error)
    return "authentication failed" in text or "no pg_hba.conf entry" in text


def parse_instance_arn_region(value: str) -> str | None:
    """The region of any ARN (for a secret), or None for a plain name."""
    parts = value.split(":")
    return parts[3] if value.startswith("arn:") and len(parts) > 4 and parts[3] else None


# -- measuring through CloudWatch --------------------------------------------------------------


class CloudWatchProbe:
    """Reads the newest AWS/RDS ReplicaLag datapoint of each replica in its own region."""

    PERIOD = 60

    def __init__(self, clients: Clients, max_datapoint_age: int) -> None:
        self.clients = clients
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
        return {replica.ref: self._sample(replica, lags.get(replica.ref), now) for replica in replicas}

    def _sample(self, replica: Instance, latest: tuple[datetime, float] | None, now: datetime) -> Sample:
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
            queries = [
                {
                    "Id": f"m{index}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/RDS",
                            "MetricName": metric,
                            "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": ref.db_instance_identifier}],
                        },
                        "Period": self.PERIOD,
                        "Stat": "Maximum",
                    },
                    "ReturnData": True,
                }
                for index, ref in enumerate(in_region)
            ]
            try:
                results = get_metric_data(
                    self.clients.get("cloudwatch", region), queries, start, now + timedelta(seconds=self.PERIOD)
                )
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
                raise CheckError(f"cannot read {metric} in {region}: {e}") from e
            for result in results:
                found = latest_datapoint(result.get("Timestamps", []), result.get("Values", []))
                if found:
                    latest[in_region[int(result["Id"][1:])]] = found
        return latest


# -- the check ---------------------------------------------------------------------------------


class Check:
    """Measures every replica by the chosen source, falling back to CloudWatch under auto."""

    def __init__(self, module: WedSyncAWSModule, clients: Clients, sources: dict[InstanceRef, Instance]) -> None:
        self.source = module.params["source"]
        self.postgres = PostgresProbe(module, clients, sources) if self.source != CLOUDWATCH else None
        self.cloudwatch = (
            CloudWatchProbe(clients, module.params["max_datapoint_age"]) if self.source != POSTGRES else None
        )
        self.used_cloudwatch = False

    def measure(self, replicas: list[Instance]) -> dict[InstanceRef, Sample]:
        if self.postgres is None:
            return self._cloudwatch(replicas)
        samples = self.postgres.measure(replicas)
        if self.source == POSTGRES:
            return samples
        fallback = [r for r in replicas if samples[r.ref].measured_by is None]
        if fallback:
            by_cloudwatch = self._cloudwatch(fallback)
            for replica in fallback:
                by_cloudwatch[replica.ref].notes.append(f"postgres unusable ({samples[replica.ref].error})")
            samples.update(by_cloudwatch)
        return samples

    def _cloudwatch(self, replicas: list[Instance]) -> dict[InstanceRef, Sample]:
        self.used_cloudwatch = True
        return self.cloudwatch.measure(replicas)

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.close()


def poll(
    check: Check, replicas: list[Instance], thresholds: Thresholds, deadline: float
) -> tuple[list[dict[str, Any]], int]:
    """Measure until every replica is ok or the deadline passes; the last results and the attempts made."""
    attempt = 0
    while True:
        samples = check.measure(replicas)
        attempt += 1
        now = datetime.now(UTC)
        results = []
        for replica in replicas:
            sample = samples[replica.ref]
            status, reasons = assess(sample, thresholds)
            results.append(to_result(sample, status, reasons, now))
        remaining = deadline - time.monotonic()
        if all(r["status"] == OK for r in results) or remaining <= 0:
            return results, attempt
        time.sleep(next_delay(attempt - 1, remaining))


def main() -> None:
    argument_spec = dict(
        db_instance_identifier=dict(type="str", aliases=["id"]),
        replicas=dict(type="list", elements="str"),
        source=dict(type="str", choices=["auto", "postgres", "cloudwatch"], default="auto"),
        max_lag_seconds=dict(type="float", default=5),
        max_lag_bytes=dict(type="int"),
        fail_on_breach=dict(type="bool", default=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=300),
        max_datapoint_age=dict(type="int", default=300),
        login_user=dict(type="str"),
        login_password=dict(type="str", no_log=True),
        login_secret_id=dict(type="str", no_log=False),
        login_db=dict(type="str", default="postgres"),
        connect_timeout=dict(type="int", default=5),
        ssl_mode=dict(
            type="str", choices=["disable", "allow", "prefer", "require", "verify-ca", "verify-full"], default="prefer"
        ),
        ca_cert=dict(type="path", aliases=["ssl_rootcert"]),
    )
    module = WedSyncAWSModule(
        argument_spec=argument_spec,
        required_one_of=[["db_instance_identifier", "replicas"]],
        mutually_exclusive=[["login_password", "login_secret_id"]],
        supports_check_mode=True,
    )
    params = module.params
    if params["source"] == POSTGRES and not HAS_PSYCOPG2:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    if params["source"] == CLOUDWATCH and params["max_lag_bytes"] is not None:
        module.fail_json(msg="max_lag_bytes needs a byte measurement: use source=postgres or source=auto")
    if params["source"] == POSTGRES and not (params["login_password"] or params["login_secret_id"]):
        module.fail_json(msg="source=postgres needs database credentials: set login_password or login_secret_id")
    if not module.region:
        module.fail_json(msg="region must be set (the region parameter or AWS_REGION)")

    started = time.monotonic()
    thresholds = Thresholds(params["max_lag_seconds"], params["max_lag_bytes"])
    clients = Clients(module)
    check = None
    try:
        replicas, sources = discover(clients, params, module.region)
        check = Check(module, clients, sources)
        deadline = started + params["wait_timeout"] if params["wait"] else 0.0
        results, attempts = poll(check, replicas, thresholds, deadline)
    except CheckError as e:
        module.fail_json(msg=str(e))
    finally:
        if check is not None:
            check.close()

    results.sort(key=lambda r: (r["region"], r["db_instance_identifier"]))
    fallbacks = [
        r["db_instance_identifier"] for r in results if params["source"] == "auto" and r["measured_by"] == CLOUDWATCH
    ]
    if fallbacks:
        module.warn(f"PostgreSQL unusable, measured by CloudWatch instead: {', '.join(fallbacks)}")
    slot_lag = check.cloudwatch.oldest_replication_slot_lag_bytes if check.used_cloudwatch else None
    outcome = dict(
        changed=False,
        breached=any(r["status"] != OK for r in results),
        worst_lag_seconds=worst(results, "lag_seconds"),
        worst_lag_bytes=worst(results, "lag_bytes"),
        oldest_replication_slot_lag_bytes=slot_lag,
        attempts=attempts,
        elapsed_seconds=round(time.monotonic() - started, 3),
        replicas=results,
        msg=summarize(results, thresholds),
    )
    if any(r["status"] == UNMEASURABLE for r in results) or (outcome["breached"] and params["fail_on_breach"]):
        module.fail_json(**outcome)
    module.exit_json(**outcome)


if __name__ == "__main__":
    main()
