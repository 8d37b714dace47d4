# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The secrets ``awx/`` names by environment variable, read from the environment of the run applying it.

A credential's ``inputs_from_env`` and a notification template's ``configuration_from_env`` map each
secret field to the variable holding it (``{password: WEDSYNC_AWX_VAULT_PASSWORD}``); the repository
holds no secret. AWX would store an empty secret as given, so an unset or empty variable is refused
before any change (``unset``), and ``from_env`` never returns an empty value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def variables(mappings: Iterable[Mapping[str, str]]) -> list[str]:
    """Every variable the mappings name, once each, in the order they first appear."""
    return list(dict.fromkeys(name for mapping in mappings for name in mapping.values()))


def unset(mappings: Iterable[Mapping[str, str]], env: Mapping[str, str]) -> list[str]:
    """The variables the mappings name that ``env`` lacks or holds empty, once each, in order."""
    return [name for name in variables(mappings) if not env.get(name)]


def from_env(fields: Mapping[str, str], env: Mapping[str, str]) -> dict[str, str]:
    """Each field with the value of the variable it names in ``env``.

    Raises ``ValueError`` naming the variables unset (never their values), rather than give AWX an
    empty secret.
    """
    missing = unset([fields], env)
    if missing:
        raise ValueError(f"{', '.join(missing)} not set in the environment")
    return {field: env[name] for field, name in fields.items()}
