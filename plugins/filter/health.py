# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""health_findings: what the deep health check read, as findings with the seed's severities.

The logic lives in module_utils/health.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.wedsync.platform.plugins.module_utils.health import deep_health_findings


def _health_findings(read: Mapping[str, Any]) -> list[dict[str, Any]]:
    try:
        return deep_health_findings(read)
    except (KeyError, TypeError, ValueError) as error:
        raise AnsibleFilterError(f"wedsync.platform.health_findings: what was read lacks {error}") from error


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"health_findings": _health_findings}
