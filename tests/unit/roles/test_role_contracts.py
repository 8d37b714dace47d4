"""Every role keeps the contract docs/roles.md sets out: specs, prefixes, defaults and README agree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROLES_DIR = Path(__file__).resolve().parents[3] / "roles"
ROLES = sorted(spec.parent.parent for spec in ROLES_DIR.glob("*/meta/argument_specs.yml"))


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def specs(role: Path) -> dict:
    return load(role / "meta" / "argument_specs.yml")["argument_specs"]


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_variable_carries_the_role_prefix(role: Path) -> None:
    for entry_point, spec in specs(role).items():
        unprefixed = [name for name in spec.get("options", {}) if not name.startswith(f"{role.name}_")]
        assert unprefixed == [], f"{role.name} entry point {entry_point}: options without the prefix"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_validate_takes_the_same_options_as_main(role: Path) -> None:
    entry_points = specs(role)
    assert {"main", "validate"} <= entry_points.keys()
    assert entry_points["validate"]["options"] == entry_points["main"]["options"]
    assert (role / "tasks" / "validate.yml").is_file()


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_option_is_typed_and_described(role: Path) -> None:
    for name, option in specs(role)["main"]["options"].items():
        assert option.get("type"), f"{role.name}: {name} has no type"
        assert option.get("description"), f"{role.name}: {name} has no description"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_defaults_are_all_declared(role: Path) -> None:
    defaults_file = role / "defaults" / "main.yml"
    defaults = load(defaults_file) if defaults_file.exists() else {}
    undeclared = sorted(set(defaults) - set(specs(role)["main"]["options"]))
    assert undeclared == [], f"{role.name}: defaults not in meta/argument_specs.yml"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_readme_documents_exactly_the_argument_specs(role: Path) -> None:
    readme = (role / "README.md").read_text()
    options = set(specs(role)["main"]["options"])
    mentioned = set(re.findall(rf"`({re.escape(role.name)}_[a-z0-9_]+)`", readme))
    assert sorted(options - mentioned) == [], f"{role.name}: variables missing from README.md"
    assert sorted(mentioned - options) == [], f"{role.name}: README.md documents variables the role does not take"
