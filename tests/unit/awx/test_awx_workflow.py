"""awx/workflows.yml and the approval rule (plugins/module_utils/awx_workflow.py): the repository's
configuration keeps it, and each way of breaking it is found."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from ansible_collections.wedsync.platform.plugins.module_utils.awx_survey import plain
from ansible_collections.wedsync.platform.plugins.module_utils.awx_workflow import (
    approval_violations,
    problems,
    workflow_job_template,
)
from unit.playbook_runs import ROOT


def load(name: str) -> Any:
    return yaml.safe_load((ROOT / "awx" / f"{name}.yml").read_text())[f"awx_{name}"]


TEMPLATES, SCHEDULES, WORKFLOWS = load("job_templates"), load("schedules"), load("workflows")
RETIRE = {"name": "retire", "behind_approval": "it removes the rollback path"}
SYNTHETIC_TEMPLATES = [{"name": "deploy"}, {"name": "check"}, RETIRE]


def approval(name: str = "Go on?", timeout: Any = 600) -> dict[str, Any]:
    return {"name": name, "description": "", "timeout": timeout}


def guarded(**changes: Any) -> dict[str, Any]:
    """deploy -> approve -> retire, with ``changes`` to its nodes by id."""
    nodes = {
        "deploy": {"id": "deploy", "job_template": "deploy", "on_success": ["approve"]},
        "approve": {"id": "approve", "approval": approval(), "on_success": ["retire"]},
        "retire": {"id": "retire", "job_template": "retire"},
    }
    for node_id, change in changes.items():
        nodes[node_id] = {**nodes.get(node_id, {"id": node_id}), **change}
    return {"name": "synthetic", "nodes": list(nodes.values())}


def test_the_repository_keeps_the_approval_rule() -> None:
    names = [template["name"] for template in TEMPLATES]
    assert problems(WORKFLOWS, names) == []
    assert approval_violations(WORKFLOWS, TEMPLATES, SCHEDULES) == []
    assert any(template.get("behind_approval") for template in TEMPLATES)


def test_a_guarded_template_passes() -> None:
    assert problems([guarded()], ["deploy", "check", "retire"]) == []
    assert approval_violations([guarded()], SYNTHETIC_TEMPLATES, []) == []


@pytest.mark.parametrize(
    ("workflow", "found"),
    [
        pytest.param(
            guarded(deploy={"on_success": ["retire"]}),
            "retire (it removes the rollback path) runs in synthetic with no approval before it: deploy -> retire",
            id="no-approval-on-the-path",
        ),
        pytest.param(
            # A second branch goes round the approval: one path without it is enough.
            guarded(
                deploy={"on_success": ["approve"], "on_failure": ["check"]},
                check={"job_template": "check", "always": ["retire"]},
            ),
            "no approval before it: deploy -> check -> retire",
            id="a-path-around-the-approval",
        ),
        pytest.param(
            guarded(approve={"on_success": ["retire"], "on_failure": ["check"]}, check={"job_template": "check"}),
            "synthetic: approval approve leads to check on failure or always; a denied or timed-out approval must do"
            " nothing",
            id="an-expired-approval-leads-on",
        ),
    ],
)
def test_each_way_round_an_approval_is_found(workflow: dict[str, Any], found: str) -> None:
    violations = approval_violations([workflow], SYNTHETIC_TEMPLATES, [])
    assert len(violations) == 1 and found in violations[0]


def test_a_template_behind_approval_on_a_clock_is_found() -> None:
    schedule = {"name": "nightly retire", "job_template": "retire"}
    assert approval_violations([guarded()], SYNTHETIC_TEMPLATES, [schedule]) == [
        "retire (it removes the rollback path) has a schedule of its own, nightly retire: a clock would run it"
        " without approval"
    ]


def test_a_template_behind_approval_that_no_workflow_runs_is_found() -> None:
    workflow = guarded(approve={"on_success": []})
    workflow["nodes"] = [node for node in workflow["nodes"] if node["id"] != "retire"]
    assert approval_violations([workflow], SYNTHETIC_TEMPLATES, []) == [
        "retire (it removes the rollback path) is run by no workflow, so by nothing that asks for an approval first"
    ]


@pytest.mark.parametrize(
    ("workflow", "found"),
    [
        (
            guarded(deploy={"job_template": "nothing"}),
            "synthetic: node deploy runs nothing, which awx/job_templates.yml",
        ),
        (guarded(approve={"on_success": ["gone"]}), "synthetic: node approve leads to gone, which is no node of it"),
        (guarded(check={"job_template": "check", "approval": approval("Other?")}), "node check must have either"),
        (guarded(check={}), "node check must have either job_template or approval"),
        (guarded(approve={"approval": approval(timeout=0)}), "an approval needs a timeout in seconds, not 0"),
        (guarded(approve={"approval": {"name": "Go on?"}}), "an approval needs a timeout in seconds, not None"),
        ({**guarded(), "survey_from": "nothing"}, "synthetic: survey_from nothing, which awx/job_templates.yml"),
        (guarded(retire={"on_success": ["deploy"]}), "synthetic: node deploy is never reached (a cycle)"),
    ],
)
def test_a_workflow_that_cannot_be_applied_as_written_is_named(workflow: dict[str, Any], found: str) -> None:
    assert any(found in problem for problem in problems([workflow], ["deploy", "check", "retire"])), found


def test_duplicate_node_ids_and_approval_names_are_named() -> None:
    workflow = guarded()
    workflow["nodes"].append({"id": "deploy", "job_template": "check"})
    assert "synthetic: node id deploy is used 2 times" in problems([workflow], ["deploy", "check", "retire"])
    twice = [guarded(), {**guarded(), "name": "other"}]
    assert problems(twice, ["deploy", "check", "retire"]) == ["approval 'Go on?' is named 2 times"]


def survey(*questions: dict[str, Any]) -> dict[str, Any]:
    return {"survey_spec": {"name": "s", "description": "", "spec": list(questions)}}


BOOLEAN = {"variable": "scale_down", "type": "multiplechoice", "choices": ["true", "false"]}
VERSION = {"variable": "version", "type": "text"}


def test_a_workflow_becomes_awx_awx_parameters() -> None:
    workflow = {**guarded(deploy={"extra_vars": {"scale_down": False}}), "survey_from": "deploy"}
    templates = {"deploy": survey(VERSION, BOOLEAN), "retire": survey()}
    params = workflow_job_template(workflow, templates, "WedSync")
    assert params["allow_simultaneous"] is False
    # The workflow's answers would override the node's: it does not ask what a node pins.
    assert params["survey_spec"]["spec"] == [VERSION] and params["survey_enabled"] is True
    deploy, approve, retire = params["workflow_nodes"]
    assert deploy == {
        "identifier": "deploy",
        "unified_job_template": {"name": "deploy", "type": "job_template", "organization": {"name": "WedSync"}},
        "related": {"success_nodes": [{"identifier": "approve"}], "failure_nodes": [], "always_nodes": []},
        "extra_data": {"scale_down": "false"},
    }
    assert approve["unified_job_template"] == {
        "name": "Go on?",
        "description": "",
        "timeout": 600,
        "type": "workflow_approval",
    }
    assert retire["related"] == {"success_nodes": [], "failure_nodes": [], "always_nodes": []}
    assert "extra_data" not in retire


def test_a_workflow_without_survey_from_asks_nothing() -> None:
    params = workflow_job_template(guarded(), {"deploy": survey(VERSION), "retire": survey()}, "WedSync")
    assert (params["survey_enabled"], params["survey_spec"]) == (False, {})


@pytest.mark.parametrize(
    ("pinned", "says"),
    [({"other": "x"}, "pins other, which deploy does not ask"), ({"scale_down": "no"}, "not one of its choices")],
)
def test_a_pin_awx_would_not_pass_is_refused(pinned: dict[str, Any], says: str) -> None:
    workflow = guarded(deploy={"extra_vars": pinned})
    with pytest.raises(ValueError, match=says):
        workflow_job_template(workflow, {"deploy": survey(BOOLEAN), "retire": survey()}, "WedSync")


# The words by which a runbook's argument spec says it does what only an approval may start.
APPROVAL_WORDS = re.compile(r"\b(promot(e|es|ed|ing|ion)|restor(e|es|ed|ing)|vault lock)\b", re.IGNORECASE)


def entry_point_description(template: dict[str, Any]) -> str:
    specs = yaml.safe_load((ROOT / "roles" / template["runbook"] / "meta" / "argument_specs.yml").read_text())
    entry = specs["argument_specs"][template["entry_point"]]
    return plain([entry.get("short_description", ""), *entry.get("description", [])])


def test_a_template_whose_runbook_promotes_restores_or_locks_a_vault_is_behind_approval() -> None:
    unmarked = [
        template["name"]
        for template in TEMPLATES
        if APPROVAL_WORDS.search(entry_point_description(template)) and not template.get("behind_approval")
    ]
    assert unmarked == []


@pytest.mark.parametrize(
    ("description", "matches"),
    [
        ("Promotes the us-west-2 replica to a standalone primary", True),
        ("Restores the latest snapshot into production", True),
        ("Applies the backup Vault Lock in compliance mode", True),
        ("Deploy a release to the idle colour and shift the traffic to it", False),
        ("All traffic back on the colour that served before", False),
    ],
)
def test_the_approval_words(description: str, matches: bool) -> None:
    assert bool(APPROVAL_WORDS.search(description)) is matches
