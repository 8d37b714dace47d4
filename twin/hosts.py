"""Hosts plane of the local twin: systemd Debian containers under podman.

Each host is a container running systemd as PID 1, reached by Ansible through the
`containers.podman.podman` connection. No container registry is reachable, so the image is built
here with debootstrap and `podman import`, from the Debian archive the machine's own apt uses and
through its apt proxy (twin.apt_sources); the packages debootstrap downloads are kept under
`.cache/host-image/` so rebuilding the image does not download them again.

    python -m twin.hosts up NAME...   start these hosts (running ones are left alone)
    python -m twin.hosts rm NAME...   remove these hosts
    python -m twin.hosts down         remove every host of this twin (WEDSYNC_TWIN_STATE)
    python -m twin.hosts list         the hosts of this twin
    python -m twin.hosts image [--app] build the image (and the app servers') unless already there
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from twin import apt_sources

REPO = Path(__file__).resolve().parents[1]
CONTAINERS_CONF = Path(__file__).resolve().with_name("containers.conf")
CACHE = REPO / ".cache" / "host-image"

IMAGE = "localhost/wedsync-twin-debian:bookworm"
LABEL_KEY = "wedsync-twin"
LABEL_VALUE = "host"
RECIPE_LABEL = "wedsync-twin.recipe"
# Which twin a host belongs to, so that `twin down` of one twin leaves another's hosts alone.
STATE_LABEL = "wedsync-twin.state"

SUITE = "bookworm"
# systemd as init; python3 for Ansible and python3-apt for its apt module (which would otherwise
# install it on every new host); apt and ca-certificates for real patching; the rest is what an EC2
# Debian image has and the roles and runbooks call (sudo for become, ps/pgrep, ip).
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    "python3-apt",
    "apt",
    "ca-certificates",
    "sudo",
    "procps",
    "iproute2",
)
IMAGE_CHANGES = ('CMD ["/sbin/init"]', "STOPSIGNAL SIGRTMIN+3")
# How long systemd in a host waits for a stopped unit's processes (see _configure).
STOP_TIMEOUT = "5s"
# Bump when _configure() changes what goes into the image, so existing images are rebuilt.
CONFIGURE_REVISION = "3"

READY_STATES = frozenset({"running", "degraded"})
BOOT_TIMEOUT = 90.0
NAME_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")


class HostError(RuntimeError):
    """A host or the image could not be brought to the asked state; the message says why."""


# podman -------------------------------------------------------------------------------------------


def _twin_state() -> str:
    return str(Path(os.environ.get("WEDSYNC_TWIN_STATE", REPO / ".twin")).resolve())


def podman_env() -> dict[str, str]:
    """The environment for podman: the caller's, with the project's containers.conf unless one is set."""
    env = dict(os.environ)
    if not env.get("CONTAINERS_CONF"):
        env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def _run(
    argv: Sequence[str], *, check: bool = True, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    env = {**podman_env(), **(env or {})}
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, **kwargs)
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise HostError(f"`{' '.join(argv)}` failed ({result.returncode}): {detail}")
    return result


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _run(["podman", *args], check=check)


# the image ----------------------------------------------------------------------------------------


@functools.cache
def _archives() -> apt_sources.DebianArchives:
    """The machine's Debian archives and apt proxy, read once per process."""
    try:
        return apt_sources.debian_archives()
    except apt_sources.AptSourcesError as error:
        raise HostError(str(error)) from None


def _sources_list() -> str:
    # debootstrap only writes the release itself; security updates are what patching runbooks apply.
    return _archives().sources_list(SUITE)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def _debootstrap_key() -> str:
    return _digest(SUITE, _archives().mirror, *PACKAGES)


def _recipe_key() -> str:
    """Changes whenever anything that goes into the image changes, so a stale image is rebuilt."""
    return _digest(
        _debootstrap_key(), _sources_list(), _archives().apt_proxy_conf(), CONFIGURE_REVISION, *IMAGE_CHANGES
    )


def _image_recipe(image: str = IMAGE) -> str | None:
    result = _podman("image", "inspect", "--format", f'{{{{index .Labels "{RECIPE_LABEL}"}}}}', image, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    """One builder at a time: `twin up` and a Molecule run may both ask for the image."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_image(rebuild: bool = False) -> str:
    """Build the host image unless an image from the current recipe exists; return its name."""
    with _build_lock():
        if not rebuild and _image_recipe() == _recipe_key():
            return IMAGE
        _remove_stale_work()
        tarball = _debootstrap_tarball()
        with _work_dir("rootfs-") as root:
            _unpack(tarball, root)
            _configure(root)
            _import(root)
    return IMAGE


# The app servers' image, the twin's stand-in for a Debian 12 AMI baked with what the launch template's
# user data installs (so a host boots without fetching packages, as from a golden image): cloud-init
# to run the user data, locales for its locale module, the user data's own packages and the OS
# baseline's (host_baseline: chrony, unattended-upgrades).
APP_IMAGE = "localhost/wedsync-twin-debian-app:bookworm"
APP_PACKAGES = (
    *("cloud-init", "locales", "awscli", "jq", "unzip", "curl", "nodejs", "npm"),
    *("chrony", "unattended-upgrades"),
)
# The twin's hosts are seeded with NoCloud (on EC2 cloud-init finds the Ec2 datasource) and have no
# network of their own to configure: they share the machine's.
CLOUD_CFG = (
    "datasource_list: [NoCloud, None]\n"
    "network: {config: disabled}\n"
    # Reached through podman, not SSH: the image has no SSH server to make keys for.
    "ssh_genkeytypes: []\n"
)
APP_IMAGE_REVISION = "3"


def _app_recipe_key() -> str:
    return _digest(_recipe_key(), *APP_PACKAGES, CLOUD_CFG, APP_IMAGE_REVISION)


def _containerfile() -> str:
    packages = " ".join(APP_PACKAGES)
    return (
        f"FROM {IMAGE}\n"
        f"RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {packages}"
        # The locale cloud-init sets (en_US.UTF-8, as on Debian's cloud images), generated and set as
        # in a golden image whose build ran cloud-init once: a boot does not spend 4 s on locale-gen.
        " && sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen && locale-gen"
        " && update-locale LANG=en_US.UTF-8"
        " && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb"
        " && touch -d @0 /var/lib/apt/lists\n"
        "COPY 90-wedsync-twin.cfg /etc/cloud/cloud.cfg.d/90-wedsync-twin.cfg\n"
        f"LABEL {RECIPE_LABEL}={_app_recipe_key()}\n"
    )


def ensure_app_image(rebuild: bool = False) -> str:
    """Build the app servers' image from the host image unless it is up to date; return its name."""
    ensure_image()
    with _build_lock():
        if not rebuild and _image_recipe(APP_IMAGE) == _app_recipe_key():
            return APP_IMAGE
        replaced = _image_id(APP_IMAGE)
        with _work_dir("app-image-") as context:
            (context / "Containerfile").write_text(_containerfile())
            (context / "90-wedsync-twin.cfg").write_text(CLOUD_CFG)
            _run(["podman", "build", "--pull=never", "--tag", APP_IMAGE, str(context)])
        if replaced and replaced != _image_id(APP_IMAGE):
            _podman("image", "rm", replaced, check=False)
    return APP_IMAGE


def _tarball_path() -> Path:
    return CACHE / f"debootstrap-{SUITE}-{_debootstrap_key()}.tgz"


def _debootstrap_tarball() -> Path:
    """The packages of the base system, downloaded once (debootstrap --make-tarball)."""
    tarball = _tarball_path()
    if tarball.exists():
        return tarball
    partial = tarball.with_name(tarball.name + ".partial")
    with _work_dir("download-") as scratch:
        _debootstrap(f"--make-tarball={partial}", scratch / "target")
    os.replace(partial, tarball)
    return tarball


def _unpack(tarball: Path, root: Path) -> None:
    _debootstrap(f"--unpack-tarball={tarball}", root)


def _debootstrap(mode: str, target: Path) -> None:
    include = ",".join(PACKAGES)
    archives = _archives()
    argv = ["debootstrap", "--variant=minbase", f"--include={include}", mode, SUITE, str(target), archives.mirror]
    _run(argv, env=archives.proxy_env())


def _configure(root: Path) -> None:
    (root / "etc/apt/sources.list").write_text(_sources_list())
    proxy_conf = _archives().apt_proxy_conf()
    if proxy_conf:
        # The hosts fetch packages the way the machine does.
        (root / "etc/apt/apt.conf.d/01proxy").write_text(proxy_conf)
    # Package lists and .debs would only age in the image; hosts fetch fresh ones like a new instance.
    for cache in ("var/lib/apt/lists", "var/cache/apt/archives"):
        for entry in (root / cache).glob("*"):
            if entry.is_file():
                entry.unlink()
    # Ansible's apt module dates the cache by this directory's mtime; emptying it just now would make
    # an empty cache look fresh to `cache_valid_time`, and installs would find no package.
    os.utime(root / "var/lib/apt/lists", (0, 0))
    # Empty, so systemd gives every container its own machine id at boot.
    (root / "etc/machine-id").write_text("")
    # Under cgroup v1 systemd in a container is never told that a unit's cgroup has emptied, so every
    # stop waits out the stop timeout (90 s by default) after the processes are gone. On EC2 a stop ends
    # when they exit; here it ends at most STOP_TIMEOUT after they are asked to.
    (root / "etc/systemd/system.conf.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/systemd/system.conf.d/90-wedsync-twin.conf").write_text(
        f"[Manager]\nDefaultTimeoutStopSec={STOP_TIMEOUT}\n"
    )


def _image_id(image: str = IMAGE) -> str | None:
    result = _podman("image", "inspect", "--format", "{{.Id}}", image, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def _import(root: Path) -> None:
    replaced = _image_id()
    changes = [*IMAGE_CHANGES, f"LABEL {RECIPE_LABEL}={_recipe_key()}"]
    argv = ["podman", "import", *(arg for change in changes for arg in ("--change", change)), "-", IMAGE]
    # Streamed: the rootfs never exists twice on disk. Leaving the block closes the pipe, so tar
    # cannot hang if podman stops reading.
    with subprocess.Popen(["tar", "--numeric-owner", "-C", str(root), "-c", "."], stdout=subprocess.PIPE) as tar:
        _run(argv, stdin=tar.stdout)
    if tar.returncode != 0:
        raise HostError(f"tar of {root} failed ({tar.returncode})")
    if replaced and replaced != _image_id():
        # Untagged by the import; containers still using it keep it, and then this removal fails.
        _podman("image", "rm", replaced, check=False)


@contextlib.contextmanager
def _work_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=CACHE))
    try:
        yield path
    finally:
        _remove_tree(path)


def _remove_stale_work() -> None:
    """Remove what an interrupted build left behind, and package sets of older recipes.

    Called with the build lock held, so no other build is using them.
    """
    current = _tarball_path().name
    for path in CACHE.glob("*"):
        if path.name.startswith(("rootfs-", "download-", "app-image-")) and path.is_dir():
            _remove_tree(path)
        elif path.name.endswith(".partial") or (path.name.startswith("debootstrap-") and path.name != current):
            path.unlink()


def _remove_tree(path: Path) -> None:
    # An interrupted debootstrap leaves /proc and /sys mounted in its target: unmount them before
    # deleting, or rmtree would walk into the machine's own /proc and /sys.
    for mountpoint in _mounts_below(path):
        subprocess.run(["umount", "--lazy", mountpoint], check=False, capture_output=True)
    if _mounts_below(path):
        raise HostError(f"{path} still has mounts below it; unmount them and retry")
    shutil.rmtree(path, ignore_errors=True)


def _mounts_below(path: Path) -> list[str]:
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    return sorted((p for p in points if p.startswith(prefix)), reverse=True)


# hosts --------------------------------------------------------------------------------------------


def _inspect(name: str) -> dict[str, Any] | None:
    result = _podman("container", "inspect", name, check=False)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)[0]


def _is_twin_host(info: dict[str, Any]) -> bool:
    labels = info.get("Config", {}).get("Labels") or {}
    return labels.get(LABEL_KEY) == LABEL_VALUE


def _check_names(names: Sequence[str]) -> None:
    bad = [name for name in names if not NAME_PATTERN.fullmatch(name)]
    if bad:
        raise HostError(f"not a valid container name: {', '.join(bad)} (letters, digits, '_', '.', '-')")


def launch(name: str, image: str, *options: str, hostname: str | None = None) -> str:
    """Create and start `name`, start it if stopped, leave it alone if running; say which.

    ``options`` are further `podman run` options (networks, volumes, labels) for a new container.
    """
    info = _inspect(name)
    if info is None:
        _podman(
            "run",
            "--detach",
            "--name",
            name,
            "--hostname",
            hostname or name,
            "--label",
            f"{LABEL_KEY}={LABEL_VALUE}",
            "--label",
            f"{STATE_LABEL}={_twin_state()}",
            "--systemd",
            "always",
            *options,
            image,
        )
        return "created"
    if not _is_twin_host(info):
        raise HostError(f"a container named {name} exists and is not a twin host; remove it or pick another name")
    if info["State"]["Status"] == "running":
        return "left running"
    _podman("start", name)
    return "started"


def stop(name: str) -> None:
    """Shut a host down as `poweroff` would (systemd stops its units), keeping its disk."""
    _podman("stop", "--time", "10", name)


def resume(name: str) -> None:
    """Boot a stopped host again."""
    _podman("start", name)


def _systemd_state(name: str) -> str:
    # is-system-running exits non-zero for every state but "running", so only its output counts.
    result = _podman("exec", name, "systemctl", "is-system-running", check=False)
    return result.stdout.strip() or result.stderr.strip()


def _wait_ready(name: str, timeout: float = BOOT_TIMEOUT) -> str:
    deadline = time.monotonic() + timeout
    state = "unknown"
    while time.monotonic() < deadline:
        info = _inspect(name)
        if info is None or info["State"]["Status"] != "running":
            logs = _podman("logs", "--tail", "20", name, check=False).stdout.strip()
            raise HostError(f"host {name} stopped while booting; last log lines:\n{logs}")
        state = _systemd_state(name)
        if state in READY_STATES:
            return state
        time.sleep(0.25)
    failed = _podman("exec", name, "systemctl", "--failed", "--no-legend", check=False).stdout.strip()
    raise HostError(f"host {name} not ready after {timeout:.0f}s (systemd: {state}); failed units:\n{failed}")


def start(names: list[str]) -> list[dict[str, str]]:
    """Start one systemd host container per name and wait until each has booted.

    Running hosts are left alone. Returns per host its name, id, container state, systemd state and
    action: created, started (it existed, stopped) or left running.
    """
    _check_names(names)
    image = ensure_image()
    actions = {name: launch(name, image) for name in names}
    hosts = []
    for name, action in actions.items():
        systemd = _wait_ready(name)
        info = _inspect(name) or {}
        hosts.append(
            {
                "name": name,
                "id": info.get("Id", "")[:12],
                "state": info.get("State", {}).get("Status", ""),
                "systemd": systemd,
                "action": action,
            }
        )
    return hosts


def list_hosts() -> list[dict[str, str]]:
    """Every host container of this twin (WEDSYNC_TWIN_STATE), running or not."""
    result = _podman(
        "ps",
        "--all",
        "--filter",
        f"label={LABEL_KEY}={LABEL_VALUE}",
        "--filter",
        f"label={STATE_LABEL}={_twin_state()}",
        "--format",
        "json",
    )
    return [
        {"name": entry["Names"][0], "id": entry["Id"][:12], "state": entry["State"], "status": entry["Status"]}
        for entry in json.loads(result.stdout or "[]")
    ]


def remove(names: list[str]) -> list[str]:
    """Remove these host containers; names that do not exist are skipped. Returns the names removed."""
    _check_names(names)
    present = []
    for name in names:
        info = _inspect(name)
        if info is None:
            continue
        if not _is_twin_host(info):
            raise HostError(f"refusing to remove {name}: it is not a twin host")
        present.append(name)
    if present:
        _podman("rm", "--force", "--volumes", "--time", "10", "--ignore", *present, check=False)
        left = [name for name in present if _inspect(name) is not None]
        if left:
            raise HostError(f"could not remove {', '.join(left)}; see `podman ps -a`")
    return present


def remove_all() -> list[str]:
    """Remove every host container of this twin; returns their names."""
    return remove([host["name"] for host in list_hosts()])


# command line -------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="twin hosts", description="Host containers of the local twin.")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    up = commands.add_parser("up", help="start hosts (running ones are left alone) and wait until booted")
    up.add_argument("names", nargs="+", metavar="NAME")
    rm = commands.add_parser("rm", help="remove these hosts")
    rm.add_argument("names", nargs="+", metavar="NAME")
    commands.add_parser("down", help="remove every host of this twin (WEDSYNC_TWIN_STATE)")
    commands.add_parser("list", help="list the hosts of this twin")
    image = commands.add_parser("image", help=f"build {IMAGE} unless it is up to date")
    image.add_argument("--rebuild", action="store_true", help="build even if the image is up to date")
    image.add_argument("--app", action="store_true", help=f"also the app servers' image, {APP_IMAGE}")
    return parser


def _print_rows(rows: list[dict[str, str]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    for row in rows:
        print("  ".join(f"{key}={value}" for key, value in row.items()))


def _dispatch(args: argparse.Namespace) -> None:
    began = time.monotonic()
    if args.command == "up":
        _print_rows(start(args.names), args.json)
    elif args.command in ("rm", "down"):
        removed = remove(args.names) if args.command == "rm" else remove_all()
        _print_rows([{"removed": name} for name in removed], args.json)
    elif args.command == "list":
        _print_rows(list_hosts(), args.json)
    else:
        built = [ensure_image(rebuild=args.rebuild)] + ([ensure_app_image(rebuild=args.rebuild)] if args.app else [])
        _print_rows([{"image": image} for image in built], args.json)
    if not args.json:
        print(f"twin hosts {args.command}: done in {time.monotonic() - began:.1f}s", file=sys.stderr)


def cli(argv: list[str]) -> int:
    """`twin hosts up NAME... | rm NAME... | down | list | image`; returns the exit status."""
    args = _parser().parse_args(argv)
    if os.geteuid() != 0:
        print("twin hosts: error: the hosts plane runs rootful podman and debootstrap; run it as root", file=sys.stderr)
        return 2
    try:
        _dispatch(args)
    except FileNotFoundError as missing:
        print(f"twin hosts: error: {missing.filename} is not installed; run `make system-deps`", file=sys.stderr)
        return 1
    except HostError as error:
        print(f"twin hosts: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(cli(sys.argv[1:]))
