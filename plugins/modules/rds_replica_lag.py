#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
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
  - With O(wait=true), polls with exponential backoff until every replica is measured and under the
    thresholds or O(wait_timeout) passes; without it the check is one measurement.
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
extends_documentation_fragment: [wedsync.platform.aws, wedsync.platform.wait, amazon.aws.common.modules,
  amazon.aws.region.modules, amazon.aws.boto3]
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

import time
from datetime import UTC, datetime
from typing import Any

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.wedsync.platform.plugins.module_utils._rds import describe_db_instance
from ansible_collections.wedsync.platform.plugins.module_utils._secretsmanager import get_secret_value
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule
from ansible_collections.wedsync.platform.plugins.module_utils.replica_lag import (
    CLOUDWATCH,
    OK,
    POSTGRES,
    UNMEASURABLE,
    InstanceRef,
    Sample,
    Thresholds,
    assess,
    credentials_from_secret,
    next_delay,
    parse_instance_ref,
    summarize,
    to_result,
    worst,
)
from ansible_collections.wedsync.platform.plugins.module_utils.replica_lag_probes import (
    HAS_PSYCOPG2,
    PSYCOPG2_IMPORT_ERROR,
    CheckError,
    CloudWatchProbe,
    ConnectionSettings,
    Instance,
    PostgresProbe,
    to_instance,
)


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


def describe(clients: Clients, ref: InstanceRef) -> Instance:
    found = describe_db_instance(clients.get("rds", ref.region), ref.db_instance_identifier)
    if found is None:
        raise CheckError(f"DB instance {ref} not found")
    return to_instance(ref, found)


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


def parse_arn_region(value: str) -> str | None:
    """The region of any ARN (for a secret), or None for a plain name."""
    parts = value.split(":")
    return parts[3] if value.startswith("arn:") and len(parts) > 4 and parts[3] else None


def connection_settings(clients: Clients, params: dict[str, Any], region: str) -> ConnectionSettings:
    """The login options, with the user and password of login_secret_id when it is given."""
    user, password = params["login_user"], params["login_password"]
    secret_id = params["login_secret_id"]
    if secret_id:
        secret_region = parse_arn_region(secret_id) or region
        secret = get_secret_value(clients.get("secretsmanager", secret_region), secret_id)
        if secret is None:
            raise CheckError(f"Secrets Manager secret {secret_id} not found in {secret_region}")
        try:
            secret_user, password = credentials_from_secret(secret.get("SecretString"))
        except ValueError as e:
            raise CheckError(f"Secrets Manager secret {secret_id}: {e}") from e
        user = user or secret_user
    return ConnectionSettings(
        user=user,
        password=password,
        dbname=params["login_db"],
        connect_timeout=params["connect_timeout"],
        sslmode=params["ssl_mode"],
        sslrootcert=params["ca_cert"],
    )


# -- the check ---------------------------------------------------------------------------------


class Check:
    """Measures every replica by the chosen source, falling back to CloudWatch under auto."""

    def __init__(self, module: WedSyncAWSModule, clients: Clients, sources: dict[InstanceRef, Instance]) -> None:
        self.source = module.params["source"]
        self.postgres = (
            PostgresProbe(connection_settings(clients, module.params, module.region), sources, self.source == POSTGRES)
            if self.source != CLOUDWATCH
            else None
        )
        self.cloudwatch = (
            CloudWatchProbe(lambda region: clients.get("cloudwatch", region), module.params["max_datapoint_age"])
            if self.source != POSTGRES
            else None
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
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
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
