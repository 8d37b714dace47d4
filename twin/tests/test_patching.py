"""The patch registry: the contract with the moto installed, and how points are installed."""

from __future__ import annotations

import ast
import dataclasses
import pkgutil
from pathlib import Path
from typing import Any

import pytest

from twin import patches, patching
from twin.patching import PatchError, PatchPoint, patch_point

TWIN = Path(patching.__file__).parent


def test_every_patch_point_matches_the_moto_installed() -> None:
    points = patching.load()
    problems = patching.check(points)
    assert not problems, "patch points that no longer match moto:\n" + "\n".join(problems)
    # Listed, so a failing run shows what was checked.
    print("\n".join(point.describe() for point in points))


def test_the_fidelity_layer_and_every_service_module_declare_points() -> None:
    declaring = {point.declared_in for point in patching.load()}
    services = {f"{patches.__name__}.{module.name}" for module in pkgutil.iter_modules(patches.__path__)}
    assert declaring == {"twin.fidelity"} | services


def point(
    target: str, kind: patching.Kind, params: str | None = None, patch: Any = None, getter: bool = False
) -> PatchPoint:
    return PatchPoint(
        target, kind, "test", patch or (lambda *a: None), __name__, patching._parse_params(params), getter
    )


# Each a way a moto upgrade breaks a patch, with what the report must say.
BROKEN: list[tuple[PatchPoint, str]] = [
    (point("moto.rds.models.RDSBackend.create_db_instance_gone", "wrap", "self, db_kwargs"), "moto no longer has it"),
    (point("moto.rds.models.NoSuchBackend.create_db_instance", "wrap", "self"), "moto.rds.models has no NoSuchBackend"),
    (
        point("moto.no_such_service.models.Backend.create", "replace", "self"),
        "target missing: moto has no no_such_service",
    ),
    (point("moto.core.models.DEFAULT_ACCOUNT_ID", "wrap", "self"), "not callable: a str"),
    (
        point("moto.rds.models.RDSBackend.create_db_instance", "wrap", "self, db_kwargs, region"),
        "signature changed: moto has (self, db_kwargs), the patch expects (self, db_kwargs, region)",
    ),
    (point("moto.rds.models.RDSBackend.delete_db_instance", "wrap", "self, db_id, ..."), "signature changed"),
    (point("moto.rds.models.RDSBackend.create_db_instance", "add"), "moto now has it (a function)"),
    (
        point("moto.rds.models.RDSBackend.create_db_instance", "replace", "self, db_kwargs", property(print)),
        "moto has a function, the patch expects a property",
    ),
    (
        point("moto.rds.models.DBInstance.address", "replace", "self"),
        "moto has a property, the patch expects a callable",
    ),
    (point("moto.rds.models.RDSBackend.create_db_instance", "wrap", "self", getter=True), "expects a property"),
    (
        point("moto.ec2.utils.EC2_PREFIX_TO_RESOURCE", "update", patch={"no-such-prefix": "x"}),
        "keys missing: no-such-prefix",
    ),
    (point("moto.ec2.utils.EC2_RESOURCE_TO_PREFIX.get", "update", patch={"a": "b"}), "not a mapping"),
]


def test_the_contract_names_each_broken_point_and_why() -> None:
    problems = patching.check(broken for broken, _ in BROKEN)
    assert len(problems) == len(BROKEN)
    for (broken, reason), problem in zip(BROKEN, problems, strict=True):
        assert problem.startswith(f"{broken.target} [{broken.kind}, {__name__}]: "), problem
        assert reason in problem, problem


# A moto upgrade, played on stand-ins: each class is what a registered point's target turned into.
class RenamedParameter:
    def reboot_db_instance(self, instance_identifier: str) -> None: ...


class PropertyBecameAttribute:
    launch_template: dict[str, Any] | None = None


class ActionImplemented:
    def disable_metrics_collection(self) -> None: ...


@pytest.mark.parametrize(
    ("target", "stand_in", "reason"),
    [
        ("moto.rds.models.RDSBackend.reboot_db_instance", RenamedParameter, "signature changed"),
        ("moto.autoscaling.models.InstanceState.launch_template", PropertyBecameAttribute, "expects a property"),
        (
            "moto.autoscaling.responses.AutoScalingResponse.disable_metrics_collection",
            ActionImplemented,
            "moto now has it",
        ),
    ],
)
def test_a_registered_point_fails_on_a_changed_moto(target: str, stand_in: type, reason: str) -> None:
    registered = next(p for p in patching.load() if p.target == target)
    moved = dataclasses.replace(registered, target=f"{__name__}.{stand_in.__name__}.{target.rsplit('.', 1)[1]}")
    assert patching.check([registered]) == []
    (problem,) = patching.check([moved])
    assert reason in problem


def test_nothing_is_installed_when_a_point_no_longer_matches() -> None:
    good = point(f"{__name__}.Untouched.greet", "replace", "self", lambda self: "patched")
    with pytest.raises(PatchError) as raised:
        patching.install_points([good, *(broken for broken, _ in BROKEN)])
    assert all(broken.target in str(raised.value) for broken, _ in BROKEN)
    assert Untouched().greet() == "original"
    assert not patching.installed(good.target)


class Untouched:
    def greet(self) -> str:
        return "original"


class Greeter:
    def greet(self, name: str) -> str:
        return f"hello {name}"

    @property
    def title(self) -> str:
        return "greeter"


@patch_point(f"{__name__}.Greeter.greet", kind="wrap", params="self, name", why="test")
def _shout(original: Any, self: Greeter, name: str) -> str:
    return original(self, name).upper() + "!"


@patch_point(f"{__name__}.Greeter.title", kind="wrap", params="self", why="test", getter=True)
def _title(original: Any, self: Greeter) -> str:
    return f"the {original(self)}"


patch_point(f"{__name__}.Greeter.farewell", kind="add", why="test")(lambda self: "bye")


def test_points_are_installed_once_whatever_the_calls() -> None:
    first = patching.install(__name__)
    again = patching.install(__name__)
    assert sorted(first) == [f"{__name__}.Greeter.{name}" for name in ("farewell", "greet", "title")]
    assert again == []
    # Wrapped once: a second wrapping would shout twice.
    assert Greeter().greet("moto") == "HELLO MOTO!"
    assert Greeter().title == "the greeter"
    assert Greeter().farewell() == "bye"  # type: ignore[attr-defined]
    # The contract is checked against moto's own attributes, not the patches now in their place.
    assert patching.check(patching.points_of(__name__)) == []


def test_a_target_has_one_patch() -> None:
    patching.load()
    with pytest.raises(ValueError, match="patched by both"):
        exec(
            "from twin.patching import patch_point\n"
            "patch_point('moto.rds.models.RDSBackend.create_db_instance', kind='add', why='x')(print)",
            {"__name__": "elsewhere"},
        )


def test_a_point_states_the_parameters_it_expects_unless_it_adds() -> None:
    with pytest.raises(ValueError, match="needs params"):
        patch_point("moto.rds.models.RDSBackend.create_db_instance", kind="wrap", why="x")
    with pytest.raises(ValueError, match="takes no params"):
        patch_point("moto.rds.models.RDSBackend.x", kind="add", params="self", why="x")


# -- one wrapping style: nothing outside the registry assigns to moto -----------------------------


def direct_patches(source: str) -> list[str]:
    """Assignments to, setattr on, or update() of something imported from moto, as `line: code`."""
    tree = ast.parse(source)
    from_moto = {
        alias.asname or alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
        if (node.module if isinstance(node, ast.ImportFrom) else alias.name or "").startswith("moto")
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            hits = [t for t in targets if isinstance(t, ast.Attribute | ast.Subscript) and _root(t) in from_moto]
        elif isinstance(node, ast.Call):
            function = node.func
            setattr_call = isinstance(function, ast.Name) and function.id == "setattr" and node.args
            update_call = isinstance(function, ast.Attribute) and function.attr == "update"
            hits = [node] if (setattr_call and _root(node.args[0]) in from_moto) else []
            hits += [node] if update_call and _root(function.value) in from_moto else []
        else:
            continue
        found += [f"{hit.lineno}: {ast.unparse(node).splitlines()[0]}" for hit in hits]
    return found


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript | ast.Call):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def test_the_twin_changes_moto_only_through_patch_points() -> None:
    sources = [path for path in TWIN.rglob("*.py") if path.name != "patching.py" and "tests" not in path.parts]
    found = {str(path.relative_to(TWIN)): direct_patches(path.read_text()) for path in sources}
    assert {path: lines for path, lines in found.items() if lines} == {}


def test_a_direct_patch_is_found() -> None:
    source = (
        "from moto.rds.models import RDSBackend\n"
        "import moto.ec2.utils as utils\n"
        "RDSBackend.create_db_instance = print\n"
        "setattr(RDSBackend, 'reboot_db_instance', print)\n"
        "utils.EC2_PREFIX_TO_RESOURCE.update({})\n"
        "utils.EC2_PREFIX_TO_RESOURCE['nat'] = 'natgateway'\n"
        "backend = RDSBackend('us-east-1', '1')\n"
        "backend.region_name = 'us-west-2'\n"
    )
    assert sorted(int(line.split(":")[0]) for line in direct_patches(source)) == [3, 4, 5, 6]
