"""Compiled code for the sources an Ansible module runs from its AnsiballZ payload, kept between runs.

An AnsiballZ payload is a zip that Python imports with zipimport, which never caches bytecode: every
module run compiles ansible.module_utils and the collections' module_utils again, about a fifth of
its CPU. The suite runs modules tens of thousands of times on two cores, so the development
virtualenv imports this hook at start-up (a .pth file the Makefile writes) and it keeps each
source's code object under .cache/ansiballz-code, keyed by the interpreter's bytecode magic, the
source's path inside the payload and the source itself. What runs is unchanged: a changed source
is a new key. Only this checkout's virtualenv loads it; production's controllers and execution
environments do not.
"""

from __future__ import annotations

import marshal
import os
import sys
import zipimport
from importlib._bootstrap_external import MAGIC_NUMBER  # already loaded: importlib.util costs more
from types import CodeType

CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(CHECKOUT, ".cache", "ansiballz-code")
PAYLOAD_SUFFIX = "_payload.zip"


def with_filename(code: CodeType, filename: str) -> CodeType:
    """The code object as compiled from filename: tracebacks name this run's payload, not the first's."""
    consts = tuple(with_filename(const, filename) if isinstance(const, CodeType) else const for const in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


class CachingZipImporter(zipimport.zipimporter):
    """zipimport for one AnsiballZ payload, compiling each source once per content."""

    def _source(self, fullname: str) -> str | None:
        """The module's source path inside the zip, found without compiling it as zipimport does."""
        stem = self.prefix + fullname.rpartition(".")[2]
        return next((path for path in (f"{stem}/__init__.py", f"{stem}.py") if path in self._files), None)

    def get_filename(self, fullname: str) -> str:
        source = self._source(fullname)
        return super().get_filename(fullname) if source is None else f"{self.archive}/{source}"

    def get_code(self, fullname: str) -> CodeType:
        source = self._source(fullname)
        if source is None:
            return super().get_code(fullname)
        filename = f"{self.archive}/{source}"
        text = self.get_data(source)
        cached = cache_path(source, text)
        try:
            with open(cached, "rb") as stream:
                return with_filename(marshal.load(stream), filename)
        except (OSError, EOFError, ValueError, TypeError):
            pass
        code = compile(text.replace(b"\r\n", b"\n"), filename, "exec", dont_inherit=True)
        store(cached, code)
        return code


def cache_path(source: str, text: bytes) -> str:
    import hashlib  # noqa: PLC0415 -- only a payload's import needs it, not every interpreter start

    key = hashlib.sha256(MAGIC_NUMBER + source.encode() + b"\0" + text).hexdigest()
    return os.path.join(CACHE, key[:2], key)


def store(path: str, code: CodeType) -> None:
    """Written whole or not at all: module runs in parallel read and write the same keys."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = f"{path}.{os.getpid()}"
        with open(partial, "wb") as stream:
            marshal.dump(code, stream)
        os.replace(partial, path)
    except OSError:
        pass  # a read-only or full disk costs speed, never the module run


def payload_importer(path: str) -> CachingZipImporter:
    """The path hook: AnsiballZ payloads (and the packages inside them) only."""
    archive, suffix, _ = path.partition(PAYLOAD_SUFFIX)
    if not suffix or not os.path.basename(archive).startswith("ansible_"):
        raise ImportError(path)
    return CachingZipImporter(path)


def install() -> None:
    if payload_importer not in sys.path_hooks:
        sys.path_hooks.insert(0, payload_importer)
        sys.path_importer_cache.clear()


install()
