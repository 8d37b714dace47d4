"""acm_certificate_request against the twin, which issues certificates at once: wait, retries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import acm_certificate_request

ARGS = {"name": "it-alb", "domain_name": "it.wedsync.test", "subject_alternative_names": ["*.it.wedsync.test"]}


def run(capsys, **args: Any) -> dict[str, Any]:
    args.setdefault("region", "us-west-2")
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        acm_certificate_request.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def test_requests_through_throttling_and_waits_until_issued(clean_twin, capsys) -> None:
    clean_twin.inject_fault("RequestCertificate", "throttle", count=2)
    clean_twin.inject_fault("ListCertificates", "throttle", count=1)
    result = run(capsys, wait=True, wait_timeout=60, **ARGS)
    assert clean_twin.faults() == []
    assert result["changed"]
    assert result["certificate"]["status"] == "ISSUED"
    assert result["certificate"]["certificate_arn"].startswith("arn:aws:acm:us-west-2:")
    assert [r["type"] for r in result["validation_records"]] == ["CNAME"]

    again = run(capsys, wait=True, **ARGS)
    assert not again["changed"]
    assert again["certificate"]["certificate_arn"] == result["certificate"]["certificate_arn"]
