"""The hosts' image follows the machine's apt configuration: sources in both formats, and its proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin import hosts
from twin.apt_sources import (
    AptSourcesError,
    DebianArchives,
    Source,
    apt_proxies,
    debian_archives,
    parse_deb822,
    parse_one_line,
)

ONE_LINE = """\
# the local mirror
deb [arch=amd64 signed-by=/usr/share/keyrings/debian.gpg] http://mirror.lan/debian/ bookworm main contrib
deb-src http://mirror.lan/debian bookworm main
deb http://mirror.lan/debian bookworm-updates main # point releases
deb http://mirror.lan/debian-security bookworm-security main
"""

DEB822 = """\
Types: deb deb-src
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://apt-cache.lan:3142/debian
Suites: trixie trixie-updates
Components: main non-free-firmware
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL0BUBEADmW5NlOXc
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: http://apt-cache.lan:3142/debian-security
Suites: trixie-security
Components: main

Types: deb
Enabled: no
URIs: http://old.lan/debian
Suites: bookworm
Components: main
"""


def apt_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_one_line_sources_skip_deb_src_options_and_comments() -> None:
    assert parse_one_line(ONE_LINE) == [
        Source("http://mirror.lan/debian/", ("bookworm",), ("main", "contrib")),
        Source("http://mirror.lan/debian", ("bookworm-updates",), ("main",)),
        Source("http://mirror.lan/debian-security", ("bookworm-security",), ("main",)),
    ]


def test_deb822_stanzas_with_continuations_comments_and_disabled_ones() -> None:
    assert parse_deb822(DEB822) == [
        Source("http://apt-cache.lan:3142/debian", ("trixie", "trixie-updates"), ("main", "non-free-firmware")),
        Source("http://apt-cache.lan:3142/debian-security", ("trixie-security",), ("main",)),
    ]


def test_the_image_follows_a_one_line_mirror(tmp_path: Path) -> None:
    archives = debian_archives(apt_dir(tmp_path, {"sources.list": ONE_LINE}), apt_config="")
    assert archives == DebianArchives("http://mirror.lan/debian", "http://mirror.lan/debian-security", True, {})
    assert archives.sources_list("bookworm") == (
        "deb http://mirror.lan/debian bookworm main\n"
        "deb http://mirror.lan/debian bookworm-updates main\n"
        "deb http://mirror.lan/debian-security bookworm-security main\n"
    )


def test_the_image_follows_a_deb822_mirror_and_skips_third_party_sources(tmp_path: Path) -> None:
    files = {
        # Listed first by apt (sorted), but not a Debian release, or not main.
        "sources.list.d/docker.list": "deb https://download.docker.com/linux/debian bookworm stable\n",
        "sources.list.d/a-nodesource.sources": "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\n"
        "Suites: nodistro\nComponents: main\n",
        "sources.list.d/debian.sources": DEB822,
        "sources.list.d/ignored.list.disabled": "deb http://elsewhere.lan/debian bookworm main\n",
    }
    archives = debian_archives(apt_dir(tmp_path, files), apt_config="")
    assert archives.mirror == "http://apt-cache.lan:3142/debian"
    assert archives.security == "http://apt-cache.lan:3142/debian-security"
    assert archives.updates is True


def test_without_security_or_updates_sources_the_image_has_the_release_alone(tmp_path: Path) -> None:
    archives = debian_archives(apt_dir(tmp_path, {"sources.list": "deb file:/srv/mirror bookworm main\n"}), "")
    assert archives.sources_list("bookworm") == "deb file:/srv/mirror bookworm main\n"


def test_the_apt_proxy_reaches_debootstrap_and_the_hosts() -> None:
    dump = (
        'Acquire::http::Proxy "http://proxy.lan:3128";\n'
        'Acquire::http::Proxy::deb.debian.org "DIRECT";\n'
        'Acquire::https::Proxy "DIRECT";\n'
        'Acquire::Retries "3";\n'
    )
    proxies = apt_proxies(dump)
    assert proxies == {"http": "http://proxy.lan:3128"}
    archives = DebianArchives("http://deb.debian.org/debian", proxies=proxies)
    assert archives.proxy_env() == {"http_proxy": "http://proxy.lan:3128"}
    assert archives.apt_proxy_conf() == 'Acquire::http::Proxy "http://proxy.lan:3128";\n'


def test_no_debian_source_is_an_error_naming_what_was_looked_for(tmp_path: Path) -> None:
    files = {"sources.list.d/docker.list": "deb https://download.docker.com/linux/debian bookworm stable\n"}
    with pytest.raises(AptSourcesError) as raised:
        debian_archives(apt_dir(tmp_path, files), apt_config="")
    message = str(raised.value)
    assert "no Debian archive" in message
    assert f"{tmp_path}/sources.list.d/docker.list" in message
    assert "main component" in message
    assert "bookworm" in message


def test_an_empty_apt_directory_is_an_error_too(tmp_path: Path) -> None:
    with pytest.raises(AptSourcesError, match=f"read: nothing under {tmp_path}"):
        debian_archives(tmp_path, apt_config="")


def test_the_image_is_built_from_the_machine_archive_through_its_proxy(monkeypatch, tmp_path: Path) -> None:
    archives = DebianArchives("http://mirror.lan/debian", None, False, {"http": "http://proxy.lan:3128"})
    monkeypatch.setattr(hosts, "_archives", lambda: archives)
    calls = []
    monkeypatch.setattr(hosts, "_run", lambda argv, **kwargs: calls.append((argv, kwargs.get("env"))))
    hosts._debootstrap("--make-tarball=/tmp/x.tgz", tmp_path / "target")
    ((argv, env),) = calls
    assert argv[-3:] == [hosts.SUITE, str(tmp_path / "target"), "http://mirror.lan/debian"]
    assert env == {"http_proxy": "http://proxy.lan:3128"}

    for directory in ("etc/apt/apt.conf.d", "var/lib/apt/lists", "var/cache/apt/archives"):
        (tmp_path / directory).mkdir(parents=True)
    hosts._configure(tmp_path)
    assert (tmp_path / "etc/apt/sources.list").read_text() == "deb http://mirror.lan/debian bookworm main\n"
    assert (tmp_path / "etc/apt/apt.conf.d/01proxy").read_text() == 'Acquire::http::Proxy "http://proxy.lan:3128";\n'
