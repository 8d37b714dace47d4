# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""awx_job_template: an awx/ template entry as awx.awx.job_template parameters, its survey made from the
runbook role's argument spec; the logic lives in module_utils/awx_survey.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.wedsync.platform.plugins.module_utils.awx_survey import job_template


def _awx_job_template(
    template: Mapping[str, Any],
    action_specs: Mapping[str, Any],
    runbook_specs: Mapping[str, Any],
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    try:
        params, _ = job_template(template, action_specs, runbook_specs, values or {})
    except (KeyError, ValueError) as error:
        raise AnsibleFilterError(f"wedsync.platform.awx_job_template: {template.get('name')}: {error}") from error
    return params


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"awx_job_template": _awx_job_template}
