# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""``awx/workflows.yml`` as ``awx.awx.workflow_job_template`` parameters, and the approval rule.

A workflow is written as its nodes, each with an ``id`` and either a ``job_template`` (an ``awx/`` job
template's name) or an ``approval`` (``name``, ``description``, ``timeout`` in seconds), and the ids it
leads to ``on_success``, ``on_failure`` and ``always``. A job template node may pin ``extra_vars``, as
survey answers of its template.

The approval rule: a job template marked ``behind_approval`` (it promotes a database, restores into
production, locks a backup vault or removes the rollback path) runs only where a person said yes. It
has no schedule of its own, some workflow runs it, and every path from that workflow's start to it
passes an approval node. An approval that times out or is denied must do nothing: no node follows it
on failure or always.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

# The data's link names, and awx.awx's for them.
LINKS = {"on_success": "success_nodes", "on_failure": "failure_nodes", "always": "always_nodes"}


def _children(node: Mapping[str, Any]) -> list[str]:
    return [child for link in LINKS for child in node.get(link, [])]


def _roots(nodes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The nodes that no link leads to: where AWX starts the workflow."""
    targets = {child for node in nodes.values() for child in _children(node)}
    return [node_id for node_id in nodes if node_id not in targets]


def _reachable(nodes: Mapping[str, Mapping[str, Any]], through_approvals: bool) -> dict[str, list[str]]:
    """Each node reached from the start, with a path to it; ``through_approvals=False`` stops at approvals."""
    paths = {root: [root] for root in _roots(nodes)}
    stack = list(paths)
    while stack:
        node_id = stack.pop()
        if not through_approvals and "approval" in nodes[node_id]:
            continue
        for child in _children(nodes[node_id]):
            if child in nodes and child not in paths:
                paths[child] = [*paths[node_id], child]
                stack.append(child)
    return paths


def _node_problems(workflow: str, node: Mapping[str, Any], ids: set[str], templates: set[str]) -> list[str]:
    where = f"{workflow}: node {node.get('id')}"
    if ("job_template" in node) == ("approval" in node):
        return [f"{where} must have either job_template or approval"]
    found = [f"{where} leads to {child}, which is no node of it" for child in _children(node) if child not in ids]
    if "job_template" in node and node["job_template"] not in templates:
        found.append(f"{where} runs {node['job_template']}, which awx/job_templates.yml does not define")
    timeout = node.get("approval", {}).get("timeout")
    if "approval" in node and not (isinstance(timeout, int) and timeout > 0):
        # One waiting forever would hold the workflow, and allow_simultaneous: false every later launch.
        found.append(f"{where}: an approval needs a timeout in seconds, not {timeout!r}")
    return found


def problems(workflows: Iterable[Mapping[str, Any]], template_names: Iterable[str]) -> list[str]:
    """What keeps the workflows from being applied as written, in their order; empty when nothing does."""
    templates, found = set(template_names), []
    workflows = list(workflows)
    approval_names = Counter(
        node["approval"].get("name") for workflow in workflows for node in workflow["nodes"] if "approval" in node
    )
    for workflow in workflows:
        name, nodes = workflow["name"], workflow["nodes"]
        counts = Counter(node.get("id") for node in nodes)
        found += [f"{name}: node id {node_id} is used {count} times" for node_id, count in counts.items() if count > 1]
        for node in nodes:
            found += _node_problems(name, node, set(counts), templates)
        survey_from = workflow.get("survey_from")
        if survey_from is not None and survey_from not in templates:
            found.append(f"{name}: survey_from {survey_from}, which awx/job_templates.yml does not define")
        by_id = {node["id"]: node for node in nodes if "id" in node}
        reached = _reachable(by_id, through_approvals=True)
        found += [f"{name}: node {node_id} is never reached (a cycle)" for node_id in by_id if node_id not in reached]
    # awx.awx finds an approval by its name alone: two of one name would be one approval to it.
    found += [f"approval {name!r} is named {count} times" for name, count in approval_names.items() if count > 1]
    return found


def _runs(workflows: Iterable[Mapping[str, Any]], template: str) -> list[tuple[Mapping[str, Any], str]]:
    """Each workflow and node id that runs ``template``."""
    return [
        (workflow, node["id"])
        for workflow in workflows
        for node in workflow["nodes"]
        if node.get("job_template") == template
    ]


def approval_violations(
    workflows: Iterable[Mapping[str, Any]],
    templates: Iterable[Mapping[str, Any]],
    schedules: Iterable[Mapping[str, Any]],
) -> list[str]:
    """Where the approval rule is broken, in the order of the templates, then the workflows; empty when it holds.

    Expects workflows without ``problems``.
    """
    workflows, schedules, found = list(workflows), list(schedules), []
    for template in templates:
        name, why = template["name"], template.get("behind_approval")
        if not why:
            continue
        found += [
            f"{name} ({why}) has a schedule of its own, {schedule['name']}: a clock would run it without approval"
            for schedule in schedules
            if schedule["job_template"] == name
        ]
        runs = _runs(workflows, name)
        if not runs:
            found.append(f"{name} ({why}) is run by no workflow, so by nothing that asks for an approval first")
        for workflow, node_id in runs:
            nodes = {node["id"]: node for node in workflow["nodes"]}
            path = _reachable(nodes, through_approvals=False).get(node_id)
            if path:
                found.append(
                    f"{name} ({why}) runs in {workflow['name']} with no approval before it: {' -> '.join(path)}"
                )
    for workflow in workflows:
        for node in workflow["nodes"]:
            after = node.get("on_failure", []) + node.get("always", [])
            if "approval" in node and after:
                found.append(
                    f"{workflow['name']}: approval {node['id']} leads to {', '.join(after)} on failure or always;"
                    " a denied or timed-out approval must do nothing"
                )
    return found


def _answer(value: Any) -> Any:
    """A pinned value as a survey answer gives it: ``true``/``false`` for a boolean, as -e does."""
    return ("true" if value else "false") if isinstance(value, bool) else value


def _extra_data(workflow: str, node: Mapping[str, Any], survey: Mapping[str, Any]) -> dict[str, Any]:
    """The node's pinned variables, which AWX passes only when its template's survey asks them."""
    questions = {question["variable"]: question for question in survey.get("spec", [])}
    extra = {}
    for variable, value in node.get("extra_vars", {}).items():
        question = questions.get(variable)
        if question is None:
            raise ValueError(
                f"{workflow}: node {node['id']} pins {variable}, which {node['job_template']} does not ask"
            )
        answer = _answer(value)
        if question.get("choices") and str(answer) not in question["choices"]:
            raise ValueError(f"{workflow}: node {node['id']} pins {variable} to {answer!r}, not one of its choices")
        extra[variable] = answer
    return extra


def workflow_node(
    workflow: str, node: Mapping[str, Any], job_templates: Mapping[str, Mapping[str, Any]], organization: str
) -> dict[str, Any]:
    """One node as ``awx.awx.workflow_job_template`` takes it in ``workflow_nodes``."""
    if "approval" in node:
        approval = node["approval"]
        unified = {
            "name": approval["name"],
            "description": approval.get("description", ""),
            "timeout": approval["timeout"],
            "type": "workflow_approval",
        }
        extra: dict[str, Any] = {}
    else:
        unified = {"name": node["job_template"], "type": "job_template", "organization": {"name": organization}}
        extra = _extra_data(workflow, node, job_templates[node["job_template"]].get("survey_spec", {}))
    # Every link kind is given, empty or not: awx.awx links only the kinds a node names.
    related = {awx: [{"identifier": child} for child in node.get(link, [])] for link, awx in LINKS.items()}
    params = {"identifier": node["id"], "unified_job_template": unified, "related": related}
    return {**params, "extra_data": extra} if extra else params


def workflow_job_template(
    workflow: Mapping[str, Any], job_templates: Mapping[str, Mapping[str, Any]], organization: str
) -> dict[str, Any]:
    """The ``awx.awx.workflow_job_template`` parameters of a workflow (but its organisation and notifications).

    ``job_templates`` maps each job template's name to its ``awx.awx.job_template`` parameters. The
    workflow's survey is that of its ``survey_from`` template, without the questions a node pins: a
    workflow's answers go to every node, over what a node pins. One run at a time: a second deploy
    must not start while the first waits for its approval.
    """
    name, nodes = workflow["name"], workflow["nodes"]
    pinned = {variable for node in nodes for variable in node.get("extra_vars", {})}
    survey: dict[str, Any] = {}
    if workflow.get("survey_from"):
        spec = job_templates[workflow["survey_from"]].get("survey_spec", {})
        survey = {**spec, "spec": [question for question in spec.get("spec", []) if question["variable"] not in pinned]}
    return {
        "name": name,
        "description": workflow.get("description", ""),
        "allow_simultaneous": False,
        "survey_enabled": bool(survey.get("spec")),
        "survey_spec": survey,
        "workflow_nodes": [workflow_node(name, node, job_templates, organization) for node in nodes],
    }
