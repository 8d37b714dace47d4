"""The S3 layer: a missing object is (None, None), a missing bucket and a lost conditional write are told apart."""

from __future__ import annotations

import io
from collections.abc import Iterator

import boto3
import pytest
from ansible_collections.amazon.aws.plugins.module_utils import cloud
from ansible_collections.wedsync.platform.plugins.module_utils._s3 import (
    BucketNotFound,
    S3Error,
    get_object,
    list_buckets,
    put_object_if_unchanged,
)
from botocore.response import StreamingBody
from botocore.stub import Stubber

BUCKET, KEY = "wedsync-test-runbooks-us-east-1", "journal/production/blue_green.json"


@pytest.fixture
def s3(monkeypatch) -> Iterator[tuple[object, Stubber]]:
    """An S3 client that answers only what the test queued, checking each request against botocore's model."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch) -> None:
    monkeypatch.setattr(cloud.time, "sleep", lambda _: None)


def body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_an_object_is_its_body_and_etag(s3) -> None:
    client, stubber = s3
    stubber.add_response("get_object", {"Body": body(b"{}"), "ETag": '"e1"'}, {"Bucket": BUCKET, "Key": KEY})
    assert get_object(client, BUCKET, KEY) == (b"{}", '"e1"')


def test_a_missing_object_is_none(s3) -> None:
    client, stubber = s3
    stubber.add_client_error("get_object", "NoSuchKey", http_status_code=404)
    assert get_object(client, BUCKET, KEY) == (None, None)


def test_a_missing_bucket_is_its_own_error(s3) -> None:
    client, stubber = s3
    stubber.add_client_error("get_object", "NoSuchBucket", http_status_code=404)
    with pytest.raises(BucketNotFound) as raised:
        get_object(client, BUCKET, KEY)
    assert raised.value.message == f"Bucket {BUCKET} does not exist"
    assert raised.value.exception.response["Error"]["Code"] == "NoSuchBucket"


@pytest.mark.parametrize(("code", "status"), [("SlowDown", 503), ("RequestTimeout", 400)])
def test_s3_throttling_and_timeouts_are_retried(s3, code: str, status: int) -> None:
    client, stubber = s3
    stubber.add_client_error("get_object", code, http_status_code=status)
    stubber.add_response("get_object", {"Body": body(b"{}"), "ETag": '"e1"'})
    assert get_object(client, BUCKET, KEY) == (b"{}", '"e1"')


@pytest.mark.parametrize(
    ("etag", "condition"), [('"e1"', {"IfMatch": '"e1"'}), (None, {"IfNoneMatch": "*"})], ids=["replace", "create"]
)
def test_a_conditional_write_is_the_new_etag(s3, etag: str | None, condition: dict[str, str]) -> None:
    client, stubber = s3
    expected = {"Bucket": BUCKET, "Key": KEY, "Body": b"{}", "ContentType": "application/json", **condition}
    stubber.add_response("put_object", {"ETag": '"e2"'}, expected)
    assert put_object_if_unchanged(client, BUCKET, KEY, b"{}", content_type="application/json", etag=etag) == '"e2"'


@pytest.mark.parametrize(("code", "status"), [("PreconditionFailed", 412), ("ConditionalRequestConflict", 409)])
def test_a_write_that_lost_to_another_writer_is_none(s3, code: str, status: int) -> None:
    client, stubber = s3
    stubber.add_client_error("put_object", code, http_status_code=status)
    assert put_object_if_unchanged(client, BUCKET, KEY, b"{}", content_type="application/json", etag='"e1"') is None


def test_another_refused_write_is_an_error(s3) -> None:
    client, stubber = s3
    stubber.add_client_error("put_object", "AccessDenied", http_status_code=403)
    with pytest.raises(S3Error, match="Failed to put object"):
        put_object_if_unchanged(client, BUCKET, KEY, b"{}", content_type="application/json", etag=None)


def test_buckets_are_listed_across_pages(s3) -> None:
    client, stubber = s3
    stubber.add_response("list_buckets", {"Buckets": [{"Name": "a"}], "ContinuationToken": "t1"}, {})
    stubber.add_response("list_buckets", {"Buckets": [{"Name": "b"}]}, {"ContinuationToken": "t1"})
    assert [b["Name"] for b in list_buckets(client)] == ["a", "b"]
