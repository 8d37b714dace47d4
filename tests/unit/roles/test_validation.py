"""Every tier role's `validate` entry point accepts the production inventory and refuses one bad value at a time
with that value's rule alone (docs/roles.md, "Rules every role follows").

All cases run in one ansible-playbook process, one play per case, each inside a block whose rescue keeps the host
for the next play; a case's refusal is the failed task of its play.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from unit.playbook_runs import ROOT, failures, run_playbook

HOST = "production-us-east-1"
INVENTORY = ROOT / "inventories" / "production"
TIER_ROLES = sorted(
    spec.parent.parent.name
    for spec in (ROOT / "roles").glob("*/meta/argument_specs.yml")
    if "validate" in (yaml.safe_load(spec.read_text())["argument_specs"])
)


@dataclass(frozen=True)
class Case:
    role: str
    refused: str  # how the one message must start; "" for a run that must pass
    given: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.role}: {', '.join(f'{key}={value!r}' for key, value in self.given.items()) or 'inventory'}"


ACCEPTED = [Case(role, "") for role in TIER_ROLES]

REFUSED = [
    Case("app_tier", "app_tier_name_prefix must be", {"app_tier_name_prefix": "wedsync-production-east-0123"}),
    Case("app_tier", "app_tier_region must be", {"app_tier_region": "us-east"}),
    Case("app_tier", "app_tier_environment must be", {"app_tier_environment": "Production"}),
    Case("app_tier", "app_tier_desired_capacity (20) must be between", {"app_tier_desired_capacity": 20}),
    Case("app_tier", "app_tier_secret_names must be secret names", {"app_tier_secret_names": ["database", "a/b"]}),
    Case("app_tier", "app_tier_uploads_bucket must be an S3 bucket name", {"app_tier_uploads_bucket": "Uploads"}),
    Case("audit", "audit_log_glacier_after_days must be at least 1", {"audit_log_glacier_after_days": 0}),
    Case("audit", "audit_kms_alias must be alias/<name>", {"audit_kms_alias": "audit-key"}),
    Case("cache", "cache_replicas must be at least 1 when", {"cache_replicas": 0}),
    Case("cache", "cache_port must be 1024 to 65535", {"cache_port": 80}),
    Case("cost", "cost_monthly_budget_usd (100) must be at least", {"cost_monthly_budget_usd": 100}),
    Case("database", "database_pool_max (50) must be at least database_pool_min (60)", {"database_pool_min": 60}),
    Case("database", "database_backup_window (04:30-05:00, daily) overlaps", {"database_backup_window": "04:30-05:00"}),
    Case("edge", "edge_origin_read_timeout must be 1 to 180", {"edge_origin_read_timeout": 0}),
    Case("host_baseline", "host_baseline_nofile_limit must be at least 1024", {"host_baseline_nofile_limit": 100}),
    Case(
        "load_balancer",
        "load_balancer_health_check_timeout (30 s) must be less",
        {"load_balancer_health_check_timeout": 30},
    ),
    Case("load_balancer", "load_balancer_test_port (443) must differ", {"load_balancer_test_port": 443}),
    Case(
        "load_balancer",
        "load_balancer_healthy_threshold must be 2 to 10, not 1",
        {"load_balancer_healthy_threshold": 1},
    ),
    Case("monitoring", "monitoring_cpu_warning_percent (95) must be below", {"monitoring_cpu_warning_percent": 95}),
    Case(
        "monitoring",
        "monitoring_memory_critical_percent must be a percentage",
        {"monitoring_memory_critical_percent": 150},
    ),
    Case(
        "monitoring",
        "monitoring_critical_evaluation_periods (2000) times",
        {"monitoring_critical_evaluation_periods": 2000},
    ),
    Case("monitoring", "monitoring_alert_emails must list only", {"monitoring_alert_emails": ["ops"]}),
    Case("network", "network_vpc_cidr (10.0.0.0/12) must have a prefix from /16", {"network_vpc_cidr": "10.0.0.0/12"}),
    Case(
        "network",
        "network_vpc_cidr must be an IPv4 network",
        # The test listener's sources default to the VPC's CIDR: given apart, only the VPC's is wrong.
        {"network_vpc_cidr": "10.0.0.0/255.255.0.0", "network_alb_test_ingress_cidrs": ["10.0.0.0/16"]},
    ),
    Case(
        "network", "network_public_subnet_cidrs must list one CIDR", {"network_public_subnet_cidrs": ["10.0.48.0/24"]}
    ),
    Case(
        "network",
        "wedsync-production-public-a 10.0.0.0/24 (from network_public_subnet_cidrs[0]) overlaps "
        "wedsync-production-private-a 10.0.0.0/20",
        {"network_public_subnet_cidrs": ["10.0.0.0/24", "10.0.201.0/24", "10.0.202.0/24"]},
    ),
    Case("network", "network_db_port must be a TCP port, 1 to 65535, not 70000", {"network_db_port": 70000}),
    Case("network", "network_alb_test_port (443) must not be one of", {"network_alb_test_port": 443}),
    Case(
        "network",
        "network_alb_test_ingress_cidrs must hold IPv4 networks",
        {"network_alb_test_ingress_cidrs": ["0.0.0.0/0"]},
    ),
    Case("secrets", "secrets_replica_regions must not hold secrets_region", {"secrets_replica_regions": ["us-east-1"]}),
    Case("secrets", "secrets_values may hold only", {"secrets_values": {"GITHUB_TOKEN": "x"}}),
    Case("secrets", "secrets_name_prefix must be", {"secrets_name_prefix": "wedsync-"}),
    Case("storage", "storage_kms_alias must be alias/<name>", {"storage_kms_alias": "storage"}),
]
CASES = ACCEPTED + REFUSED


def play(case: Case) -> dict[str, Any]:
    validate = {
        "name": "Validate",
        "ansible.builtin.include_role": {"name": f"wedsync.platform.{case.role}", "tasks_from": "validate"},
        "vars": case.given,
    }
    # The rescue keeps the host in the run, so the next case's play still runs on it.
    kept = {"name": "Keep the host for the next case", "ansible.builtin.meta": "noop"}
    return {
        "name": case.name,
        "hosts": HOST,
        "gather_facts": False,
        "tasks": [{"name": "Case", "block": [validate], "rescue": [kept]}],
    }


def refusals(cases: list[Case], tmp_path: Path, *extra: str) -> dict[str, list[str]]:
    """Each case's failure messages, by the case's name, from one ansible-playbook run."""
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump([play(case) for case in cases], sort_keys=False))
    run = run_playbook(playbook, "-i", str(INVENTORY), *extra, timeout=300)
    return {entry["play"]["name"]: failures({"plays": [entry]}, HOST) for entry in run["plays"]}


def mismatch(case: Case, found: list[str]) -> str | None:
    """What is wrong with a case's outcome, or None."""
    if not case.refused:
        return None if found == [] else f"refuses the production inventory: {found}"
    if len(found) != 1:
        return f"expected one refusal, got {found}"
    if not found[0].startswith(case.refused):
        return f"expected a refusal starting {case.refused!r}, got {found[0]!r}"
    # Broken rules are joined with "; ": one rule's message has none.
    if "; " in found[0]:
        return f"more than one rule reported: {found[0]!r}"
    return None


def test_every_tier_role_is_covered() -> None:
    assert {case.role for case in REFUSED} == set(TIER_ROLES)


# One test over every case, so the cases share one ansible-playbook run even across test workers.
def test_validate_accepts_the_inventory_and_refuses_each_bad_value_alone(tmp_path: Path) -> None:
    found = refusals(CASES, tmp_path)
    wrong = {case.name: mismatch(case, found.get(case.name, ["(the case did not run)"])) for case in CASES}
    assert {name: problem for name, problem in wrong.items() if problem} == {}


def test_the_issues_example_names_only_the_upload_days(tmp_path: Path) -> None:
    """`-e storage_abort_incomplete_upload_days=0` (a string, as -e gives it) is refused for that variable alone."""
    case = Case("storage", "storage_abort_incomplete_upload_days")
    found = refusals([case], tmp_path, "-e", "storage_abort_incomplete_upload_days=0")
    assert found == {case.name: ["storage_abort_incomplete_upload_days must be at least 1, not 0"]}
