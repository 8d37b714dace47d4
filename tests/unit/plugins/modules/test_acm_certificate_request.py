"""acm_certificate_request against moto: request, find again by name and names, tags, check mode, wait, absent."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import acm_certificate_request
from moto import mock_aws, settings

REGION = "us-east-1"
NAMES = {"name": "p-alb", "domain_name": "wedsync.test", "subject_alternative_names": ["*.wedsync.test"]}


@pytest.fixture
def aws(monkeypatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


@pytest.fixture
def issued_at_once(monkeypatch) -> None:
    """ACM validates at once, as the twin does; moto otherwise keeps certificates pending for a minute."""
    monkeypatch.setattr(settings, "ACM_VALIDATION_WAIT", -1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(acm_certificate_request, "time", fake)
    return fake


def run(capsys, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    args["_ansible_check_mode"] = check_mode
    args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        acm_certificate_request.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def certificates() -> list[dict[str, Any]]:
    return boto3.client("acm", region_name=REGION).list_certificates()["CertificateSummaryList"]


def tags_of(arn: str) -> dict[str, str]:
    found = boto3.client("acm", region_name=REGION).list_tags_for_certificate(CertificateArn=arn)["Tags"]
    return {t["Key"]: t["Value"] for t in found}


def test_requests_once_then_finds_it_again(aws, capsys) -> None:
    first = run(capsys, tags={"Project": "wedsync"}, **NAMES)
    assert first["changed"]
    certificate = first["certificate"]
    assert certificate["domain_name"] == "wedsync.test"
    assert certificate["subject_alternative_names"] == ["*.wedsync.test", "wedsync.test"]
    assert certificate["status"] == "PENDING_VALIDATION"
    assert certificate["key_algorithm"] == "RSA_2048"
    assert certificate["validation_method"] == "DNS"
    assert certificate["tags"] == {"Name": "p-alb", "Project": "wedsync"}
    assert tags_of(certificate["certificate_arn"]) == {"Name": "p-alb", "Project": "wedsync"}
    # The name and its wildcard validate through one record.
    assert len(first["validation_records"]) == 1
    assert first["validation_records"][0]["type"] == "CNAME"
    assert first["diff"] == {"before": {}, "after": {k: certificate[k] for k in first["diff"]["after"]}}

    again = run(capsys, tags={"Project": "wedsync"}, **NAMES)
    assert not again["changed"]
    assert again["certificate"]["certificate_arn"] == certificate["certificate_arn"]
    assert len(certificates()) == 1


def test_other_names_get_a_new_certificate_and_the_old_one_stays(aws, capsys) -> None:
    old = run(capsys, **NAMES)["certificate"]["certificate_arn"]
    wider = run(capsys, **{**NAMES, "subject_alternative_names": ["*.wedsync.test", "api.wedsync.test"]})
    assert wider["changed"]
    assert wider["certificate"]["certificate_arn"] != old
    assert len(certificates()) == 2
    # Each set of names finds its own certificate again.
    assert run(capsys, **NAMES)["certificate"]["certificate_arn"] == old


def test_the_same_names_under_another_name_tag_are_another_certificate(aws, capsys) -> None:
    ours = run(capsys, **NAMES)["certificate"]["certificate_arn"]
    theirs = run(capsys, **{**NAMES, "name": "p-cdn"})["certificate"]["certificate_arn"]
    assert ours != theirs


def test_an_issued_certificate_is_preferred_to_a_pending_one(aws, capsys, monkeypatch) -> None:
    issued = run(capsys, **NAMES)["certificate"]["certificate_arn"]
    monkeypatch.setattr(settings, "ACM_VALIDATION_WAIT", -1)
    assert run(capsys, **NAMES)["certificate"]["status"] == "ISSUED"
    monkeypatch.setattr(settings, "ACM_VALIDATION_WAIT", 60)
    boto3.client("acm", region_name=REGION).request_certificate(
        DomainName="wedsync.test",
        SubjectAlternativeNames=["wedsync.test", "*.wedsync.test"],
        Tags=[{"Key": "Name", "Value": "p-alb"}],
    )
    assert run(capsys, **NAMES)["certificate"]["certificate_arn"] == issued


def test_tags_are_changed_in_place_and_purged_only_when_asked(aws, capsys) -> None:
    arn = run(capsys, tags={"Project": "wedsync", "Old": "x"}, **NAMES)["certificate"]["certificate_arn"]
    assert not run(capsys, tags={"Project": "wedsync"}, purge_tags=False, **NAMES)["changed"]
    assert not run(capsys, **NAMES)["changed"]
    result = run(capsys, tags={"Project": "wedsync"}, **NAMES)
    assert result["changed"]
    assert result["certificate"]["certificate_arn"] == arn
    assert tags_of(arn) == {"Name": "p-alb", "Project": "wedsync"}


def test_check_mode_predicts_a_request_and_requests_nothing(aws, capsys) -> None:
    result = run(capsys, check_mode=True, **NAMES)
    assert result["changed"]
    assert result["certificate"]["certificate_arn"] is None
    assert result["certificate"]["status"] == "PENDING_VALIDATION"
    assert result["certificate"]["subject_alternative_names"] == ["*.wedsync.test", "wedsync.test"]
    assert certificates() == []


def test_check_mode_on_an_existing_certificate_reports_tag_changes_only(aws, capsys) -> None:
    arn = run(capsys, **NAMES)["certificate"]["certificate_arn"]
    assert not run(capsys, check_mode=True, **NAMES)["changed"]
    result = run(capsys, check_mode=True, tags={"Team": "sre"}, **NAMES)
    assert result["changed"]
    assert result["certificate"]["tags"] == {"Name": "p-alb", "Team": "sre"}
    assert tags_of(arn) == {"Name": "p-alb"}


def test_wait_returns_once_issued(aws, capsys, issued_at_once, clock) -> None:
    result = run(capsys, wait=True, **NAMES)
    assert result["certificate"]["status"] == "ISSUED"
    assert result["certificate"]["not_after"]
    assert clock.sleeps == []


def test_wait_times_out_naming_the_records_to_create(aws, capsys, clock) -> None:
    result = run(capsys, wait=True, wait_timeout=60, **NAMES)
    assert result["failed"]
    record = boto3.client("acm", region_name=REGION).describe_certificate(
        CertificateArn=certificates()[0]["CertificateArn"]
    )["Certificate"]["DomainValidationOptions"][0]["ResourceRecord"]
    assert "is still PENDING_VALIDATION after 60 s: create these DNS records:" in result["msg"]
    assert f"{record['Name']} CNAME {record['Value']}" in result["msg"]
    assert sum(clock.sleeps) >= 60


def test_absent_deletes_every_certificate_of_the_name(aws, capsys) -> None:
    run(capsys, **NAMES)
    run(capsys, **{**NAMES, "subject_alternative_names": []})
    kept = run(capsys, **{**NAMES, "name": "p-cdn"})["certificate"]["certificate_arn"]
    predicted = run(capsys, check_mode=True, name="p-alb", state="absent")
    assert predicted["changed"]
    assert len(predicted["deleted_certificate_arns"]) == 2
    assert len(certificates()) == 3
    deleted = run(capsys, name="p-alb", state="absent")
    assert sorted(deleted["deleted_certificate_arns"]) == sorted(predicted["deleted_certificate_arns"])
    assert [c["CertificateArn"] for c in certificates()] == [kept]
    assert not run(capsys, name="p-alb", state="absent")["changed"]


def test_present_needs_a_domain_name(aws, capsys) -> None:
    result = run(capsys, name="p-alb")
    assert result["failed"]
    assert "domain_name" in result["msg"]
