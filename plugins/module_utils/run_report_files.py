# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The run report's files: ``report.json``, ``report.md`` and ``timeline.svg`` in one directory.

``write_report`` leaves a report (as ``run_report_builder.build_report`` makes it) with its page
(``run_report_markdown``) and its timeline (``run_report_svg``) in the directory that
``report_directory`` names after the run. Pure Python: no Ansible, no AWS.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils.run_report_markdown import render_markdown
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_svg import render_svg
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_text import safe_name

FILES = {"json": "report.json", "markdown": "report.md", "svg": "timeline.svg"}


def report_directory(base: str, report: Mapping[str, Any]) -> str:
    """<base>/<runbook>-<action>-<run_id>."""
    return os.path.join(base, "-".join(safe_name(report[key]) for key in ("runbook", "action", "run_id")))


def write_report(report: Mapping[str, Any], directory: str) -> dict[str, str]:
    """Writes report.json, report.md and timeline.svg into directory (created); returns their paths by kind."""
    os.makedirs(directory, exist_ok=True)
    contents = {
        "json": json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n",
        "markdown": render_markdown(report),
        "svg": render_svg(report),
    }
    paths = {}
    for kind, name in FILES.items():
        path = os.path.join(directory, name)
        partial = f"{path}.partial"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(contents[kind])
        os.replace(partial, path)
        paths[kind] = path
    return paths
