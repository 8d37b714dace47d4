# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Input rules stated one at a time: each a condition and the message that says what is wrong when it fails.

A role's validate entry point and a runbook's input gate list their rules as ``{ok: <bool>, says: <message>}``
and report the messages of those that do not hold, so one bad value is reported with its own rule only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

RULE_KEYS = frozenset({"ok", "says"})


def _kind(value: Any) -> str:
    """The plain type a value is given as (Ansible hands over its own subclasses of str, list and dict)."""
    plain = (bool, int, float, str, bytes, list, tuple, dict)
    return next((kind.__name__ for kind in plain if isinstance(value, kind)), type(value).__name__)


def _shown(rule: Mapping[str, Any]) -> str:
    """The rule's message for an error about the rule itself; the message may not render."""
    try:
        return repr(str(rule["says"]))
    except Exception:  # any failure to render: the error about the rule is still worth reporting
        return "(its message does not render)"


def broken_rules(rules: Any) -> list[str]:
    """The messages of the rules that do not hold, in their order; empty when all hold.

    A rule's ``ok`` must be a real boolean: a string such as "False", a number or a list is a mistake in
    the rule (a missing ``{{ }}``, a filter in place of a test), and a mistake must not pass as success.
    """
    if isinstance(rules, str | bytes | Mapping) or not isinstance(rules, Sequence):
        raise ValueError(f"the rules must be a list of {{ok, says}} mappings, not {_kind(rules)}")
    broken = []
    for number, rule in enumerate(rules, start=1):
        if not isinstance(rule, Mapping) or set(rule) != RULE_KEYS:
            keys = sorted(rule) if isinstance(rule, Mapping) else _kind(rule)
            raise ValueError(f"rule {number} must be a mapping of exactly ok and says, not {keys}")
        ok = rule["ok"]
        if not isinstance(ok, bool):
            raise ValueError(
                f"rule {number} {_shown(rule)}: ok must be true or false, not {_kind(ok)} {ok!r}"
                " (write the whole condition inside one {{ }})"
            )
        if ok:
            continue
        says = rule["says"]
        if not isinstance(says, str) or not says.strip():
            raise ValueError(f"rule {number}: says must be a message, not {_kind(says)} {says!r}")
        broken.append(says.strip())
    return broken
