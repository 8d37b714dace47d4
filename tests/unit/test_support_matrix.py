"""README.md's Support table agrees with the files that decide what the collection runs on, and the
virtualenv CI runs in satisfies it."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from ansible import release
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
RUNTIME = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
REQUIREMENTS = [
    Requirement(line)
    for line in (ROOT / "requirements.txt").read_text().splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]
PYTHON_ROWS = ("Python on the controller", "Python for the modules")


def support_table() -> dict[str, str]:
    """Component -> the version range in backquotes that starts its `supported` cell."""
    section = re.search(r"^## Support\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert section, "README.md has no Support section"
    rows = [line for line in section[1].splitlines() if line.startswith("|")]
    table = {}
    for row in rows[2:]:  # the header and the --- line
        component, supported = (cell.strip() for cell in row.strip("|").split("|")[:2])
        spec = re.match(r"`([^`]+)`", supported)
        assert spec, f"README Support row {component!r} does not start with a `range`"
        table[component] = spec[1]
    return table


TABLE = support_table()


def installed_collection_version(fqcn: str) -> str:
    """The version Ansible finds beside its own package, as the CI runs do."""
    namespace, name = fqcn.split(".")
    for entry in sys.path:
        manifest = Path(entry, "ansible_collections", namespace, name, "MANIFEST.json")
        if manifest.is_file():
            return json.loads(manifest.read_text())["collection_info"]["version"]
    pytest.fail(f"{fqcn} is not installed")


def test_every_row_has_a_source() -> None:
    expected = {"ansible-core", *PYTHON_ROWS, *(req.name for req in REQUIREMENTS), *GALAXY["dependencies"]}
    assert set(TABLE) == expected


def test_ansible_core() -> None:
    assert TABLE["ansible-core"] == RUNTIME["requires_ansible"]
    assert Version(release.__version__) in SpecifierSet(TABLE["ansible-core"])


def test_python() -> None:
    # The code's floor is the one ruff checks it against (`datetime.UTC` needs 3.11).
    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["target-version"]
    floor = f">={target[2]}.{target[3:]}"
    for row in PYTHON_ROWS:
        assert TABLE[row] == floor, row
        assert Version(platform.python_version()) in SpecifierSet(TABLE[row])
    # The execution environment's interpreter too.
    ee = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    ee_python = re.search(r"python(\d+\.\d+)$", ee["dependencies"]["python_interpreter"]["python_path"])
    assert Version(ee_python[1]) in SpecifierSet(floor)


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=lambda req: req.name)
def test_python_requirements(requirement: Requirement) -> None:
    assert SpecifierSet(TABLE[requirement.name]) == requirement.specifier
    assert Version(importlib.metadata.version(requirement.name)) in requirement.specifier


@pytest.mark.parametrize("collection", sorted(GALAXY["dependencies"]))
def test_collections(collection: str) -> None:
    assert TABLE[collection] == GALAXY["dependencies"][collection]
    assert Version(installed_collection_version(collection)) in SpecifierSet(TABLE[collection])


def test_what_ci_runs() -> None:
    claim = re.search(r"CI runs ansible-core (\d+\.\d+) on Python (\d+\.\d+)", README)
    assert claim, "README.md does not say which ansible-core and Python CI runs"
    pins = dict(line.split("==") for line in (ROOT / "requirements-dev.txt").read_text().splitlines() if "==" in line)
    assert pins["ansible-core"].startswith(f"{claim[1]}.")
    assert release.__version__.startswith(f"{claim[1]}.")
    assert platform.python_version().startswith(f"{claim[2]}.")
