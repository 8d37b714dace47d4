"""ec2_vpc_flow_log against the twin: retries under throttling, and a play through the action group."""

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
from ansible_collections.wedsync.platform.plugins.modules import ec2_vpc_flow_log

from twin.client import TwinClient

REGION = "us-east-1"
REPO = Path(__file__).resolve().parents[2]
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


@pytest.fixture(scope="module")
def estate(clean_twin: TwinClient) -> dict[str, str]:
    """A VPC, two log groups and a delivery role, made straight through the API."""
    vpc = boto3.client("ec2", region_name=REGION).create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    logs = boto3.client("logs", region_name=REGION)
    for group in ("/it/flow-logs", "/it/flow-logs-play"):
        logs.create_log_group(logGroupName=group)
    role = boto3.client("iam").create_role(RoleName="it-flow-logs", AssumeRolePolicyDocument=json.dumps(TRUST))
    return {"vpc": vpc, "role": role["Role"]["Arn"]}


def run(capsys, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        ec2_vpc_flow_log.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def flow_logs(vpc: str) -> list[dict[str, Any]]:
    ec2 = boto3.client("ec2", region_name=REGION)
    return ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc]}])["FlowLogs"]


def test_throttled_calls_are_retried_and_make_one_flow_log(estate, clean_twin, capsys) -> None:
    clean_twin.inject_fault("DescribeFlowLogs", "throttle", count=2)
    clean_twin.inject_fault("CreateFlowLogs", "throttle", count=2)
    result = run(capsys, resource_id=estate["vpc"], log_group_name="/it/flow-logs",
                 deliver_logs_permission_arn=estate["role"], tags={"Name": "it"})  # fmt: skip

    assert result["changed"]
    assert clean_twin.faults() == []  # each rule was met twice and retried past
    (stored,) = [fl for fl in flow_logs(estate["vpc"]) if fl["LogGroupName"] == "/it/flow-logs"]
    assert stored["FlowLogId"] == result["flow_log"]["flow_log_id"]


def test_a_missing_log_group_is_reported_as_failing_delivery(estate, capsys) -> None:
    result = run(capsys, resource_id=estate["vpc"], log_group_name="/it/no-such-group",
                 deliver_logs_permission_arn=estate["role"])  # fmt: skip

    assert result["flow_log"]["deliver_logs_status"] == "FAILED"
    assert "cannot deliver: Access error" in json.dumps(result.get("warnings", []))  # 2.19 warnings are dicts


PLAY = """
- name: ec2_vpc_flow_log through the action group
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  module_defaults:
    group/wedsync.platform.aws:
      region: us-east-1
  tasks:
    - name: Create
      wedsync.platform.ec2_vpc_flow_log: &flow_log
        resource_id: "{{ vpc }}"
        log_group_name: /it/flow-logs-play
        deliver_logs_permission_arn: "{{ role }}"
        max_aggregation_interval: 60
        tags: {Name: it-play, Team: sre}
      register: created
    - name: Again
      wedsync.platform.ec2_vpc_flow_log: *flow_log
      register: again
    - name: Again in check mode, with diff
      wedsync.platform.ec2_vpc_flow_log: *flow_log
      check_mode: true
      diff: true
      register: checked
    - name: Report
      ansible.builtin.copy:
        content: "{{ [created, again, checked] | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def test_a_play_creates_once_and_then_reports_no_change(estate, tmp_path) -> None:
    playbook, out = tmp_path / "play.yml", tmp_path / "out.json"
    playbook.write_text(PLAY)
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(playbook),
               "-e", json.dumps({"vpc": estate["vpc"], "role": estate["role"], "out": str(out)})]  # fmt: skip
    completed = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr

    created, again, checked = json.loads(out.read_text())
    assert created["changed"] and not again["changed"] and not checked["changed"]
    assert again["flow_log"]["flow_log_id"] == created["flow_log"]["flow_log_id"]
    assert checked["diff"]["before"] == checked["diff"]["after"]
    (stored,) = [fl for fl in flow_logs(estate["vpc"]) if fl["LogGroupName"] == "/it/flow-logs-play"]
    assert stored["MaxAggregationInterval"] == 60
    assert {t["Key"]: t["Value"] for t in stored["Tags"]} == {"Name": "it-play", "Team": "sre"}
