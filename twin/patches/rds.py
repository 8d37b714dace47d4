"""RDS parameter groups behave as RDS's do for amazon.aws.rds_instance_param_group.

DescribeDBParameterGroups with the name of a group that does not exist answers an empty list in
moto, where RDS answers DBParameterGroupNotFound; the module takes the empty answer for an
existing group and fails on it, so it could never create one. Here it raises as RDS does.

moto creates a DB parameter group with no parameters at all, so DescribeDBParameters on a fresh
group is empty and amazon.aws.rds_instance_param_group refuses every setting as "not an available
parameter" (the database role sets rds.force_ssl and logging parameters). Here a group of a
``postgres*`` family starts with the engine defaults, taken from the local PostgreSQL server's
own catalogue (``postgres --describe-config``) plus the RDS-only ``rds.*`` parameters the roles
use; a parameter set through ModifyDBParameterGroup reports ``Source: user``, and
DescribeDBParameters honours its ``Source`` filter (moto ignores it), so ``Source=user`` lists
what the roles set rather than some 300 engine defaults. The catalogue comes
from the PostgreSQL installed here whatever the family's version, which is close enough for the
parameters the roles set.
"""

from __future__ import annotations

import functools
import subprocess
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.responses import ActionResult
from moto.rds.exceptions import DBParameterGroupNotFoundError
from moto.rds.models import DBParameterGroup, RDSBackend
from moto.rds.responses import RDSResponse

from twin.patching import patch_point
from twin.postgres import find_bindir

_DATA_TYPES = {"BOOLEAN": "boolean", "INTEGER": "integer", "REAL": "float", "STRING": "string", "ENUM": "string"}

# RDS's own parameters (not in PostgreSQL's catalogue) that the roles may set.
_RDS_PARAMETERS: tuple[dict[str, Any], ...] = (
    {
        "ParameterName": "rds.force_ssl",
        "DataType": "boolean",
        "ApplyType": "dynamic",
        "AllowedValues": "0,1",
        "Description": "Force SSL connections.",
    },
    {
        "ParameterName": "rds.log_retention_period",
        "DataType": "integer",
        "ApplyType": "dynamic",
        "AllowedValues": "1440-10080",
        "Description": "Amazon RDS for PostgreSQL will delete logs older than N minutes.",
    },
    {
        "ParameterName": "rds.logical_replication",
        "DataType": "boolean",
        "ApplyType": "static",
        "AllowedValues": "0,1",
        "Description": "Enables logical decoding.",
    },
    {
        "ParameterName": "rds.rds_superuser_reserved_connections",
        "DataType": "integer",
        "ApplyType": "static",
        "AllowedValues": "0-8388607",
        "Description": "Sets the number of connection slots reserved for rds_superusers.",
    },
)


@patch_point(
    "moto.rds.models.RDSBackend.describe_db_parameter_groups",
    kind="wrap",
    params="self, db_parameter_group_kwargs",
    why="a group asked for by name that does not exist raises DBParameterGroupNotFound",
)
def _describe_db_parameter_groups(
    original: Callable[..., list[DBParameterGroup]], self: RDSBackend, kwargs: dict[str, Any]
) -> list[DBParameterGroup]:
    found = original(self, kwargs)
    name = kwargs.get("db_parameter_group_name")
    if name and not found:
        raise DBParameterGroupNotFoundError(name)
    return found


@patch_point(
    "moto.rds.models.DBParameterGroup.__init__",
    kind="wrap",
    params="self, ...",
    why="a postgres* group starts with the engine's default parameters",
)
def _seed_postgres_parameters(original: Callable[..., None], self: DBParameterGroup, *args: Any, **kwargs: Any) -> None:
    original(self, *args, **kwargs)
    if str(self.family or "").startswith("postgres"):
        self.parameters = defaultdict(dict, {p["ParameterName"]: dict(p) for p in postgres_defaults()})


@patch_point(
    "moto.rds.models.DBParameterGroup.update_parameters",
    kind="wrap",
    params="self, new_parameters",
    why="a parameter set through ModifyDBParameterGroup reports Source: user",
)
def _update_parameters(
    original: Callable[..., None], self: DBParameterGroup, new_parameters: Iterable[dict[str, Any]]
) -> None:
    new_parameters = list(new_parameters)
    original(self, new_parameters)
    for parameter in new_parameters:
        self.parameters[parameter["ParameterName"]]["Source"] = "user"


@patch_point(
    "moto.rds.responses.RDSResponse.describe_db_parameters",
    kind="wrap",
    params="self",
    why="DescribeDBParameters honours its Source filter",
)
def _describe_db_parameters(original: Callable[..., ActionResult], self: RDSResponse) -> ActionResult:
    source = self.params.get("Source")
    if not source:
        return original(self)
    name = self.params.get("DBParameterGroupName")
    group = self.backend.describe_db_parameter_groups({"db_parameter_group_name": name})[0]
    return ActionResult({"Parameters": [p for p in group.parameters.values() if p.get("Source") == source]})


@functools.cache
def postgres_defaults() -> tuple[dict[str, Any], ...]:
    """Every parameter of the installed PostgreSQL, shaped as DescribeDBParameters reports it."""
    out = subprocess.run(
        [str(find_bindir() / "postgres"), "--describe-config"], capture_output=True, text=True, check=True
    ).stdout
    found = [_parameter(line.split("\t")) for line in out.splitlines() if line.count("\t") >= 7]
    rds = [
        {**p, "Source": "engine-default", "IsModifiable": True, "ApplyMethod": "pending-reboot"}
        for p in _RDS_PARAMETERS
    ]
    return (*found, *rds)


def _parameter(fields: list[str]) -> dict[str, Any]:
    name, context, _group, vartype, _reset, minimum, maximum, description = fields[:8]
    parameter = {
        "ParameterName": name,
        "Description": description,
        "Source": "engine-default",
        "ApplyType": "static" if context == "postmaster" else "dynamic",
        "DataType": _DATA_TYPES.get(vartype, "string"),
        "IsModifiable": context != "internal",
        "ApplyMethod": "pending-reboot",
    }
    if vartype == "BOOLEAN":
        parameter["AllowedValues"] = "0,1"
    elif minimum and maximum:
        parameter["AllowedValues"] = f"{minimum}-{maximum}"
    return parameter
