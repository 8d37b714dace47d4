"""The EC2 layer turns the items a batch call answers as Unsuccessful into EC2Error, as it does boto's errors."""

from __future__ import annotations

import pytest
from ansible_collections.wedsync.platform.plugins.module_utils._ec2 import (
    EC2Error,
    create_flow_log,
    delete_flow_logs,
)

REFUSED = {
    "Unsuccessful": [
        {
            "ResourceId": "vpc-0a1",
            "Error": {"Code": "InvalidParameter", "Message": "LogDestination: no-such-bucket does not exist"},
        }
    ]
}


class Answering:
    """A boto3 client whose every call answers `answer` and records its parameters."""

    def __init__(self, answer: dict) -> None:
        self.answer = answer
        self.requests: list[dict] = []

    def __getattr__(self, name: str):
        def call(**request):
            self.requests.append(request)
            return self.answer

        return call


def test_a_created_flow_log_is_its_id() -> None:
    client = Answering({"FlowLogIds": ["fl-1"], "Unsuccessful": []})
    assert create_flow_log(client, {"ResourceIds": ["vpc-0a1"]}) == "fl-1"
    assert client.requests == [{"ResourceIds": ["vpc-0a1"]}]


def test_a_refused_flow_log_is_an_error_with_the_reason() -> None:
    with pytest.raises(EC2Error) as raised:
        create_flow_log(Answering({**REFUSED, "FlowLogIds": []}), {"ResourceIds": ["vpc-0a1"]})
    assert raised.value.message == (
        "AWS refused the flow log of vpc-0a1: LogDestination: no-such-bucket does not exist (InvalidParameter)"
    )
    assert raised.value.exception is None


def test_a_refused_deletion_is_an_error_with_the_reason() -> None:
    client = Answering(REFUSED)
    with pytest.raises(EC2Error) as raised:
        delete_flow_logs(client, ["fl-1"])
    assert raised.value.message.startswith("AWS refused to delete flow log vpc-0a1: LogDestination")
    assert client.requests == [{"FlowLogIds": ["fl-1"]}]


def test_a_deletion_without_refusals_passes() -> None:
    assert delete_flow_logs(Answering({"Unsuccessful": []}), ["fl-1"]) is None
