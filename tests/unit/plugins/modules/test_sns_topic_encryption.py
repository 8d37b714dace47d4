"""sns_topic_encryption against moto: set, converge, check mode on a topic to come, turn off, refuse a missing topic."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import sns_topic_encryption
from moto import mock_aws

REGION = "us-east-1"
KEY = "alias/it-sns"


@pytest.fixture
def aws(monkeypatch) -> Any:
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sns.create_topic(Name="it-alerts")
        # A topic whose name ends like the other's must never be taken for it.
        sns.create_topic(Name="xit-alerts")
        yield sns


def run(capsys, check_mode: bool = False, diff: bool = False, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        sns_topic_encryption.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def key_of(sns, name: str) -> str | None:
    arn = f"arn:aws:sns:{REGION}:123456789012:{name}"
    return sns.get_topic_attributes(TopicArn=arn)["Attributes"].get("KmsMasterKeyId")


def test_encrypts_by_name_then_converges(aws, capsys) -> None:
    predicted = run(capsys, check_mode=True, diff=True, topic="it-alerts", kms_master_key_id=KEY)
    assert predicted["changed"]
    assert predicted["diff"] == {"before": {"kms_master_key_id": ""}, "after": {"kms_master_key_id": KEY}}
    assert key_of(aws, "it-alerts") is None
    result = run(capsys, topic="it-alerts", kms_master_key_id=KEY)
    assert result["changed"]
    assert result["topic_arn"] == f"arn:aws:sns:{REGION}:123456789012:it-alerts"
    assert key_of(aws, "it-alerts") == KEY
    assert key_of(aws, "xit-alerts") is None
    assert not run(capsys, topic=result["topic_arn"], kms_master_key_id=KEY)["changed"]


def test_turns_encryption_off_with_an_empty_key(aws, capsys) -> None:
    run(capsys, topic="it-alerts", kms_master_key_id=KEY)
    assert run(capsys, topic="it-alerts", kms_master_key_id="")["changed"]
    assert not key_of(aws, "it-alerts")
    assert not run(capsys, topic="it-alerts", kms_master_key_id="")["changed"]


def test_a_missing_topic_is_predicted_in_check_mode_and_refused_otherwise(aws, capsys) -> None:
    predicted = run(capsys, check_mode=True, diff=True, topic="it-paging", kms_master_key_id=KEY)
    assert predicted["changed"]
    assert predicted["topic_arn"] == ""
    assert predicted["diff"]["before"] == {}
    refused = run(capsys, topic="it-paging", kms_master_key_id=KEY)
    assert refused["failed"] and "it-paging does not exist" in refused["msg"]


def test_every_returned_key_is_documented(aws, capsys) -> None:
    result = run(capsys, topic="it-alerts", kms_master_key_id=KEY)
    documented = yaml.safe_load(sns_topic_encryption.RETURN)
    assert set(result) - {"changed", "diff", "invocation", "warnings"} == set(documented)
