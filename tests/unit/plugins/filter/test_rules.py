"""wedsync.platform.broken_rules: the messages of the rules that do not hold, and nothing passes by mistake."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.wedsync.platform.plugins.filter.rules import FilterModule
from ansible_collections.wedsync.platform.plugins.module_utils.rules import broken_rules
from unit.playbook_runs import run_playbook, task_results

BROKEN_RULES = FilterModule().filters()["broken_rules"]


def test_all_rules_hold() -> None:
    assert broken_rules([{"ok": True, "says": "a"}, {"ok": True, "says": "b"}]) == []
    assert broken_rules([]) == []


def test_only_the_rules_that_fail_are_reported_in_order() -> None:
    rules = [
        {"ok": False, "says": "storage_abort_incomplete_upload_days must be at least 1, not 0"},
        {"ok": True, "says": "storage_kms_alias must start with alias/"},
        {"ok": False, "says": "storage_replica_region must differ from storage_region"},
    ]
    assert broken_rules(rules) == [
        "storage_abort_incomplete_upload_days must be at least 1, not 0",
        "storage_replica_region must differ from storage_region",
    ]


def test_a_message_loses_the_whitespace_a_folded_scalar_leaves() -> None:
    assert broken_rules([{"ok": False, "says": "  x must be 1\n"}]) == ["x must be 1"]


@pytest.mark.parametrize("ok", ["False", "True", "", 0, 1, None, [], ["x"]])
def test_an_ok_that_is_not_a_boolean_is_a_mistake_not_a_pass(ok: Any) -> None:
    with pytest.raises(ValueError, match=r"rule 2 'x must be 1': ok must be true or false, not "):
        broken_rules([{"ok": True, "says": "fine"}, {"ok": ok, "says": "x must be 1"}])


@pytest.mark.parametrize(
    ("rules", "error"),
    [
        ("ok", "the rules must be a list of {ok, says} mappings, not str"),
        ({"ok": True, "says": "x"}, "the rules must be a list of {ok, says} mappings, not dict"),
        (None, "the rules must be a list of {ok, says} mappings, not NoneType"),
        ([{"ok": True}], r"rule 1 must be a mapping of exactly ok and says, not \['ok'\]"),
        (
            [{"ok": True, "says": "x", "msg": "y"}],
            r"rule 1 must be a mapping of exactly ok and says, not \['msg', 'ok'",
        ),
        ([{"okk": True, "says": "x"}], r"rule 1 must be a mapping of exactly ok and says, not \['okk', 'says'\]"),
        (["x"], "rule 1 must be a mapping of exactly ok and says, not str"),
        ([{"ok": False, "says": ""}], "rule 1: says must be a message, not str ''"),
        ([{"ok": False, "says": 3}], "rule 1: says must be a message, not int 3"),
    ],
)
def test_malformed_rules_are_refused(rules: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        broken_rules(rules)


def test_the_filter_reports_a_mistake_as_a_filter_error_naming_itself() -> None:
    with pytest.raises(
        AnsibleFilterError, match=r"wedsync.platform.broken_rules: rule 1 'x': ok must be true or false"
    ):
        BROKEN_RULES([{"ok": "yes", "says": "x"}])


PLAYBOOK = """
- name: broken_rules through Ansible's templating
  hosts: localhost
  gather_facts: false
  vars:
    days: 0
    alias: alias/x
    rules:
      - {ok: "{{ days | int >= 1 }}", says: "days must be at least 1, not {{ days }}"}
      - {ok: "{{ alias is match('^alias/') }}", says: "alias must start with alias/, not {{ alias }}"}
      # A rule that holds may carry a message that cannot render: it is never rendered.
      - {ok: "{{ true }}", says: "{{ undefined_variable }}"}
      - ok: >-
          {{ days | int >= 1
             or 'wedsync-' is wedsync.platform.name_prefix }}
        says: >-
          a folded rule
          on two lines
  tasks:
    - name: Rules stated in vars
      ansible.builtin.debug:
        msg: "{{ rules | wedsync.platform.broken_rules }}"

    - name: A condition outside the braces
      ansible.builtin.debug:
        msg: "{{ typo | wedsync.platform.broken_rules }}"
      vars:
        typo: [{ok: "{{ days | int }} >= 1", says: days must be at least 1}]
      ignore_errors: true
"""


@pytest.fixture(scope="module")
def in_ansible(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    playbook = tmp_path_factory.mktemp("rules") / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    return dict(task_results(run_playbook(playbook, "-i", "localhost,"), "localhost"))


def test_in_ansible_each_ok_is_a_boolean_and_only_broken_messages_render(in_ansible: dict[str, Any]) -> None:
    assert in_ansible["Rules stated in vars"]["msg"] == ["days must be at least 1, not 0", "a folded rule on two lines"]


def test_in_ansible_a_condition_outside_the_braces_fails_the_task(in_ansible: dict[str, Any]) -> None:
    result = in_ansible["A condition outside the braces"]
    assert result["failed"]
    assert "rule 1 'days must be at least 1': ok must be true or false, not str '0 >= 1'" in result["msg"]
