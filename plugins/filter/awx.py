# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The filters the awx_configure role applies awx/ with; the logic lives in module_utils (awx_survey.py,
awx_workflow.py, awx_env.py), where it is unit-tested without Ansible."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.wedsync.platform.plugins.module_utils import awx_env, awx_survey, awx_workflow


def _named(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with its ValueError and KeyError as a filter error that names the filter."""

    @wraps(function)
    def filter_(*args: Any) -> Any:
        try:
            return function(*args)
        except (KeyError, ValueError) as error:
            raise AnsibleFilterError(f"wedsync.platform.{name}: {error}") from error

    return filter_


def _job_templates(
    templates: list[Mapping[str, Any]],
    specs: Mapping[str, Mapping[str, Any]],
    hostvars: Mapping[str, Mapping[str, Any]],
    inventory_hosts: Mapping[str, str],
) -> list[dict[str, Any]]:
    # Only the hosts of the inventories the templates run on: the others are not in this run's inventory.
    inventories = {template["inventory"] for template in templates}
    values = {inventory: hostvars[inventory_hosts[inventory]] for inventory in inventories}
    return awx_survey.job_templates(templates, specs, values)


def _workflow_job_templates(
    workflows: Iterable[Mapping[str, Any]], job_templates: Iterable[Mapping[str, Any]], organization: str
) -> list[dict[str, Any]]:
    by_name = {template["name"]: template for template in job_templates}
    return [awx_workflow.workflow_job_template(workflow, by_name, organization) for workflow in workflows]


def _workflow_problems(workflows: Iterable[Mapping[str, Any]], job_templates: Iterable[Mapping[str, Any]]) -> list[str]:
    return awx_workflow.problems(workflows, [template["name"] for template in job_templates])


class FilterModule:
    def filters(self) -> dict[str, Any]:
        functions: dict[str, Callable[..., Any]] = {
            "awx_job_templates": _job_templates,
            "awx_workflow_job_templates": _workflow_job_templates,
            "awx_workflow_problems": _workflow_problems,
            "awx_approval_violations": awx_workflow.approval_violations,
            "awx_env_variables": awx_env.variables,
            "awx_unset_env": awx_env.unset,
            "awx_from_env": awx_env.from_env,
        }
        return {name: _named(name, function) for name, function in functions.items()}
