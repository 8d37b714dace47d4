"""The Debian archives this machine's apt uses, for the hosts' image.

The image is built by debootstrap from the archive the machine's own apt configuration names, and
its hosts' apt points at the same archives through the same proxy, so the hosts plane works behind
a local mirror or an apt proxy with no address written in the code. Both source formats are read:
one-line ``.list`` files and deb822 ``.sources`` files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

APT_DIR = Path("/etc/apt")
# Suites that name a Debian release (codenames and their aliases): a source for one of them with
# the main component is a Debian archive; a third-party repository rarely is both.
RELEASES = frozenset(
    {"buster", "bullseye", "bookworm", "trixie", "forky", "duke", "sid"}
    | {"oldoldstable", "oldstable", "stable", "testing", "unstable"}
)
# What debootstrap can fetch from.
MIRROR_SCHEMES = ("http://", "https://", "file:")
PROXY_LINE = re.compile(r'^Acquire::(?P<scheme>https?)::Proxy\s+"(?P<url>[^"]*)";$', re.MULTILINE)


class AptSourcesError(RuntimeError):
    """No Debian archive in the machine's apt configuration; the message says where it looked."""


@dataclass(frozen=True)
class Source:
    """One ``deb`` entry: an archive's URI, suites and components."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


@dataclass(frozen=True)
class DebianArchives:
    """Where the image's packages come from, and what its hosts' apt is told."""

    mirror: str
    security: str | None = None
    updates: bool = False
    # Scheme (http, https) -> proxy URL, as apt's Acquire::<scheme>::Proxy says.
    proxies: dict[str, str] = field(default_factory=dict)

    def sources_list(self, suite: str) -> str:
        lines = [f"deb {self.mirror} {suite} main"]
        if self.updates:
            lines.append(f"deb {self.mirror} {suite}-updates main")
        if self.security:
            lines.append(f"deb {self.security} {suite}-security main")
        return "".join(f"{line}\n" for line in lines)

    def apt_proxy_conf(self) -> str:
        return "".join(f'Acquire::{scheme}::Proxy "{url}";\n' for scheme, url in sorted(self.proxies.items()))

    def proxy_env(self) -> dict[str, str]:
        """The proxies as debootstrap (wget) reads them."""
        return {f"{scheme}_proxy": url for scheme, url in self.proxies.items()}


def parse_one_line(text: str) -> list[Source]:
    """``deb [options] uri suite [component...]`` lines; deb-src and comments are skipped."""
    sources = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        line = re.sub(r"\[[^]]*\]", " ", line)  # options such as [arch=amd64 signed-by=...]
        words = line.split()
        if len(words) >= 3 and words[0] == "deb":
            sources.append(Source(words[1], (words[2],), tuple(words[3:])))
    return sources


def parse_deb822(text: str) -> list[Source]:
    """deb822 stanzas (Types, URIs, Suites, Components; Enabled: no skips one)."""
    sources = []
    for stanza in re.split(r"\n[ \t]*\n", text):
        fields = _deb822_fields(stanza)
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        suites = tuple(fields.get("suites", "").split())
        components = tuple(fields.get("components", "").split())
        sources.extend(Source(uri, suites, components) for uri in fields.get("uris", "").split() if suites)
    return sources


def _deb822_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = None
    for line in stanza.splitlines():
        if line.startswith("#"):
            continue
        if line[:1] in (" ", "\t"):  # a continuation line (a Signed-By key block, say)
            if name:
                fields[name] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if sep:
            name = key.strip().lower()
            fields[name] = value.strip()
    return fields


def source_files(apt_dir: Path = APT_DIR) -> list[Path]:
    """The files apt reads sources from, in apt's order."""
    parts = apt_dir / "sources.list.d"
    listed = sorted(p for p in parts.glob("*") if p.suffix in (".list", ".sources")) if parts.is_dir() else []
    return [path for path in [apt_dir / "sources.list", *listed] if path.is_file()]


def configured_sources(apt_dir: Path = APT_DIR) -> list[Source]:
    sources = []
    for path in source_files(apt_dir):
        parse = parse_deb822 if path.suffix == ".sources" else parse_one_line
        sources.extend(parse(path.read_text()))
    return sources


def apt_proxies(dump: str) -> dict[str, str]:
    """Acquire::http::Proxy and Acquire::https::Proxy from `apt-config dump` output."""
    return {
        m["scheme"]: m["url"]
        for m in PROXY_LINE.finditer(dump)
        if m["url"] and m["url"].lower() not in ("direct", "false")
    }


def machine_apt_config() -> str:
    """`apt-config dump`, or nothing on a machine without apt."""
    if shutil.which("apt-config") is None:
        return ""
    return subprocess.run(["apt-config", "dump"], capture_output=True, text=True, check=False).stdout


def debian_archives(apt_dir: Path = APT_DIR, apt_config: str | None = None) -> DebianArchives:
    """The machine's Debian archive (the first apt lists), its security archive and apt proxies."""
    sources = configured_sources(apt_dir)
    mirror = next(
        (
            s.uri.rstrip("/")
            for s in sources
            if "main" in s.components and RELEASES & set(s.suites) and s.uri.startswith(MIRROR_SCHEMES)
        ),
        None,
    )
    if mirror is None:
        looked = ", ".join(str(path) for path in source_files(apt_dir)) or f"nothing under {apt_dir}"
        raise AptSourcesError(
            f"no Debian archive in the machine's apt sources: looked for a `deb` source of a Debian release "
            f"({', '.join(sorted(RELEASES))}) with the main component, served over http(s) or file:, "
            f"in {apt_dir / 'sources.list'} and {apt_dir / 'sources.list.d'}/*.list and *.sources "
            f"(read: {looked}); add the Debian archive, or a local mirror of it, to apt's sources"
        )
    security = next(
        (
            s.uri.rstrip("/")
            for s in sources
            if "main" in s.components and any(x.endswith("-security") for x in s.suites)
        ),
        None,
    )
    updates = any(s.uri.rstrip("/") == mirror and any(x.endswith("-updates") for x in s.suites) for s in sources)
    dump = machine_apt_config() if apt_config is None else apt_config
    return DebianArchives(mirror, security, updates, apt_proxies(dump))
