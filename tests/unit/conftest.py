"""Unit tests run modules in this process, so what one module run leaves behind must not reach the next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ansible.module_utils.common import warnings


@pytest.fixture(autouse=True)
def fresh_module_warnings() -> Iterator[None]:
    """A module's warnings and deprecations are process-global in Ansible; a real run is its own process."""
    warnings._global_warnings.clear()
    warnings._global_deprecations.clear()
    yield
