"""The network role's subnets, as its vars compute them (ansible.utils, netaddr) for each inventory: the layout
the estate was built with, which a change to the arithmetic must not move."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from unit.playbook_runs import ROOT, run_playbook, task_results

# Tier order as network__subnets lists them: public a, b, c, then private a, b, c.
LAYOUTS = {
    "production": {
        "production-us-east-1": [
            "10.0.48.0/24",
            "10.0.49.0/24",
            "10.0.50.0/24",
            "10.0.0.0/20",
            "10.0.16.0/20",
            "10.0.32.0/20",
        ],
    },
    "production+dr": {
        "production-us-east-1": [
            "10.0.48.0/24",
            "10.0.49.0/24",
            "10.0.50.0/24",
            "10.0.0.0/20",
            "10.0.16.0/20",
            "10.0.32.0/20",
        ],
        "production-us-west-2": [
            "10.1.48.0/24",
            "10.1.49.0/24",
            "10.1.50.0/24",
            "10.1.0.0/20",
            "10.1.16.0/20",
            "10.1.32.0/20",
        ],
    },
    "staging": {
        "staging-us-east-1": [
            "10.2.12.0/26",
            "10.2.12.64/26",
            "10.2.12.128/26",
            "10.2.0.0/22",
            "10.2.4.0/22",
            "10.2.8.0/22",
        ],
    },
    "local": {
        "local-us-east-1": [
            "10.0.48.0/24",
            "10.0.49.0/24",
            "10.0.50.0/24",
            "10.0.0.0/20",
            "10.0.16.0/20",
            "10.0.32.0/20",
        ],
        "local-us-west-2": [
            "10.1.48.0/24",
            "10.1.49.0/24",
            "10.1.50.0/24",
            "10.1.0.0/20",
            "10.1.16.0/20",
            "10.1.32.0/20",
        ],
    },
}

# Layouts that do not fit, on production's us-east-1 (10.0.0.0/16): what network__layout_problems says.
MISFITS = [
    (
        {
            "network_vpc_cidr": "172.16.0.0/18",
            "network_public_subnet_prefix_length": 20,
            "network_private_subnet_prefix_length": 20,
        },
        [
            "wedsync-production-public-b 172.16.64.0/20 (from network_public_subnet_prefix_length) is not inside"
            " network_vpc_cidr 172.16.0.0/18",
            "wedsync-production-public-c 172.16.80.0/20 (from network_public_subnet_prefix_length) is not inside"
            " network_vpc_cidr 172.16.0.0/18",
        ],
    ),
    (
        {"network_public_subnet_cidrs": ["10.0.0.0/24", "10.0.201.0/24", "10.9.202.0/24"]},
        [
            "wedsync-production-public-a 10.0.0.0/24 (from network_public_subnet_cidrs[0]) overlaps"
            " wedsync-production-private-a 10.0.0.0/20 (from network_private_subnet_prefix_length)",
            "wedsync-production-public-c 10.9.202.0/24 (from network_public_subnet_cidrs[2]) is not inside"
            " network_vpc_cidr 10.0.0.0/16",
        ],
    ),
]


def render(tmp_path: Path, inventories: list[str], plays: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """network__subnets and network__layout_problems per host, each play's in order, from the role's own files."""
    # A role of the role's defaults and vars only, found beside the playbook.
    probe = tmp_path / "roles" / "network_layout"
    (probe / "tasks").mkdir(parents=True)
    for part in ("defaults", "vars"):
        (probe / part).symlink_to(ROOT / "roles" / "network" / part)
    show = (
        "{{ {'subnets': network__subnets | map(attribute='cidr') | list,"
        " 'problems': network__layout_problems} | to_json }}"
    )
    (probe / "tasks" / "main.yml").write_text(
        yaml.safe_dump([{"name": "Show", "ansible.builtin.debug": {"msg": show}}])
    )
    playbook = tmp_path / "playbook.yml"
    playbook.write_text(yaml.safe_dump(plays, sort_keys=False))
    arguments = [argument for inventory in inventories for argument in ("-i", str(ROOT / "inventories" / inventory))]
    run = run_playbook(playbook, *arguments)
    return {
        f"{index}:{host}": json.loads(result["msg"])
        for index, play in enumerate(run["plays"])
        for host in play["tasks"][0]["hosts"]
        for _, result in task_results({"plays": [play]}, host)
    }


def play(given: dict[str, Any] | None = None, hosts: str = "all") -> dict[str, Any]:
    return {"name": "Layout", "hosts": hosts, "gather_facts": False, "vars": given or {}, "roles": ["network_layout"]}


@pytest.mark.parametrize("inventory", sorted(LAYOUTS))
def test_each_inventory_keeps_its_subnets(inventory: str, tmp_path: Path) -> None:
    rendered = render(tmp_path, inventory.split("+"), [play()])
    assert {host.split(":", 1)[1]: view["subnets"] for host, view in rendered.items()} == LAYOUTS[inventory]
    assert all(view["problems"] == [] for view in rendered.values())


def test_a_layout_that_does_not_fit_is_named(tmp_path: Path) -> None:
    rendered = render(tmp_path, ["production"], [play(given) for given, _ in MISFITS])
    assert [rendered[f"{index}:production-us-east-1"]["problems"] for index in range(len(MISFITS))] == [
        problems for _, problems in MISFITS
    ]
