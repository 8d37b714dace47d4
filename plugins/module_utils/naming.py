# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a name prefix, an AWS region name and an environment name are, one definition for every role.

Each check returns None when the value is valid, otherwise a phrase saying why not, written to follow
the value: "'Wedsync' has characters other than lowercase letters, digits and hyphens".
"""

from __future__ import annotations

import re
from typing import Any

# The longest name the roles build from the prefix under the tightest limit is the target group
# <prefix>-green: ELBv2 allows 32 characters, so 26 are left for the prefix.
NAME_PREFIX_MAX_LENGTH = 26

# Beginnings AWS refuses in names the roles build from the prefix: ELBv2 load balancers (<prefix>-alb)
# and S3 buckets (<prefix>-<purpose>-<region>).
RESERVED_BEGINNINGS = {
    "internal-": "ELBv2 load balancer names",
    "sthree-": "S3 bucket names",
    "amzn-s3-demo-": "S3 bucket names",
}

# The strictest bound any role puts on the environment: the secrets role's.
ENVIRONMENT_MAX_LENGTH = 32

# An area (us, eu, ap, cn, ... eusc), an optional partition or qualifier (gov, iso, isob, de, ...), a
# direction and a number: us-east-1, us-gov-west-1, cn-north-1, ap-southeast-5, eusc-de-east-1.
_REGION = re.compile(
    r"[a-z]{2,4}-(?:[a-z]{2,4}-)?(?:central|north|south|east|west|northeast|northwest|southeast|southwest)-[1-9][0-9]?"
)
_LOWER_DIGITS_HYPHENS = re.compile(r"[a-z0-9-]+")


def _text_problem(value: Any) -> str | None:
    """Why a value is no name at all: not a string, or empty."""
    if not isinstance(value, str):
        return f"is not a string but {type(value).__name__}"
    if not value:
        return "is empty"
    return None


def name_prefix_problem(value: Any) -> str | None:
    """Why ``value`` cannot prefix every resource name (docs/roles.md, "Names and tags"), or None."""
    problem = _text_problem(value)
    if problem:
        return problem
    # Names are <prefix>-<something>: "internal" makes internal-alb as surely as "internal-x" does.
    reserved = next((beginning for beginning in RESERVED_BEGINNINGS if f"{value}-".startswith(beginning)), None)
    # In order: the first that applies is the one reported.
    checks = [
        (
            len(value) <= NAME_PREFIX_MAX_LENGTH,
            f"is {len(value)} characters long, more than {NAME_PREFIX_MAX_LENGTH}:"
            " the target group <prefix>-green must fit ELBv2's 32",
        ),
        (
            _LOWER_DIGITS_HYPHENS.fullmatch(value) is not None,
            "has characters other than lowercase letters, digits and hyphens",
        ),
        (value[0].isalpha(), "does not start with a letter, as RDS and ElastiCache identifiers must"),
        ("--" not in value, "has two hyphens in a row, which RDS and ElastiCache identifiers may not"),
        (not value.endswith("-"), "ends with a hyphen: <prefix>-db would have two in a row"),
        (reserved is None, f"makes names starting with {reserved}, reserved in {RESERVED_BEGINNINGS.get(reserved)}"),
    ]
    return next((phrase for holds, phrase in checks if not holds), None)


def aws_region_problem(value: Any) -> str | None:
    """Why ``value`` is not the name of an AWS region, such as us-east-1, or None."""
    problem = _text_problem(value)
    if problem:
        return problem
    if not _REGION.fullmatch(value):
        return (
            "is not an AWS region name: an area, a direction and a number, lowercase and joined by hyphens,"
            " such as us-east-1, eu-central-2 or us-gov-west-1"
        )
    return None


def environment_name_problem(value: Any) -> str | None:
    """Why ``value`` cannot name an environment (wedsync/<environment>/..., /wedsync/<environment>/...), or None."""
    problem = _text_problem(value)
    if problem:
        return problem
    if len(value) > ENVIRONMENT_MAX_LENGTH:
        return f"is {len(value)} characters long, more than {ENVIRONMENT_MAX_LENGTH}"
    if not _LOWER_DIGITS_HYPHENS.fullmatch(value):
        return "has characters other than lowercase letters, digits and hyphens"
    if not value[0].isalpha():
        return "does not start with a letter"
    return None
