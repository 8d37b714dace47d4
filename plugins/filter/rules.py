# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""broken_rules: the messages of the input rules that do not hold; the logic lives in module_utils/rules.py."""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.wedsync.platform.plugins.module_utils.rules import broken_rules


def _broken_rules(rules: Any) -> list[str]:
    try:
        return broken_rules(rules)
    except ValueError as error:
        raise AnsibleFilterError(f"wedsync.platform.broken_rules: {error}") from error


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"broken_rules": _broken_rules}
