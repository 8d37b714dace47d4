"""Show the twin serving: the database estate of production, reached through its RDS endpoints.

Creates, once, a primary in us-east-1 with two read replicas in other AZs and a replica in
us-west-2 (the seed's database tier), with the master password kept in the twin's Secrets
Manager; then writes on the primary, reads it back on every replica, and shows ReplicaLag as
CloudWatch reports it in each replica's region.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import psycopg2

from twin.client import TwinClient

PRIMARY = "wedsync-local-db"
REPLICAS = (("us-east-1", "wedsync-local-db-replica-1", "us-east-1b"),
            ("us-east-1", "wedsync-local-db-replica-2", "us-east-1c"))
DR_REPLICA = ("us-west-2", "wedsync-local-db-dr", "us-west-2a")
SECRET_ID = "wedsync/local/database"


def run(state_dir: Path) -> int:
    _load_env(state_dir / "env")
    twin = TwinClient.from_env()
    password = _master_password()
    primary = _ensure_primary(password)
    for region, identifier, zone in (*REPLICAS, DR_REPLICA):
        _ensure_replica(region, identifier, zone, primary["DBInstanceArn"])
    marker = _write_marker(primary, password)
    twin.publish_metrics()
    print(f"twin serving at {os.environ['AWS_ENDPOINT_URL']} (control API {os.environ['WEDSYNC_TWIN_CONTROL_URL']})")
    print(f"{'instance':32} {'region':10} {'role':8} {'endpoint':17} {'marker':7} {'ReplicaLag':>10}")
    for region, identifier in [("us-east-1", PRIMARY), *[(r, i) for r, i, _ in (*REPLICAS, DR_REPLICA)]]:
        db = boto3.client("rds", region_name=region).describe_db_instances(DBInstanceIdentifier=identifier)
        _print_row(db["DBInstances"][0], region, marker, password)
    print(f"master password: Secrets Manager {SECRET_ID} (not shown); source .twin/env to use the twin")
    return 0


def _load_env(env_file: Path) -> None:
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            os.environ[key] = value


def _master_password() -> str:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    try:
        return json.loads(client.get_secret_value(SecretId=SECRET_ID)["SecretString"])["password"]
    except client.exceptions.ResourceNotFoundException:
        password = secrets.token_urlsafe(24)
        client.create_secret(Name=SECRET_ID, SecretString=json.dumps({"username": "wedsync", "password": password}))
        return password


def _ensure_primary(password: str) -> dict[str, Any]:
    rds = boto3.client("rds", region_name="us-east-1")
    try:
        return rds.describe_db_instances(DBInstanceIdentifier=PRIMARY)["DBInstances"][0]
    except rds.exceptions.DBInstanceNotFoundFault:
        return rds.create_db_instance(
            DBInstanceIdentifier=PRIMARY, Engine="postgres", EngineVersion="15.4", DBInstanceClass="db.r5.xlarge",
            AllocatedStorage=500, MaxAllocatedStorage=2000, StorageType="gp2", StorageEncrypted=True, MultiAZ=True,
            MasterUsername="wedsync", MasterUserPassword=password, DBName="wedsync", BackupRetentionPeriod=30,
            PreferredBackupWindow="03:00-03:30", PreferredMaintenanceWindow="sun:04:00-sun:05:00",
            DeletionProtection=True,
        )["DBInstance"]


def _ensure_replica(region: str, identifier: str, zone: str, source_arn: str) -> None:
    rds = boto3.client("rds", region_name=region)
    try:
        rds.describe_db_instances(DBInstanceIdentifier=identifier)
    except rds.exceptions.DBInstanceNotFoundFault:
        source = PRIMARY if region == "us-east-1" else source_arn
        rds.create_db_instance_read_replica(DBInstanceIdentifier=identifier, SourceDBInstanceIdentifier=source,
                                            AvailabilityZone=zone, SourceRegion="us-east-1")


def _write_marker(primary: dict[str, Any], password: str) -> str:
    marker = datetime.now(UTC).strftime("%H%M%S")
    with closing(_connect(primary["Endpoint"], password)) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS twin_demo (marker text, at timestamptz DEFAULT now())")
        cur.execute("INSERT INTO twin_demo (marker) VALUES (%s)", (marker,))
    time.sleep(0.5)  # let the standbys replay it
    return marker


def _connect(endpoint: dict[str, Any], password: str) -> Any:
    conn = psycopg2.connect(host=endpoint["Address"], port=endpoint["Port"], user="wedsync", password=password,
                            dbname="wedsync", connect_timeout=5)
    conn.autocommit = True
    return conn


def _print_row(db: dict[str, Any], region: str, marker: str, password: str) -> None:
    endpoint = db["Endpoint"]
    try:
        with closing(_connect(endpoint, password)) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM twin_demo WHERE marker = %s", (marker,))
            seen = "seen" if cur.fetchone()[0] else "missing"
    except psycopg2.Error:
        seen = "missing"
    role = "replica" if db.get("ReadReplicaSourceDBInstanceIdentifier") else "primary"
    lag = _latest_replica_lag(region, db["DBInstanceIdentifier"]) if role == "replica" else "-"
    print(f"{db['DBInstanceIdentifier']:32} {region:10} {role:8} {endpoint['Address']}:{endpoint['Port']:<7} "
          f"{seen:7} {lag:>10}")


def _latest_replica_lag(region: str, identifier: str) -> str:
    now = datetime.now(UTC)
    points = boto3.client("cloudwatch", region_name=region).get_metric_statistics(
        Namespace="AWS/RDS", MetricName="ReplicaLag", Period=60, Statistics=["Maximum"],
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": identifier}],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1),
    )["Datapoints"]
    return f"{max(p['Maximum'] for p in points):.1f}s" if points else "no data"
