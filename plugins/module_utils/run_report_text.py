# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report's small helpers: times, durations, hidden secrets and safe file names.

Every other ``run_report_*`` module uses them; they use nothing of the report. Pure Python: no
Ansible, no AWS.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

REDACTED = "********"
SECRET_NAME = re.compile(r"password|secret|token|private_key|api_key|credential", re.IGNORECASE)
# How the page (run_report_markdown) and the timeline (run_report_svg) show yes, no and unknown.
MARK = {True: "✓", False: "✗", None: "—"}


# Time


def timestamp(moment: datetime | None = None) -> str:
    """ISO-8601 in UTC with milliseconds, e.g. 2026-12-07T03:04:05.123Z."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_timestamp(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def seconds_between(start: str, end: str) -> float:
    return round((parse_timestamp(end) - parse_timestamp(start)).total_seconds(), 3)


def new_run_id(moment: datetime | None = None) -> str:
    """UTC time of the start to the second, and six hex digits: 20261207T030405Z-a1b2c3."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return f"{moment.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def human_duration(seconds: float | None) -> str:
    """4.2s, 31s, 5m 26s, 18m, 4h, 1h 05m."""
    if seconds is None:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + "s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes}m {rest:02d}s" if rest else f"{minutes}m"
    hours, rest = divmod(whole, 3600)
    return f"{hours}h {rest // 60:02d}m" if rest // 60 else f"{hours}h"


def clock(seconds: float) -> str:
    """An offset from the start: +mm:ss, or +h:mm:ss past an hour."""
    hours, rest = divmod(int(max(seconds, 0)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"+{hours}:{minutes:02d}:{secs:02d}" if hours else f"+{minutes:02d}:{secs:02d}"


def offset(report: Mapping[str, Any], at: str | None) -> float:
    """Seconds from the start of the run to at; 0 without either."""
    if not at or not report.get("started"):
        return 0.0
    return max(seconds_between(report["started"], at), 0.0)


# Text


def is_secret(name: str, secret_names: Collection[str] = ()) -> bool:
    return name in secret_names or bool(SECRET_NAME.search(name))


def redact(value: Any, secret_names: Collection[str] = ()) -> Any:
    """The value with every secret input (named in secret_names, or by its name) replaced, at any depth."""
    if isinstance(value, Mapping):
        return {
            str(key): REDACTED if is_secret(str(key), secret_names) else redact(item, secret_names)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item, secret_names) for item in value]
    return value


def safe_name(part: Any) -> str:
    """part as a file name: letters, digits, dots, dashes and underscores only, never empty."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(part)).strip("._") or "unknown"
