"""Instances plane: every EC2 instance the twin runs is a systemd Debian host under podman.

An instance moto launches (RunInstances, or an Auto Scaling group) in any region becomes a host
container from the app host image (twin.hosts.ensure_app_image, the twin's stand-in for the Debian AMI)
within a second; one that stops is stopped, one that terminates is removed. At first boot cloud-init
runs the instance's user data from a NoCloud seed that carries what EC2's instance metadata would:
instance id, hostname, private address and the instance's tags (as with instance metadata tags on).

What stands for the instance's surroundings on EC2, and how (docs/twin.md, "App servers"):

- The network: hosts share the machine's network namespace, so AWS (the twin's endpoint), PostgreSQL
  and Redis are where their endpoints say, on loopback, and nothing else is reachable that the machine
  cannot reach. Each instance has a loopback address of its own (127.77.x.y), given to it as
  ``local-ipv4`` and in the ``HOST`` its app binds to; the load balancer and its health checks reach
  the instance there.
- The instance profile and regional endpoints: systemd's DefaultEnvironment gives every service the
  twin's ``AWS_ENDPOINT_URL``, credentials and region.
- Amazon's certificate authorities: the twin's CA, which signs the cache's certificates, is trusted by
  the app through ``NODE_EXTRA_CA_CERTS``.
- The release failing on demand: the app's fault file lives in a directory the twin writes from the
  outside (``/run/wedsync-app``), per instance.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends

from twin import hosts
from twin.ca import TwinCA

LOG = logging.getLogger("twin.instances")
# 127.77.0.0/16 is loopback like all of 127/8; hosts take addresses from .0.2 on.
ADDRESS_NETWORK = ipaddress.ip_network("127.77.0.0/16")
CONTAINER_PREFIX = "wedsync-twin-"
SEED_MOUNT = "/var/lib/cloud/seed/nocloud"
ENVIRONMENT_MOUNT = "/etc/systemd/system.conf.d/50-wedsync-twin.conf"
CA_MOUNT = "/etc/wedsync-twin/ca.pem"
FAULT_MOUNT = "/run/wedsync-app"
FAULT_FILE = "fault.json"
# States in which EC2 has the instance's machine running, and in which it has none.
RUNNING_STATES = frozenset({"pending", "running"})
STOPPED_STATES = frozenset({"stopping", "stopped"})


class InstanceError(RuntimeError):
    """An instance's host could not be brought to the state EC2 says; the message says why."""


@dataclass
class Host:
    """The container standing for one instance, and where it is reached."""

    instance_id: str
    region: str
    address: str
    container: str
    hostname: str
    version: str | None = None
    state: str = "launching"
    error: str = ""
    tasks: list[Future[None]] = field(default_factory=list, repr=False)

    def public(self) -> dict[str, Any]:
        return {
            "instance_id": self.instance_id,
            "region": self.region,
            "address": self.address,
            "container": self.container,
            "version": self.version,
            "state": self.state,
            "error": self.error,
        }


class InstancePlane:
    """Keeps one host container per running EC2 instance of this twin; see the module docstring."""

    def __init__(self, state_dir: Path, ca: TwinCA, endpoint: Callable[[], str]) -> None:
        self.directory = state_dir
        self.ca = ca
        self._endpoint = endpoint
        self.hosts: dict[str, Host] = {}
        self._next_address = 2
        self._lock = threading.RLock()
        # Two at a time: a host's boot is mostly podman and systemd, and the machine has two cores.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="instance")
        # The release each instance of a version is told to fail with, through its fault file.
        self._faults: dict[str, dict[str, Any]] = {}

    # -- reading EC2 ------------------------------------------------------------------------------

    @staticmethod
    def _instances() -> Iterator[tuple[str, Any]]:
        for region, backend in list(ec2_backends[DEFAULT_ACCOUNT_ID].items()):
            for reservation in list(backend.reservations.values()):
                for instance in list(reservation.instances):
                    yield region, instance

    # -- reconciling ------------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Bring every host to the state its instance is in: launched, stopped, started or removed."""
        seen = set()
        for region, instance in self._instances():
            state = instance._state.name
            seen.add(instance.id)
            host = self.hosts.get(instance.id)
            if state in RUNNING_STATES and host is None:
                self._launch(region, instance)
            elif host is not None and state in STOPPED_STATES and host.state == "running":
                self._submit(host, self._stop_host, "stopped")
            elif host is not None and state in RUNNING_STATES and host.state == "stopped":
                self._submit(host, self._start_host, "running")
            elif host is not None and state not in RUNNING_STATES | STOPPED_STATES and host.state != "removed":
                self._submit(host, self._remove_host, "removed")
        # An instance moto no longer lists (a reset) takes its host with it.
        for instance_id, host in list(self.hosts.items()):
            if instance_id not in seen and host.state != "removed":
                self._submit(host, self._remove_host, "removed")

    def run(self, stop: threading.Event, interval: float = 0.5) -> None:
        while not stop.wait(interval):
            try:
                with self._lock:
                    self.reconcile()
            except RuntimeError:  # moto's dicts changed under the walk: the next look sees them settled
                LOG.debug("instances changed during a look; looking again", exc_info=True)
            except Exception:  # the plane must outlive one instance it could not read
                LOG.exception("reconciling instances failed")

    def _allocate_address(self) -> str:
        address = str(ADDRESS_NETWORK.network_address + self._next_address)
        self._next_address += 1
        return address

    def _launch(self, region: str, instance: Any) -> None:
        tags = dict(instance.ec2_backend.tags.get(instance.id, {}))
        address = self._allocate_address()
        host = Host(
            instance_id=instance.id,
            region=region,
            address=address,
            container=CONTAINER_PREFIX + instance.id,
            # As EC2 names a host after its private address.
            hostname="ip-" + str(instance.private_ip or address).replace(".", "-"),
            version=tags.get("wedsync:version"),
        )
        self.hosts[instance.id] = host
        seed = self._write_seed(host, instance, tags)
        self._write_fault(host)
        self._submit(host, lambda launched: self._start_container(launched, seed), "running")

    def _submit(self, host: Host, action: Callable[[Host], None], then: str) -> None:
        host.state = {"running": "starting", "stopped": "stopping", "removed": "removing"}[then]

        def work() -> None:
            began = time.monotonic()
            try:
                action(host)
            except (hosts.HostError, OSError) as error:
                host.state, host.error = "failed", str(error)
                LOG.error("instance %s: %s", host.instance_id, error)
                return
            host.state, host.error = then, ""
            LOG.info(
                "instance %s: host %s %s in %.1f s", host.instance_id, host.container, then, time.monotonic() - began
            )

        # Only what is still running is worth waiting for: a host stopped and started often keeps no history.
        host.tasks = [task for task in host.tasks if not task.done()]
        host.tasks.append(self._pool.submit(work))

    # -- a host's files ----------------------------------------------------------------------------

    def _host_dir(self, host: Host) -> Path:
        return self.directory / host.instance_id

    def _write_seed(self, host: Host, instance: Any, tags: dict[str, str]) -> Path:
        directory = self._host_dir(host)
        seed = directory / "seed"
        seed.mkdir(parents=True, exist_ok=True)
        (directory / "fault").mkdir(exist_ok=True)
        meta_data = {
            "instance-id": instance.id,
            "local-hostname": host.hostname,
            "hostname": host.hostname,
            "local-ipv4": host.address,
            "placement": {
                "availability-zone": str(getattr(instance.placement, "zone", instance.placement)),
                "region": host.region,
            },
            "instance-type": instance.instance_type,
            "ami-id": instance.image_id,
            "tags": {"instance": tags},
        }
        (seed / "meta-data").write_text(yaml.safe_dump(meta_data, sort_keys=False))
        (seed / "user-data").write_bytes(_user_data(instance))
        environment = {
            "AWS_ENDPOINT_URL": self._endpoint(),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": host.region,
            "AWS_DEFAULT_REGION": host.region,
            "HOST": host.address,
            "NODE_EXTRA_CA_CERTS": CA_MOUNT,
        }
        assignments = " ".join(f'"{name}={value}"' for name, value in environment.items())
        (directory / "systemd.conf").write_text(f"[Manager]\nDefaultEnvironment={assignments}\n")
        return seed

    # -- podman -----------------------------------------------------------------------------------

    def _start_container(self, host: Host, seed: Path) -> None:
        image = hosts.ensure_app_image()
        directory = self._host_dir(host)
        hosts.launch(
            host.container,
            image,
            "--network",
            "host",
            "--volume",
            f"{seed}:{SEED_MOUNT}:ro",
            "--volume",
            f"{directory / 'systemd.conf'}:{ENVIRONMENT_MOUNT}:ro",
            "--volume",
            f"{self.ca.ensure()}:{CA_MOUNT}:ro",
            "--volume",
            f"{directory / 'fault'}:{FAULT_MOUNT}",
            "--label",
            f"wedsync-twin.instance={host.instance_id}",
            hostname=host.hostname,
        )

    @staticmethod
    def _stop_host(host: Host) -> None:
        hosts.stop(host.container)

    @staticmethod
    def _start_host(host: Host) -> None:
        hosts.resume(host.container)

    @staticmethod
    def _remove_host(host: Host) -> None:
        hosts.remove([host.container])

    # -- what the load balancer and the control API need ------------------------------------------

    def is_host(self, instance_id: str) -> bool:
        """Whether the instance is (or is becoming, or was) a host of this plane, whatever its state."""
        return instance_id in self.hosts

    def address(self, instance_id: str) -> str | None:
        """Where an instance's host answers, while its container runs; None for no host."""
        host = self.hosts.get(instance_id)
        return host.address if host is not None and host.state == "running" else None

    def public(self) -> list[dict[str, Any]]:
        return [host.public() for host in self.hosts.values()]

    def set_fault(self, version: str, fault: dict[str, Any] | None) -> list[str]:
        """Make every host of ``version`` (now and later) answer with ``fault``, or stop it; returns the instances."""
        with self._lock:
            if fault is None:
                self._faults.pop(version, None)
            else:
                self._faults[version] = fault
            touched = []
            for host in self.hosts.values():
                if host.version == version and host.state not in ("removing", "removed"):
                    self._write_fault(host)
                    touched.append(host.instance_id)
            return touched

    def clear_faults(self) -> None:
        with self._lock:
            versions = list(self._faults)
            for version in versions:
                self.set_fault(version, None)

    def _write_fault(self, host: Host) -> None:
        path = self._host_dir(host) / "fault" / FAULT_FILE
        fault = self._faults.get(host.version or "")
        if fault is None:
            path.unlink(missing_ok=True)
            return
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(fault))
        partial.replace(path)  # the app never reads half a file

    def wait_idle(self, timeout: float | None = None) -> None:
        """Until every launch, stop and removal asked so far has finished (for shutdown and tests)."""
        for host in list(self.hosts.values()):
            for task in list(host.tasks):
                with contextlib.suppress(Exception):
                    task.result(timeout=timeout)

    def delete_all(self) -> None:
        """Remove every host this plane started, waiting for launches in progress first."""
        with self._lock:
            self.wait_idle(timeout=120)
            names = [host.container for host in self.hosts.values() if host.state != "removed"]
            with contextlib.suppress(hosts.HostError, FileNotFoundError):
                hosts.remove(names)
            for host in self.hosts.values():
                host.state = "removed"
        self._pool.shutdown(wait=False)


def _user_data(instance: Any) -> bytes:
    """The instance's user data as cloud-init reads it from the seed: decoded, as EC2 serves it."""
    encoded = instance.user_data
    if not encoded:
        return b""
    return base64.b64decode(encoded if isinstance(encoded, str) else encoded.as_bytes())
