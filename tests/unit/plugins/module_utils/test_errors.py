"""The API layers' shared pieces: one retry policy (throttling included) and one error hierarchy."""

from __future__ import annotations

import botocore.exceptions
import pytest
from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.wedsync.platform.plugins.module_utils._elasticache import (
    ElastiCacheError,
    describe_cache_cluster,
    wait_for,
)
from ansible_collections.wedsync.platform.plugins.module_utils._rds import RDSError, describe_db_instance
from ansible_collections.wedsync.platform.plugins.module_utils._secretsmanager import get_secret_value
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError, WedSyncErrorHandler
from ansible_collections.wedsync.platform.plugins.module_utils.retries import aws_retry


def client_error(code: str, operation: str = "Describe") -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, operation)


class Answers:
    """A boto3 client whose every call answers with the next of `answers` (raised when an exception)."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __getattr__(self, name: str):
        def call(*_, **__):
            self.calls += 1
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch) -> None:
    monkeypatch.setattr(cloud.time, "sleep", lambda _: None)


@pytest.mark.parametrize("code", ["ThrottlingException", "Throttling", "RequestLimitExceeded"])
def test_throttling_is_retried(code: str) -> None:
    client = Answers(client_error(code), {"CacheClusters": [{"CacheClusterId": "c1"}]})
    assert describe_cache_cluster(client, "c1") == {"CacheClusterId": "c1"}
    assert client.calls == 2


def test_other_errors_are_raised_at_once_as_the_service_error() -> None:
    client = Answers(client_error("AccessDenied"))
    with pytest.raises(ElastiCacheError) as raised:
        describe_cache_cluster(client, "c1")
    assert client.calls == 1
    assert isinstance(raised.value, WedSyncAWSError) and isinstance(raised.value, AnsibleAWSError)
    assert raised.value.message == "Failed to describe cache cluster"
    assert raised.value.exception.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda client: describe_cache_cluster(client, "c1"), "CacheClusterNotFound"),
        (lambda client: describe_db_instance(client, "db1"), "DBInstanceNotFound"),
        (lambda client: get_secret_value(client, "s1"), "ResourceNotFoundException"),
    ],
)
def test_a_missing_resource_is_none(call, code: str) -> None:
    assert call(Answers(client_error(code))) is None


def test_missing_codes_of_one_resource_are_errors_of_another() -> None:
    client = Answers(client_error("CacheClusterNotFound"))
    with pytest.raises(RDSError, match="Failed to describe DB instance"):
        describe_db_instance(client, "db1")


def test_a_handler_without_missing_codes_never_swallows_an_error() -> None:
    @WedSyncErrorHandler.list_error_handler("list things", [])
    @aws_retry
    def list_things(client) -> list:
        return client.list_things()

    with pytest.raises(WedSyncAWSError, match="Failed to list things"):
        list_things(Answers(client_error("NoSuchEntity")))


def test_a_wait_that_times_out_names_the_group_and_the_timeout() -> None:
    class Waiter:
        def wait(self, **_) -> None:
            raise botocore.exceptions.WaiterError("replication_group_available", "Max attempts exceeded", {})

    class Client:
        def get_waiter(self, name: str) -> Waiter:
            assert name == "replication_group_available"
            return Waiter()

    with pytest.raises(ElastiCacheError) as raised:
        wait_for(Client(), "replication_group_available", "g1", 0.0, 600)
    assert raised.value.message == "g1 did not reach the expected state within wait_timeout (600 s)"
