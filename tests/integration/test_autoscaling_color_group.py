"""autoscaling_color_group against the twin: retries, metrics and cooldown changes, the region of the action group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import autoscaling_color_group

from twin.client import TwinClient

REPO = Path(__file__).resolve().parents[2]
EAST, WEST = "us-east-1", "us-west-2"
GROUP = "it-color-blue"


def build(region: str, cidr: str) -> dict[str, Any]:
    ec2 = boto3.client("ec2", region_name=region)
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.1.0/24", AvailabilityZone=f"{region}a")["Subnet"]
    ec2.create_launch_template(
        LaunchTemplateName="it-color", LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t3.micro"}
    )
    return {"subnets": [subnet["SubnetId"]]}


@pytest.fixture(scope="module")
def estate(clean_twin: TwinClient) -> dict[str, dict[str, Any]]:
    return {EAST: build(EAST, "10.60"), WEST: build(WEST, "10.61")}


def run(capsys, **args: Any) -> dict[str, Any]:
    args.setdefault("region", EAST)
    args.setdefault("name", GROUP)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        autoscaling_color_group.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def group(region: str = EAST) -> dict[str, Any]:
    client = boto3.client("autoscaling", region_name=region)
    return client.describe_auto_scaling_groups(AutoScalingGroupNames=[GROUP])["AutoScalingGroups"][0]


def test_throttled_calls_are_retried(estate, clean_twin, capsys) -> None:
    clean_twin.inject_fault("DescribeAutoScalingGroups", "throttle", count=2)
    clean_twin.inject_fault("CreateAutoScalingGroup", "throttle", count=1)
    result = run(capsys, launch_template={"launch_template_name": "it-color"}, subnets=estate[EAST]["subnets"],
                 min_size=0, max_size=2, metrics_collection=True)  # fmt: skip
    assert result["changed"]
    assert clean_twin.faults() == []
    assert len(group()["EnabledMetrics"]) == 8


def test_metrics_off_and_a_new_cooldown_converge(estate, capsys) -> None:
    result = run(capsys, min_size=0, max_size=2, metrics_collection=False, default_cooldown=120)
    assert result["changed"]
    assert group()["EnabledMetrics"] == []
    assert group()["DefaultCooldown"] == 120
    assert not run(capsys, min_size=0, max_size=2, metrics_collection=False, default_cooldown=120)["changed"]


PLAY = """
- name: autoscaling_color_group through the action group, in the DR region
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  module_defaults:
    group/wedsync.platform.aws:
      region: us-west-2
  tasks:
    - name: Create
      wedsync.platform.autoscaling_color_group: &group
        name: it-color-blue
        launch_template: {launch_template_name: it-color}
        subnets: "{{ subnets }}"
        min_size: 0
        max_size: 2
        desired_capacity: 0
        capacity_mode: preserve
      register: created
    - name: Again in check mode, with diff
      wedsync.platform.autoscaling_color_group: *group
      check_mode: true
      diff: true
      register: checked
    - name: Report
      ansible.builtin.copy:
        content: "{{ [created, checked] | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def test_a_play_builds_in_the_region_of_the_action_group(estate, tmp_path) -> None:
    playbook, out = tmp_path / "play.yml", tmp_path / "out.json"
    playbook.write_text(PLAY)
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "AWS_REGION": EAST, "AWS_DEFAULT_REGION": EAST}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(playbook),
               "-e", json.dumps({"subnets": estate[WEST]["subnets"], "out": str(out)})]  # fmt: skip
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr

    created, checked = json.loads(out.read_text())
    assert created["changed"] and not checked["changed"]
    assert checked["diff"]["before"] == checked["diff"]["after"]
    assert group(WEST)["VPCZoneIdentifier"] == estate[WEST]["subnets"][0]
