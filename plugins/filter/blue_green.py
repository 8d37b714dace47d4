# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The blue/green runbook's decisions as filters; the logic lives in module_utils/blue_green.py."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.wedsync.platform.plugins.module_utils import blue_green


def _filter(function: Callable[..., Any]) -> Callable[..., Any]:
    """The function, with its ValueError reported as a filter error."""

    @functools.wraps(function)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ValueError as error:
            raise AnsibleFilterError(str(error)) from error

    return wrapped


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "blue_green_view": _filter(blue_green.blue_green_view),
            "blue_green_plan": _filter(blue_green.blue_green_plan),
            "blue_green_rollback": _filter(blue_green.blue_green_rollback),
            "blue_green_retire": _filter(blue_green.blue_green_retire),
            "blue_green_resume_skips": _filter(blue_green.resume_skips),
            "blue_green_deploy_input_problems": _filter(blue_green.deploy_input_problems),
        }
