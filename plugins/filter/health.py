# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""health_findings: what the deep health check read, as findings with the seed's severities;
e2e_findings: the end-to-end check's journey (wedsync.platform.e2e_journey), likewise; percentile: the
nearest-rank percentile of response times.

The logic lives in module_utils/health.py and module_utils/e2e_check.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.wedsync.platform.plugins.module_utils.e2e_check import (
    RESPONSE_TIME_TARGET_MS,
    journey_findings,
    percentile,
)
from ansible_collections.wedsync.platform.plugins.module_utils.health import deep_health_findings


def _health_findings(read: Mapping[str, Any]) -> list[dict[str, Any]]:
    try:
        return deep_health_findings(read)
    except (KeyError, TypeError, ValueError) as error:
        raise AnsibleFilterError(f"wedsync.platform.health_findings: what was read lacks {error}") from error


def _e2e_findings(journey: Mapping[str, Any], target_ms: float = RESPONSE_TIME_TARGET_MS) -> list[dict[str, Any]]:
    try:
        return journey_findings(journey, float(target_ms))
    except (KeyError, TypeError, ValueError) as error:
        raise AnsibleFilterError(f"wedsync.platform.e2e_findings: the journey lacks {error}") from error


def _percentile(values: list[float], pct: float) -> float | None:
    try:
        return percentile([float(v) for v in values], float(pct))
    except (TypeError, ValueError) as error:
        raise AnsibleFilterError(f"wedsync.platform.percentile: {error}") from error


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"health_findings": _health_findings, "e2e_findings": _e2e_findings, "percentile": _percentile}
