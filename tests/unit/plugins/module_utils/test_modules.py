"""WedSyncAWSModule: amazon.aws's module class, identifying this collection."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.common import get_collection_info, set_collection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.wedsync.platform.plugins.module_utils.modules import (
    WEDSYNC_PLATFORM_COLLECTION_NAME,
    WEDSYNC_PLATFORM_COLLECTION_VERSION,
    WedSyncAWSModule,
)

GALAXY = Path(__file__).resolve().parents[4] / "galaxy.yml"


@pytest.fixture
def collection_info():
    """amazon.aws keeps the collection info in one module-wide dict: restore it for other tests."""
    info = get_collection_info()
    saved = dict(info)
    yield
    info.clear()
    info.update(saved)


def test_version_matches_galaxy_yml() -> None:
    galaxy = yaml.safe_load(GALAXY.read_text())
    assert f"{galaxy['namespace']}.{galaxy['name']}" == WEDSYNC_PLATFORM_COLLECTION_NAME
    assert galaxy["version"] == WEDSYNC_PLATFORM_COLLECTION_VERSION


def test_module_identifies_the_collection_to_botocore(collection_info) -> None:
    set_collection_info(collection_name="amazon.aws", collection_version="10.1.2")
    with patch_module_args({"region": "us-east-1"}):
        module = WedSyncAWSModule(argument_spec={}, supports_check_mode=True)
    assert isinstance(module, AnsibleAWSModule)
    assert get_collection_info() == {"name": "wedsync.platform", "version": WEDSYNC_PLATFORM_COLLECTION_VERSION}
    assert module.region == "us-east-1"
