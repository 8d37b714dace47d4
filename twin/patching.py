"""The one registry of the twin's patch points into moto, and the one way they are installed.

Every change the twin makes to moto is declared where it is written, with ``@patch_point``:

    @patch_point("moto.rds.models.RDSBackend.create_db_instance", kind="wrap", params="self, db_kwargs",
                 why="a PostgreSQL instance starts a real cluster")
    def create_db_instance(original, self, db_kwargs): ...

Kinds:

- ``wrap``: the patch is called instead of moto's attribute, with moto's as its first argument
  (``original``); with ``getter=True`` moto's attribute is a property and the patch wraps its getter.
- ``replace``: the patch stands in for moto's attribute, which must exist (moto calls it).
- ``add``: moto lacks the attribute; the patch adds it.
- ``update``: moto's attribute is a mapping; the patch (a mapping) replaces values of keys it has.

``params`` names the parameters the patch expects moto's callable to have, in order; a trailing
``...`` means the rest are passed through untouched. :func:`check` compares every point with the
moto installed (target missing, not callable, parameters changed, added where moto now has it) and
:func:`install` patches each point at most once per process, refusing to patch a point that no
longer matches.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import sys
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal, TypeVar

Kind = Literal["wrap", "replace", "add", "update"]
KINDS: tuple[Kind, ...] = ("wrap", "replace", "add", "update")
PASS_THROUGH = "..."
# The modules that declare patch points: the fidelity layer and every module of twin.patches.
PATCH_MODULES = ("twin.fidelity", "twin.patches")

T = TypeVar("T")


class PatchError(RuntimeError):
    """A patch point does not match the moto installed; the message names each one."""


@dataclass(frozen=True)
class PatchPoint:
    target: str  # dotted path: module, then attributes
    kind: Kind
    why: str
    patch: Any
    declared_in: str  # the module that declared it
    params: tuple[str, ...] | None = None
    getter: bool = False  # a wrap of a property's getter

    @property
    def on_property(self) -> bool:
        return self.getter or isinstance(self.patch, property)

    def describe(self) -> str:
        params = f"({', '.join(self.params)})" if self.params is not None else ""
        return f"{self.target}{params} [{self.kind}, {self.declared_in}]: {self.why}"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()

REGISTRY: dict[str, PatchPoint] = {}
# moto's own attribute for each installed target (MISSING for an added one): what the contract
# check compares once the patch has replaced it.
_ORIGINALS: dict[str, Any] = {}


def patch_point(
    target: str, *, kind: Kind, why: str, params: str | None = None, getter: bool = False
) -> Callable[[T], T]:
    """Declare the decorated function (or property, or mapping) as the patch of `target`."""
    if getter and kind != "wrap":
        raise ValueError(f"{target}: only a wrap point wraps a getter")
    if kind not in KINDS:
        raise ValueError(f"{target}: kind must be one of {KINDS}, not {kind!r}")
    if (params is None) != (kind in ("add", "update")):
        raise ValueError(f"{target}: a {kind} point {'takes no' if params is not None else 'needs'} params")

    # The module whose top level declares the point: the patch's own for a mapping too.
    declared_in = str(sys._getframe(1).f_globals["__name__"])

    def declare(patch: T) -> T:
        point = PatchPoint(target, kind, why, patch, declared_in, _parse_params(params), getter)
        registered = REGISTRY.get(target)
        if registered is not None and registered.declared_in != point.declared_in:
            raise ValueError(f"{target} is patched by both {registered.declared_in} and {point.declared_in}")
        REGISTRY[target] = point
        return patch

    return declare


def _parse_params(params: str | None) -> tuple[str, ...] | None:
    if params is None:
        return None
    return tuple(name.strip() for name in params.split(",") if name.strip())


# -- loading, checking, installing ------------------------------------------------------------


def load() -> list[PatchPoint]:
    """Import every module that declares the twin's patch points; return them, sorted by target."""
    names = []
    for name in PATCH_MODULES:
        module = importlib.import_module(name)
        names.append(name)
        for sub in pkgutil.iter_modules(getattr(module, "__path__", [])):
            importlib.import_module(f"{name}.{sub.name}")
            names.append(f"{name}.{sub.name}")
    return sorted(points_of(*names), key=lambda point: point.target)


def points_of(*modules: ModuleType | str) -> list[PatchPoint]:
    names = {module if isinstance(module, str) else module.__name__ for module in modules}
    for name in names:
        importlib.import_module(name)
    return [point for point in REGISTRY.values() if point.declared_in in names]


def check(points: Iterable[PatchPoint] | None = None) -> list[str]:
    """What no longer matches moto, one line per problem, each starting with the point's target."""
    problems = []
    for point in load() if points is None else points:
        problem = _problem(point)
        if problem:
            problems.append(f"{point.target} [{point.kind}, {point.declared_in}]: {problem}")
    return problems


def install(*modules: ModuleType | str) -> list[str]:
    """Install the points the modules declare (every point when none is named), each once per process.

    Raises PatchError, naming each point, when any of them no longer matches moto.
    """
    return install_points(points_of(*modules) if modules else load())


def install_points(points: Iterable[PatchPoint]) -> list[str]:
    """Install these points, each once per process; nothing is patched if any no longer matches."""
    pending = [point for point in points if point.target not in _ORIGINALS]
    problems = check(pending)
    if problems:
        raise PatchError("patch points that no longer match moto:\n  " + "\n  ".join(problems))
    for point in pending:
        _apply(point)
    return [point.target for point in pending]


def installed(target: str) -> bool:
    return target in _ORIGINALS


def resolve(target: str) -> tuple[Any, str]:
    """The object holding `target`'s last attribute (a module or class), and that attribute's name."""
    *path, name = target.split(".")
    for split in range(len(path), 0, -1):
        module_name = ".".join(path[:split])
        try:
            owner: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue
            raise
        for depth in range(split, len(path)):
            if not hasattr(owner, path[depth]):
                raise LookupError(f"{'.'.join(path[:depth])} has no {path[depth]}")
            owner = getattr(owner, path[depth])
        return owner, name
    raise LookupError(f"no module {path[0]}")


def _original(point: PatchPoint) -> Any:
    if point.target in _ORIGINALS:
        return _ORIGINALS[point.target]
    owner, name = resolve(point.target)
    return inspect.getattr_static(owner, name, MISSING)


def _problem(point: PatchPoint) -> str | None:
    try:
        original = _original(point)
    except (LookupError, ImportError) as exc:
        return f"target missing: {exc}"
    if point.kind == "add":
        return (
            None if original is MISSING else f"moto now has it ({_kind_of(original)}): wrap, replace or drop the patch"
        )
    if original is MISSING:
        return "target missing: moto no longer has it"
    if point.kind == "update":
        return _mapping_problem(original, point.patch)
    return _callable_problem(original, point)


def _mapping_problem(original: Any, patch: MutableMapping[str, Any]) -> str | None:
    if not isinstance(original, MutableMapping):
        return f"not a mapping but {_kind_of(original)}"
    gone = sorted(set(patch) - set(original))
    return f"keys missing: {', '.join(gone)}" if gone else None


def _callable_problem(original: Any, point: PatchPoint) -> str | None:
    if point.on_property != isinstance(original, property):
        return f"moto has {_kind_of(original)}, the patch expects {'a property' if point.on_property else 'a callable'}"
    if point.on_property:
        original = original.fget
    if not callable(original):
        return f"not callable: {_kind_of(original)}"
    found = _param_names(original)
    expected = point.params or ()
    passes_rest = expected[-1:] == (PASS_THROUGH,)
    if found == expected or (passes_rest and found[: len(expected) - 1] == expected[:-1]):
        return None
    return f"signature changed: moto has ({', '.join(found)}), the patch expects ({', '.join(expected)})"


def _param_names(function: Callable[..., Any]) -> tuple[str, ...]:
    prefix = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature
        return ("...",)
    return tuple(prefix.get(p.kind, "") + p.name for p in parameters)


def _kind_of(value: Any) -> str:
    return f"a {type(value).__name__}"


def _apply(point: PatchPoint) -> None:
    owner, name = resolve(point.target)
    original = inspect.getattr_static(owner, name, MISSING)
    if point.kind == "update":
        getattr(owner, name).update(point.patch)
    else:
        setattr(owner, name, _wrapped(point, original) if point.kind == "wrap" else point.patch)
    _ORIGINALS[point.target] = original


def _wrapped(point: PatchPoint, original: Any) -> Any:
    if point.getter:
        return property(_around(point.patch, original.fget), original.fset, original.fdel)
    return _around(point.patch, original)


def _around(patch: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def around(*args: Any, **kwargs: Any) -> Any:
        return patch(original, *args, **kwargs)

    return around
