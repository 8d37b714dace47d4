# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The estate's names (docs/roles.md, "Names and tags") and what a region is missing of them.

Pure: wedsync.platform.estate_info reads AWS by these names; roles and runbooks name what is
missing from what it returns.
"""

from __future__ import annotations

from typing import Any

SECTIONS = ("network", "load_balancer", "app", "database", "cache", "storage", "alerting")
COLORS = ("blue", "green")
TIERS = ("alb", "app", "db", "cache")
TOPICS = ("alerts", "paging")


def estate_names(prefix: str, region: str) -> dict[str, Any]:
    """Every name the roles give, for the name prefix and region."""
    return {
        "prefix": prefix,
        "vpc": f"{prefix}-vpc",
        "security_groups": {tier: f"{prefix}-{tier}" for tier in TIERS},
        "load_balancer": f"{prefix}-alb",
        "target_groups": {color: f"{prefix}-{color}" for color in COLORS},
        "launch_template": f"{prefix}-app",
        "auto_scaling_groups": {color: f"{prefix}-app-{color}" for color in COLORS},
        # IAM is global: one role and instance profile per region.
        "instance_profile": f"{prefix}-app-{region}",
        "database": f"{prefix}-db",
        "cache": f"{prefix}-redis",
        "bucket_suffix": f"-{region}",
        "topics": {topic: f"{prefix}-{topic}" for topic in TOPICS},
    }


def _absent(found: dict[str, Any], key: str, what: str) -> list[str]:
    return [] if found.get(key) else [what]


def _missing_network(names: dict[str, Any], section: dict[str, Any]) -> list[str]:
    missing = _absent(section, "vpc", f"the VPC {names['vpc']}")
    if section.get("vpc"):
        subnets = section.get("subnets") or {}
        missing += [f"{tier} subnets" for tier in ("public", "private") if not subnets.get(tier)]
        groups = section.get("security_groups") or {}
        missing += [
            f"the security group {name}" for tier, name in names["security_groups"].items() if tier not in groups
        ]
    return missing


def _missing_load_balancer(names: dict[str, Any], section: dict[str, Any]) -> list[str]:
    missing = _absent(section, "load_balancer", f"the load balancer {names['load_balancer']}")
    groups = section.get("target_groups") or {}
    return missing + [
        f"the target group {name}" for color, name in names["target_groups"].items() if color not in groups
    ]


def _missing_app(names: dict[str, Any], section: dict[str, Any]) -> list[str]:
    missing = _absent(section, "launch_template", f"the launch template {names['launch_template']}")
    missing += _absent(section, "instance_profile", f"the instance profile {names['instance_profile']}")
    groups = section.get("auto_scaling_groups") or {}
    return missing + [
        f"the Auto Scaling group {name}" for color, name in names["auto_scaling_groups"].items() if color not in groups
    ]


def _missing_alerting(names: dict[str, Any], section: dict[str, Any]) -> list[str]:
    topics = section.get("topics") or {}
    return [f"the SNS topic {name}" for topic, name in names["topics"].items() if topic not in topics]


# The database, cache and buckets differ by region (the DR region is a pilot light with a replica
# and no cache): what they lack is for the caller to judge from the sections themselves.
_MISSING = {
    "network": _missing_network,
    "load_balancer": _missing_load_balancer,
    "app": _missing_app,
    "alerting": _missing_alerting,
}


def estate_missing(names: dict[str, Any], estate: dict[str, Any]) -> list[str]:
    """What the sections read lack of the names every region has, in the order of SECTIONS."""
    return [
        what
        for section in SECTIONS
        if section in estate and section in _MISSING
        for what in _MISSING[section](names, estate[section])
    ]


def database_role(instance: dict[str, Any], primary: str) -> str:
    """primary, replica (of the primary, any region) or other, from a described DB instance (snake_case)."""
    if instance.get("db_instance_identifier") == primary and not instance.get(
        "read_replica_source_db_instance_identifier"
    ):
        return "primary"
    source = str(instance.get("read_replica_source_db_instance_identifier") or "")
    return "replica" if source == primary or source.endswith(f":db:{primary}") else "other"
