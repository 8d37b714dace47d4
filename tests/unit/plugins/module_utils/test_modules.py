"""WedSyncAWSModule: amazon.aws's module class, identifying this collection, one boto3 session per run."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.module_utils.ansible_release import __version__ as ANSIBLE_VERSION
from ansible.module_utils.testing import patch_module_args
from ansible_collections.amazon.aws.plugins.module_utils.common import get_collection_info, set_collection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry, RetryingBotoClientWrapper
from ansible_collections.wedsync.platform.plugins.module_utils.modules import (
    WEDSYNC_PLATFORM_COLLECTION_NAME,
    WedSyncAWSModule,
)
from ansible_collections.wedsync.platform.plugins.module_utils.version import COLLECTION_VERSION

GALAXY = Path(__file__).resolve().parents[4] / "galaxy.yml"


@pytest.fixture(autouse=True)
def collection_info():
    """amazon.aws keeps the collection info in one module-wide dict: restore it for other tests."""
    info = get_collection_info()
    saved = dict(info)
    yield
    info.clear()
    info.update(saved)


@pytest.fixture
def aws_env(monkeypatch) -> None:
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_URL",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def new_module(args: dict) -> WedSyncAWSModule:
    with patch_module_args(args):
        return WedSyncAWSModule(argument_spec={}, supports_check_mode=True)


def test_version_matches_galaxy_yml() -> None:
    galaxy = yaml.safe_load(GALAXY.read_text())
    assert f"{galaxy['namespace']}.{galaxy['name']}" == WEDSYNC_PLATFORM_COLLECTION_NAME
    assert galaxy["version"] == COLLECTION_VERSION


def test_module_identifies_the_collection_to_botocore(aws_env) -> None:
    set_collection_info(collection_name="amazon.aws", collection_version="10.1.2")
    module = new_module({"region": "us-east-1"})
    assert isinstance(module, AnsibleAWSModule)
    assert get_collection_info() == {"name": "wedsync.platform", "version": COLLECTION_VERSION}
    client = module.client("rds")
    assert client.meta.config.user_agent.startswith(
        f"APN/1.0 Ansible/{ANSIBLE_VERSION} wedsync.platform/{COLLECTION_VERSION}"
    )


def test_clients_of_every_region_and_service_share_one_session(aws_env) -> None:
    module = new_module({"region": "us-east-1"})
    east = module.client("rds")
    west = module.client("cloudwatch", region="us-west-2")
    assert (east.meta.region_name, west.meta.region_name) == ("us-east-1", "us-west-2")
    assert len(module._sessions) == 1


def test_client_takes_the_module_endpoint_credentials_and_botocore_config(aws_env) -> None:
    module = new_module(
        {
            "region": "us-east-1",
            "endpoint_url": "http://127.0.0.1:5000",
            "access_key": "AKIDEXAMPLE",
            "secret_key": "wJalrXUtnFEMI",
            "aws_config": {"connect_timeout": 7},
        }
    )
    client = module.client("rds", retry_decorator=AWSRetry.jittered_backoff())
    assert isinstance(client, RetryingBotoClientWrapper)
    assert client.meta.endpoint_url == "http://127.0.0.1:5000"
    assert client.meta.config.connect_timeout == 7
    assert client._request_signer._credentials.access_key == "AKIDEXAMPLE"


def test_botocore_honours_aws_endpoint_url_when_no_endpoint_is_given(aws_env, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5001")
    assert new_module({"region": "us-east-1"}).client("rds").meta.endpoint_url == "http://127.0.0.1:5001"


def test_no_region_fails_with_how_to_set_one(aws_env, capsys) -> None:
    with patch_module_args({}), pytest.raises(SystemExit):
        WedSyncAWSModule(argument_spec={}).client("rds")
    assert "requires a region: set the region parameter or AWS_REGION" in capsys.readouterr().out
