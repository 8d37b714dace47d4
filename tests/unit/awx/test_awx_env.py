"""The secrets awx/ names by environment variable (plugins/module_utils/awx_env.py), and the job templates
rendered for a whole configuration (plugins/module_utils/awx_survey.py)."""

from __future__ import annotations

import re

import pytest
from ansible_collections.wedsync.platform.plugins.module_utils.awx_env import from_env, unset, variables
from ansible_collections.wedsync.platform.plugins.module_utils.awx_survey import job_templates

CREDENTIAL = {"username": "AWS_KEY_ID", "password": "AWS_SECRET"}
NOTIFICATION = {"token": "SLACK_TOKEN", "password": "AWS_SECRET"}


def test_each_variable_once_in_order() -> None:
    assert variables([CREDENTIAL, NOTIFICATION]) == ["AWS_KEY_ID", "AWS_SECRET", "SLACK_TOKEN"]


def test_unset_and_empty_variables_are_named() -> None:
    env = {"AWS_KEY_ID": "id", "AWS_SECRET": ""}
    assert unset([CREDENTIAL, NOTIFICATION], env) == ["AWS_SECRET", "SLACK_TOKEN"]
    assert unset([CREDENTIAL], {"AWS_KEY_ID": "id", "AWS_SECRET": "s"}) == []


def test_fields_take_their_variables_values() -> None:
    assert from_env(CREDENTIAL, {"AWS_KEY_ID": "id", "AWS_SECRET": "s", "OTHER": "o"}) == {
        "username": "id",
        "password": "s",
    }


def test_an_empty_secret_is_never_given() -> None:
    with pytest.raises(ValueError, match=r"^AWS_SECRET not set in the environment$") as raised:
        from_env(CREDENTIAL, {"AWS_KEY_ID": "the-key-id", "AWS_SECRET": ""})
    assert "the-key-id" not in str(raised.value)


SPECS = {
    "runbook": {"argument_specs": {"main": {"options": {}}}},
    "probe": {"argument_specs": {"look": {"short_description": "Look", "options": {"probe_depth": {"type": "int"}}}}},
}


def template(**changes: str) -> dict[str, object]:
    return {"name": "probe look", "runbook": "probe", "entry_point": "look", "inventory": "prod"} | {
        "changes_production": False,
        "behind_approval": "",
        **changes,
    }


def test_job_templates_in_order_each_with_its_inventory_values() -> None:
    rendered = job_templates([template(), template(name="again")], SPECS, {"prod": {"probe_depth": 3}})
    assert [params["name"] for params in rendered] == ["probe look", "again"]
    assert rendered[0]["survey_spec"]["spec"][0]["default"] == 3
    # What awx/ says beyond AWX's fields does not reach awx.awx.job_template.
    assert not {"runbook", "entry_point", "changes_production", "behind_approval"} & rendered[0].keys()


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"runbook": "nothing"}, "probe look: nothing known of 'nothing'"),
        ({"inventory": "stage"}, "probe look: nothing known of 'stage'"),
        ({"entry_point": "touch"}, "probe look: the argument spec has no entry point 'touch'"),
    ],
)
def test_a_template_that_cannot_be_rendered_is_named(changes: dict[str, str], says: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(says)}$"):
        job_templates([template(**changes)], SPECS, {"prod": {}})
