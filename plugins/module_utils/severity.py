# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The seed's incident severities and their response times, in one place.

The seed ("Incident Response"): P0 (critical) service down, data loss, security breach, answered in
15 minutes; P1 (high) major functionality impaired, performance degraded, 1 hour; P2 (medium) minor
functionality issues with workarounds, 4 hours; P3 (low) enhancements, cosmetic issues, next business day.
"""

from __future__ import annotations

from typing import NamedTuple


class Severity(NamedTuple):
    level: str
    meaning: str
    response_time: str


SEVERITIES: dict[str, Severity] = {
    s.level: s
    for s in (
        Severity("P0", "critical: service down, data loss, security breach", "15 minutes"),
        Severity("P1", "high: major functionality impaired, performance degraded", "1 hour"),
        Severity("P2", "medium: minor functionality issues, workarounds available", "4 hours"),
        Severity("P3", "low: enhancement requests, cosmetic issues", "next business day"),
    )
}


def severity_rank(level: str | None) -> int:
    """0 for P0 up to 3 for P3; 4 for no severity (all is well), so sorting puts the worst first."""
    return int(level[1]) if level in SEVERITIES else len(SEVERITIES)
