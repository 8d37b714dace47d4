"""The development virtualenv's code cache for AnsiballZ payloads: same code, compiled once."""

from __future__ import annotations

import importlib
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "scripts" / "venv-site"))
import ansiballz_code_cache as code_cache

MODULE = "def answer():\n    return {value}\n\nVALUE = answer()\n"


def payload(directory: Path, value: int) -> Path:
    """A payload laid out as AnsiballZ lays one out: a package and a module, sources only."""
    directory.mkdir(parents=True, exist_ok=True)
    archive = directory / "ansible_demo_payload.zip"
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr("demo_pkg/__init__.py", "")
        zip_file.writestr("demo_pkg/mod.py", MODULE.format(value=value))
    return archive


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(code_cache, "CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def run(archive: Path) -> object:
    """The module's code as the payload's import runs it, and that code."""
    code = code_cache.CachingZipImporter(f"{archive}/demo_pkg/").get_code("demo_pkg.mod")
    namespace: dict[str, object] = {}
    exec(code, namespace)
    return namespace["VALUE"], code


def test_a_second_payload_with_the_same_source_is_not_compiled_again(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(payload(tmp_path / "first", 42))[0] == 42
    assert len(list(cache.rglob("*"))) == 2  # one directory, one code object

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(code_cache, "compile", no_compiling, raising=False)
    second = payload(tmp_path / "second", 42)
    value, code = run(second)
    assert value == 42
    function = next(const for const in code.co_consts if hasattr(const, "co_code"))
    assert code.co_filename == function.co_filename == f"{second}/demo_pkg/mod.py"


def test_a_changed_source_runs_as_changed(tmp_path: Path) -> None:
    assert run(payload(tmp_path / "first", 1))[0] == 1
    assert run(payload(tmp_path / "second", 2))[0] == 2


def test_an_unreadable_cache_entry_is_compiled_again(tmp_path: Path, cache: Path) -> None:
    run(payload(tmp_path / "first", 7))
    [entry] = [path for path in cache.rglob("*") if path.is_file()]
    entry.write_bytes(b"not marshal data")
    assert run(payload(tmp_path / "second", 7))[0] == 7


def test_imports_through_sys_path_use_the_cache(tmp_path: Path, cache: Path) -> None:
    archive = payload(tmp_path / "payload", 5)
    code_cache.install()
    sys.path.insert(0, str(archive))
    try:
        module = importlib.import_module("demo_pkg.mod")
        assert module.VALUE == 5
        assert module.__file__ == f"{archive}/demo_pkg/mod.py"
        assert isinstance(sys.path_importer_cache[str(archive)], code_cache.CachingZipImporter)
    finally:
        sys.path.remove(str(archive))
        for name in ("demo_pkg.mod", "demo_pkg"):
            sys.modules.pop(name, None)
    assert len([path for path in cache.rglob("*") if path.is_file()]) == 2  # the package and the module


@pytest.mark.parametrize("path", ["/usr/lib/python3.11", "/tmp/other.zip", "/tmp/x/ansible_payload.zip.d"])
def test_other_paths_are_left_to_python(path: str) -> None:
    with pytest.raises(ImportError):
        code_cache.payload_importer(path)
