# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Jinja tests for the names every role takes; the definitions live in module_utils/naming.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils import naming


def _test(problem: Callable[[Any], str | None]) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        return problem(value) is None

    test.__doc__ = problem.__doc__
    return test


class TestModule:
    def tests(self) -> dict[str, Callable[[Any], bool]]:
        return {
            "name_prefix": _test(naming.name_prefix_problem),
            "aws_region": _test(naming.aws_region_problem),
            "environment_name": _test(naming.environment_name_problem),
        }
