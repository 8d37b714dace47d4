"""What site.yml built on the twin, per region, read back through the AWS API in a few lines."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import psycopg2

REGIONS = ("us-east-1", "us-west-2")
PREFIX = "wedsync-local"


def run(state_dir: Path) -> int:
    _load_env(state_dir / "env")
    print(f"The local twin at {os.environ['AWS_ENDPOINT_URL']}, as site.yml left it:")
    for region in REGIONS:
        print(f"\n{region}")
        for line in _region_summary(region):
            print(f"  {line}")
    print(f"\nglobal\n  {_budgets()}")
    print("\nShow the app servers by color, and reach one the way Ansible does:")
    print("  ansible-inventory -i inventories/local --graph")
    print("\nDeploy a release to the idle color, in canary steps, and roll it back (docs/deploys.md):")
    print("  make twin-release VERSION=1.1.0")
    print("  . .venv/bin/activate && set -a && . .twin/env && set +a")
    print("  ansible-playbook -i inventories/local playbooks/deploy_blue_green.yml -e blue_green_version=1.1.0")
    print("  ansible-playbook -i inventories/local playbooks/rollback.yml")
    print("\nCheck its health as AWX does every hour, each finding with a severity (roles/health_check/README.md):")
    print("  ansible-playbook -i inventories/local playbooks/health_check.yml")
    return 0


def _load_env(env_file: Path) -> None:
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            os.environ[key] = value


def _region_summary(region: str) -> list[str]:
    readers: list[Callable[[str], str | None]] = [
        _network,
        _load_balancer,
        _app_groups,
        _app_servers,
        _serving,
        _databases,
        _cache,
        _buckets,
        _secrets,
        _monitoring,
        _trail,
    ]
    return [line for line in (reader(region) for reader in readers) if line]


def _client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)


def _network(region: str) -> str | None:
    ec2 = _client("ec2", region)
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-vpc"]}])["Vpcs"]
    if not vpcs:
        return None
    vpc = vpcs[0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["Subnets"]
    nats = ec2.describe_nat_gateways(
        Filter=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "state", "Values": ["available"]}]
    )["NatGateways"]
    return f"network   {vpc['CidrBlock']}, {len(subnets)} subnets, {len(nats)} NAT gateways"


def _load_balancer(region: str) -> str | None:
    elb = _client("elbv2", region)
    found = [lb for lb in elb.describe_load_balancers()["LoadBalancers"] if lb["LoadBalancerName"] == f"{PREFIX}-alb"]
    if not found:
        return None
    listeners = elb.describe_listeners(LoadBalancerArn=found[0]["LoadBalancerArn"])["Listeners"]
    https = next((item for item in listeners if item["Port"] == 443), None)
    if https is None:
        return f"ALB       {found[0]['DNSName']}, no HTTPS listener"
    action = https["DefaultActions"][0]
    groups = action.get("ForwardConfig", {}).get("TargetGroups") or [{"TargetGroupArn": action["TargetGroupArn"]}]
    weights = ", ".join(f"{g['TargetGroupArn'].split('/')[1].rsplit('-', 1)[-1]} {g.get('Weight', 1)}" for g in groups)
    return f"ALB       {found[0]['DNSName']}, HTTPS {https['SslPolicy']}, traffic to {weights}"


def _app_groups(region: str) -> str | None:
    groups = _client("autoscaling", region).describe_auto_scaling_groups()["AutoScalingGroups"]
    ours = sorted(
        (g for g in groups if g["AutoScalingGroupName"].startswith(f"{PREFIX}-app-")),
        key=lambda g: g["AutoScalingGroupName"],
    )
    sizes = [
        f"{g['AutoScalingGroupName'].rsplit('-', 1)[-1]} {g['MinSize']}/{g['DesiredCapacity']}/{g['MaxSize']}"
        for g in ours
    ]
    return f"app       min/desired/max: {', '.join(sizes)}" if ours else None


def _app_servers(region: str) -> str | None:
    """Each running app server as the host it is on the twin: its container, color, release and health."""
    hosts = [h for h in _twin("instances") if h["region"] == region and h["state"] == "running"]
    if not hosts:
        return None
    ec2 = _client("ec2", region)
    reservations = ec2.describe_instances(InstanceIds=[h["instance_id"] for h in hosts])["Reservations"]
    tags = {
        i["InstanceId"]: {t["Key"]: t["Value"] for t in i.get("Tags", [])} for r in reservations for i in r["Instances"]
    }
    lines = [
        f"{h['container']} at {h['address']}: {_color(tags[h['instance_id']])}, release {h['version'] or 'none'}"
        for h in sorted(hosts, key=lambda h: h["container"])
    ]
    return "app servers (podman containers):\n    " + "\n    ".join(lines)


def _color(tags: dict[str, str]) -> str:
    return tags.get("aws:autoscaling:groupName", "no group").rsplit("-", 1)[-1]


def _serving(region: str) -> str | None:
    """What users get through the load balancer: the app's own answer, from one of those containers."""
    url = f"{os.environ['WEDSYNC_TWIN_CONTROL_URL']}/alb/{PREFIX}-alb/443/api/health?region={region}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return f"https://{PREFIX}-alb/api/health answers {response.status} {response.read().decode().strip()}"
    except urllib.error.HTTPError as error:
        return f"https://{PREFIX}-alb/api/health answers {error.code}: {error.read().decode().strip()}"


def _twin(path: str) -> Any:
    with urllib.request.urlopen(f"{os.environ['WEDSYNC_TWIN_CONTROL_URL']}/{path}", timeout=10) as response:
        return json.load(response)


def _databases(region: str) -> str | None:
    instances = _client("rds", region).describe_db_instances()["DBInstances"]
    ours = [db for db in instances if db["DBInstanceIdentifier"].startswith(f"{PREFIX}-db")]
    if not ours:
        return None
    described = [
        f"{db['DBInstanceIdentifier']} ({_role(db)}, {db['DBInstanceClass']}, port {db['Endpoint']['Port']}"
        f"{_in_recovery(db)})"
        for db in sorted(ours, key=lambda d: d["DBInstanceIdentifier"])
    ]
    return "database  " + "\n            ".join(described)


def _role(db: dict[str, Any]) -> str:
    return "replica" if db.get("ReadReplicaSourceDBInstanceIdentifier") else "primary"


def _in_recovery(db: dict[str, Any]) -> str:
    """Ask the real PostgreSQL behind the endpoint, as the internal superuser the twin keeps."""
    try:
        with (
            closing(
                psycopg2.connect(
                    host=db["Endpoint"]["Address"],
                    port=db["Endpoint"]["Port"],
                    user=os.environ["WEDSYNC_TWIN_PG_ADMIN_USER"],
                    dbname="postgres",
                    connect_timeout=3,
                )
            ) as conn,
            conn.cursor() as cur,
        ):
            cur.execute("SELECT pg_is_in_recovery()")
            return ", PostgreSQL standby" if cur.fetchone()[0] else ", PostgreSQL primary"
    except psycopg2.Error:
        return ", PostgreSQL unreachable"


def _cache(region: str) -> str | None:
    groups = _client("elasticache", region).describe_replication_groups()["ReplicationGroups"]
    ours = [g for g in groups if g["ReplicationGroupId"] == f"{PREFIX}-redis"]
    if not ours:
        return None
    group = ours[0]
    return (
        f"cache     {group['ReplicationGroupId']}: {len(group['MemberClusters'])} nodes, "
        f"failover {group['AutomaticFailover']}, at rest {group['AtRestEncryptionEnabled']}, "
        f"in transit {group['TransitEncryptionEnabled']}"
    )


def _buckets(region: str) -> str | None:
    names = [
        b["Name"]
        for b in _client("s3", region).list_buckets()["Buckets"]
        if b["Name"].startswith(PREFIX) and b["Name"].endswith(region)
    ]
    return (
        f"buckets   {', '.join(sorted(n.removeprefix(PREFIX + '-').removesuffix('-' + region) for n in names))}"
        if names
        else None
    )


def _secrets(region: str) -> str | None:
    secrets = _client("secretsmanager", region).list_secrets()["SecretList"]
    names = sorted(s["Name"] for s in secrets if s["Name"].startswith("wedsync/local/"))
    return f"secrets   {', '.join(names)} (values not shown)" if names else None


def _monitoring(region: str) -> str | None:
    cloudwatch = _client("cloudwatch", region)
    alarms = [a for a in cloudwatch.describe_alarms()["MetricAlarms"] if a["AlarmName"].startswith(PREFIX)]
    dashboards = [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]
    if not alarms and not dashboards:
        return None
    return f"alarms    {len(alarms)}; dashboards: {', '.join(sorted(dashboards)) or 'none'}"


def _trail(region: str) -> str | None:
    trails = _client("cloudtrail", region).describe_trails(includeShadowTrails=False)["trailList"]
    ours = [t for t in trails if t["Name"] == f"{PREFIX}-trail"]
    if not ours:
        return None
    return (
        f"audit     {ours[0]['Name']}: multi-region {ours[0]['IsMultiRegionTrail']}, "
        f"log-file validation {ours[0]['LogFileValidationEnabled']}"
    )


def _budgets() -> str:
    account = _client("sts", "us-east-1").get_caller_identity()["Account"]
    budgets = _client("budgets", "us-east-1").describe_budgets(AccountId=account).get("Budgets", [])
    described = [
        f"{b['BudgetName']} {b['BudgetLimit']['Amount']} {b['BudgetLimit']['Unit']}/{b['TimeUnit'].lower()}"
        for b in budgets
    ]
    return f"budgets   {', '.join(described) or 'none'}"
