"""Every role keeps the contract docs/roles.md sets out: specs, prefixes, defaults and README agree.

Tier roles (site.yml) have the entry points `main` and `validate` with the same options; runbook
roles have one entry point per action, each a task file of the same name.
"""

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


def options(role: Path) -> dict:
    """Every option of every entry point of the role."""
    found: dict = {}
    for spec in specs(role).values():
        found.update(spec.get("options", {}))
    return found


def is_tier_role(role: Path) -> bool:
    return "validate" in specs(role)


TIER_ROLES = [role for role in ROLES if is_tier_role(role)]
RUNBOOK_ROLES = [role for role in ROLES if not is_tier_role(role)]


def test_the_runbook_roles_are_known() -> None:
    assert {role.name for role in RUNBOOK_ROLES} >= {"runbook", "blue_green", "replica_lag"}


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_variable_carries_the_role_prefix(role: Path) -> None:
    for entry_point, spec in specs(role).items():
        unprefixed = [name for name in spec.get("options", {}) if not name.startswith(f"{role.name}_")]
        assert unprefixed == [], f"{role.name} entry point {entry_point}: options without the prefix"


@pytest.mark.parametrize("role", TIER_ROLES, ids=lambda r: r.name)
def test_validate_takes_the_same_options_as_main(role: Path) -> None:
    entry_points = specs(role)
    assert {"main", "validate"} <= entry_points.keys()
    assert entry_points["validate"]["options"] == entry_points["main"]["options"]
    assert (role / "tasks" / "validate.yml").is_file()


@pytest.mark.parametrize("role", RUNBOOK_ROLES, ids=lambda r: r.name)
def test_each_action_is_a_task_file(role: Path) -> None:
    for entry_point, spec in specs(role).items():
        assert (role / "tasks" / f"{entry_point}.yml").is_file(), f"{role.name}: no tasks/{entry_point}.yml"
        assert spec.get("short_description") and spec.get("description"), f"{role.name} {entry_point}: undocumented"


@pytest.mark.parametrize("role", RUNBOOK_ROLES, ids=lambda r: r.name)
def test_runbook_roles_check_input_only_through_their_specs(role: Path) -> None:
    """No hand-written validate_argument_spec naming every variable a second time."""
    for tasks in (role / "tasks").glob("*.yml"):
        used = re.search(r"^\s*-?\s*(ansible\.builtin\.)?validate_argument_spec:", tasks.read_text(), re.MULTILINE)
        assert not used, f"{role.name}: {tasks.name}"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_option_is_typed_and_described(role: Path) -> None:
    for name, option in options(role).items():
        assert option.get("type"), f"{role.name}: {name} has no type"
        assert option.get("description"), f"{role.name}: {name} has no description"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_defaults_are_all_declared(role: Path) -> None:
    defaults_file = role / "defaults" / "main.yml"
    defaults = load(defaults_file) if defaults_file.exists() else {}
    undeclared = sorted(set(defaults) - set(options(role)))
    assert undeclared == [], f"{role.name}: defaults not in meta/argument_specs.yml"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_readme_documents_exactly_the_argument_specs(role: Path) -> None:
    # Facts a role leaves or reads are listed under "## Facts", after its variables.
    readme = (role / "README.md").read_text().split("\n## Facts")[0]
    mentioned = set(re.findall(rf"`({re.escape(role.name)}_[a-z0-9_]+)`", readme))
    assert sorted(set(options(role)) - mentioned) == [], f"{role.name}: variables missing from README.md"
    assert sorted(mentioned - set(options(role))) == [], f"{role.name}: README.md documents variables it does not take"


# Task keywords that set a variable for the role's own use, besides a task's or block's `vars`.
SET_FACT = {"ansible.builtin.set_fact", "set_fact"}
INCLUDE_ROLE = {"ansible.builtin.include_role", "ansible.builtin.import_role", "include_role", "import_role"}


def each_task(tasks: object) -> list[dict]:
    """Every task and block of a task list, nested ones included."""
    found: list[dict] = []
    for task in tasks if isinstance(tasks, list) else []:
        if isinstance(task, dict):
            found.append(task)
            for section in ("block", "rescue", "always"):
                found.extend(each_task(task.get(section)))
    return found


def variables_set(role: Path) -> list[tuple[str, str]]:
    """Each variable the role sets (set_fact, register, loop_var, task and block vars, vars/main.yml), with where."""
    found: list[tuple[str, str]] = []
    for path in sorted([*role.glob("tasks/**/*.yml"), *role.glob("handlers/**/*.yml")]):
        where = str(path.relative_to(ROLES_DIR.parent))
        for task in each_task(yaml.safe_load(path.read_text())):
            names = [task["register"]] if "register" in task else []
            names += (
                [(task.get("loop_control") or {}).get("loop_var")]
                if "loop_var" in (task.get("loop_control") or {})
                else []
            )
            for action in SET_FACT & task.keys():
                names += [name for name in task[action] or {} if name != "cacheable"]
            # An included role's vars are its inputs, named by that role's prefix.
            if not INCLUDE_ROLE & task.keys():
                names += list(task.get("vars") or {})
            found += [(name, f"{where} ({task.get('name', 'unnamed')})") for name in names]
    role_vars = role / "vars" / "main.yml"
    if role_vars.is_file():
        found += [(name, str(role_vars.relative_to(ROLES_DIR.parent))) for name in load(role_vars)]
    return found


def documented_facts(role: Path) -> set[str]:
    """The facts the role leaves for others, listed under "## Facts" in its README."""
    readme = (role / "README.md").read_text()
    facts = readme.split("\n## Facts", 1)[1] if "\n## Facts" in readme else ""
    return set(re.findall(rf"`({re.escape(role.name)}_[a-z0-9_]+)`", facts.split("\n## ", 1)[0]))


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_private_variables_carry_the_double_underscore(role: Path) -> None:
    """`<role>__<name>` for what a role sets for its own use; `<role>_<name>` is for inputs and documented facts."""
    private, facts = f"{role.name}__", documented_facts(role)
    offenders = sorted(
        {
            f"{name} in {where}"
            for name, where in variables_set(role)
            if not name.startswith(private) and name not in facts
        }
    )
    assert offenders == [], (
        f"{role.name}: name these {private}<name> (or list a fact under ## Facts in README.md):\n"
        + "\n".join(offenders)
    )


@pytest.mark.parametrize("role", [r for r in RUNBOOK_ROLES if r.name != "awx_configure"], ids=lambda r: r.name)
def test_a_runbook_option_documents_the_default_it_has(role: Path) -> None:
    # AWX surveys are made from these defaults: a placeholder such as wedsync/<environment>/database
    # would reach every job as that literal text, over the value defaults/main.yml gives.
    defaults = load(role / "defaults" / "main.yml") if (role / "defaults" / "main.yml").exists() else {}
    differing = {
        name: (option["default"], defaults[name])
        for name, option in options(role).items()
        if "default" in option and name in defaults and option["default"] != defaults[name]
    }
    assert differing == {}
