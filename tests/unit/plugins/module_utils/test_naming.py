"""What a name prefix, an AWS region name and an environment name are: valid and invalid examples."""

from __future__ import annotations

import pytest
from ansible_collections.wedsync.platform.plugins.module_utils.naming import (
    ENVIRONMENT_MAX_LENGTH,
    NAME_PREFIX_MAX_LENGTH,
    aws_region_problem,
    environment_name_problem,
    name_prefix_problem,
)

# 26 characters: <prefix>-green is then exactly ELBv2's 32.
LONGEST_PREFIX = "wedsync-production-east-01"


def test_the_longest_prefix_makes_a_target_group_name_of_32() -> None:
    assert len(LONGEST_PREFIX) == NAME_PREFIX_MAX_LENGTH == 26
    assert len(f"{LONGEST_PREFIX}-green") == 32


@pytest.mark.parametrize(
    "prefix",
    ["wedsync-production", "wedsync-staging", "wedsync-local", "a", "w2", "a1-b2-c3", LONGEST_PREFIX, "internalx"],
)
def test_valid_name_prefixes(prefix: str) -> None:
    assert name_prefix_problem(prefix) is None


@pytest.mark.parametrize(
    ("prefix", "why"),
    [
        (
            LONGEST_PREFIX + "x",
            "is 27 characters long, more than 26: the target group <prefix>-green must fit ELBv2's 32",
        ),
        ("Wedsync", "has characters other than lowercase letters, digits and hyphens"),
        ("wedsync_prod", "has characters other than lowercase letters, digits and hyphens"),
        ("wedsync prod", "has characters other than lowercase letters, digits and hyphens"),
        ("1wedsync", "does not start with a letter, as RDS and ElastiCache identifiers must"),
        ("-wedsync", "does not start with a letter, as RDS and ElastiCache identifiers must"),
        ("wedsync--prod", "has two hyphens in a row, which RDS and ElastiCache identifiers may not"),
        ("wedsync-", "ends with a hyphen: <prefix>-db would have two in a row"),
        ("internal", "makes names starting with internal-, reserved in ELBv2 load balancer names"),
        ("internal-tools", "makes names starting with internal-, reserved in ELBv2 load balancer names"),
        ("sthree-data", "makes names starting with sthree-, reserved in S3 bucket names"),
        ("amzn-s3-demo", "makes names starting with amzn-s3-demo-, reserved in S3 bucket names"),
        ("", "is empty"),
        (None, "is not a string but NoneType"),
        (["wedsync"], "is not a string but list"),
    ],
)
def test_invalid_name_prefixes_say_why(prefix: object, why: str) -> None:
    assert name_prefix_problem(prefix) == why


@pytest.mark.parametrize(
    "region",
    [
        "us-east-1",
        "us-west-2",
        "eu-central-2",
        "eu-west-3",
        "ap-southeast-5",
        "ap-northeast-3",
        "sa-east-1",
        "ca-west-1",
        "il-central-1",
        "mx-central-1",
        "us-gov-west-1",
        "us-gov-east-1",
        "cn-north-1",
        "cn-northwest-1",
        "us-iso-east-1",
        "us-isob-east-1",
        "eusc-de-east-1",
    ],
)
def test_valid_region_names(region: str) -> None:
    assert aws_region_problem(region) is None


@pytest.mark.parametrize(
    "region",
    ["useast1", "us-east", "US-EAST-1", "us-east-1a", "us-east-0", "us_east_1", "us-middle-1", "east-1", " us-east-1"],
)
def test_invalid_region_names(region: str) -> None:
    assert aws_region_problem(region) == (
        "is not an AWS region name: an area, a direction and a number, lowercase and joined by hyphens,"
        " such as us-east-1, eu-central-2 or us-gov-west-1"
    )


def test_a_region_that_is_not_text() -> None:
    assert aws_region_problem(1) == "is not a string but int"
    assert aws_region_problem("") == "is empty"


@pytest.mark.parametrize("environment", ["production", "staging", "local", "dr", "qa-2", "a" * ENVIRONMENT_MAX_LENGTH])
def test_valid_environment_names(environment: str) -> None:
    assert environment_name_problem(environment) is None


@pytest.mark.parametrize(
    ("environment", "why"),
    [
        ("a" * 33, "is 33 characters long, more than 32"),
        ("Production", "has characters other than lowercase letters, digits and hyphens"),
        ("prod_1", "has characters other than lowercase letters, digits and hyphens"),
        ("prod/1", "has characters other than lowercase letters, digits and hyphens"),
        ("2prod", "does not start with a letter"),
        ("-prod", "does not start with a letter"),
        ("", "is empty"),
        (True, "is not a string but bool"),
    ],
)
def test_invalid_environment_names_say_why(environment: object, why: str) -> None:
    assert environment_name_problem(environment) == why
