"""The estate's names, and what a region lacks of them."""

from __future__ import annotations

from ansible_collections.wedsync.platform.plugins.module_utils.estate import database_role, estate_missing, estate_names

NAMES = estate_names("wedsync-production", "us-east-1")


def test_names_follow_the_roles_conventions() -> None:
    assert NAMES["vpc"] == "wedsync-production-vpc"
    assert NAMES["target_groups"] == {"blue": "wedsync-production-blue", "green": "wedsync-production-green"}
    assert NAMES["auto_scaling_groups"]["green"] == "wedsync-production-app-green"
    assert NAMES["instance_profile"] == "wedsync-production-app-us-east-1"
    assert NAMES["security_groups"]["db"] == "wedsync-production-db"


def test_nothing_is_missing_from_a_whole_region() -> None:
    estate = {
        "network": {
            "vpc": {"vpc_id": "vpc-1"},
            "subnets": {"public": [{}], "private": [{}]},
            "security_groups": {tier: {} for tier in ("alb", "app", "db", "cache")},
        },
        "load_balancer": {"load_balancer": {"load_balancer_arn": "arn"}, "target_groups": {"blue": {}, "green": {}}},
        "app": {
            "launch_template": {"x": 1},
            "instance_profile": {"x": 1},
            "auto_scaling_groups": {"blue": {}, "green": {}},
        },
        "alerting": {"topics": {"alerts": "arn", "paging": "arn"}, "alarms": []},
        "database": {"primary": None, "replicas": []},
    }
    assert estate_missing(NAMES, estate) == []


def test_each_thing_missing_is_named_once_in_section_order() -> None:
    estate = {
        "app": {"launch_template": None, "instance_profile": {"x": 1}, "auto_scaling_groups": {"blue": {}}},
        "load_balancer": {"load_balancer": None, "target_groups": {}},
        "network": {"vpc": None, "subnets": {}, "security_groups": {}},
    }
    assert estate_missing(NAMES, estate) == [
        "the VPC wedsync-production-vpc",
        "the load balancer wedsync-production-alb",
        "the target group wedsync-production-blue",
        "the target group wedsync-production-green",
        "the launch template wedsync-production-app",
        "the Auto Scaling group wedsync-production-app-green",
    ]


def test_a_vpc_without_private_subnets_or_a_group_says_so() -> None:
    network = {
        "vpc": {"vpc_id": "vpc-1"},
        "subnets": {"public": [{}]},
        "security_groups": {"alb": {}, "app": {}, "db": {}},
    }
    assert estate_missing(NAMES, {"network": network}) == [
        "private subnets",
        "the security group wedsync-production-cache",
    ]


def test_database_roles_follow_the_replication_source() -> None:
    primary = "wedsync-production-db"
    assert database_role({"db_instance_identifier": primary}, primary) == "primary"
    assert (
        database_role(
            {"db_instance_identifier": f"{primary}-replica-1", "read_replica_source_db_instance_identifier": primary},
            primary,
        )
        == "replica"
    )
    dr = {
        "db_instance_identifier": f"{primary}-dr",
        "read_replica_source_db_instance_identifier": f"arn:aws:rds:us-east-1:123456789012:db:{primary}",
    }
    assert database_role(dr, primary) == "replica"
    # Promoted: no longer replicating anything.
    assert database_role({"db_instance_identifier": f"{primary}-dr"}, primary) == "other"
    assert (
        database_role(
            {"db_instance_identifier": f"{primary}-db-other", "read_replica_source_db_instance_identifier": "x"},
            primary,
        )
        == "other"
    )
