"""The Jinja tests wedsync.platform.name_prefix, aws_region and environment_name, alone and through a template."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from ansible_collections.wedsync.platform.plugins.test.naming import TestModule as NamingTests
from unit.playbook_runs import ROOT, run_playbook, task_results

TESTS = NamingTests().tests()


def test_the_plugin_exposes_the_three_tests() -> None:
    assert set(TESTS) == {"name_prefix", "aws_region", "environment_name"}


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ("name_prefix", "wedsync-production", True),
        ("name_prefix", "wedsync-production-east-01", True),
        ("name_prefix", "wedsync-production-east-012", False),
        ("name_prefix", "Wedsync", False),
        ("name_prefix", None, False),
        ("aws_region", "us-gov-west-1", True),
        ("aws_region", "useast1", False),
        ("aws_region", 1, False),
        ("environment_name", "production", True),
        ("environment_name", "Production", False),
        ("environment_name", "p" * 33, False),
    ],
)
def test_each_test_is_true_exactly_when_the_value_is_valid(test: str, value: Any, expected: bool) -> None:
    assert TESTS[test](value) is expected


@pytest.fixture(scope="module")
def in_ansible(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each test over valid and invalid values in a template, and the documentation ansible-doc reads."""
    playbook = tmp_path_factory.mktemp("naming") / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    results = dict(task_results(run_playbook(playbook, "-i", "localhost,"), "localhost"))
    return results["Apply each test"]["msg"]


PLAYBOOK = """
- name: The naming tests through Ansible's templating
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Apply each test
      ansible.builtin.debug:
        msg:
          prefix:
            - "{{ 'wedsync-local' is wedsync.platform.name_prefix }}"
            - "{{ 'wedsync-' is wedsync.platform.name_prefix }}"
          region:
            - "{{ 'cn-north-1' is wedsync.platform.aws_region }}"
            - "{{ 'useast1' is wedsync.platform.aws_region }}"
          environment:
            - "{{ 'staging' is wedsync.platform.environment_name }}"
            - "{{ 1 is wedsync.platform.environment_name }}"
"""


def test_in_ansible_each_test_is_reached_by_its_full_name(in_ansible: dict[str, Any]) -> None:
    assert in_ansible == {"prefix": [True, False], "region": [True, False], "environment": [True, False]}


@pytest.mark.parametrize("test", sorted(TESTS))
def test_each_test_is_documented_for_ansible_doc(test: str) -> None:
    doc = yaml.safe_load((ROOT / "plugins" / "test" / f"{test}.yml").read_text())
    assert doc["DOCUMENTATION"]["name"] == test
    assert doc["DOCUMENTATION"]["version_added"] == "0.1.0"
    assert doc["DOCUMENTATION"]["options"]["_input"]["required"] is True
    assert f"wedsync.platform.{test}" in doc["EXAMPLES"]
    assert doc["RETURN"]["_value"]["type"] == "boolean"
