"""runbook_journal against moto: open, refuse, step, close, resume after a kill, CAS races, check mode."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.wedsync.platform.plugins.modules import runbook_journal
from moto import mock_aws

REGION = "us-east-1"
BUCKET = "t-runbooks-us-east-1"
KEY = "journal/production/blue_green.json"
NOW = datetime(2026, 12, 7, 3, 4, 5, tzinfo=UTC)
ELSEWHERE = {"user": "bob", "controller": "bastion-elsewhere", "pid": 777, "awx_job_id": 31}


@pytest.fixture
def s3(monkeypatch) -> Any:
    for name in ("AWS_ENDPOINT_URL", "AWS_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        default = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/t-runbooks"}
        client.put_bucket_encryption(
            Bucket=BUCKET,
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
        )
        yield client


@pytest.fixture
def clock(monkeypatch) -> list[datetime]:
    """The module's time: set clock[0] to move it."""
    now = [NOW]
    monkeypatch.setattr(runbook_journal, "utcnow", lambda: now[0])
    return now


def run(capsys, check_mode: bool = False, diff: bool = False, **args: Any) -> dict[str, Any]:
    args.setdefault("region", REGION)
    args.setdefault("bucket", BUCKET)
    args.setdefault("key", KEY)
    if check_mode:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        runbook_journal.main()
    result = json.loads(capsys.readouterr().out)
    assert bool(exited.value.code) == bool(result.get("failed")), result
    return result


def open_run(capsys, run_id: str, holder: dict[str, Any] | None = None, **args: Any) -> dict[str, Any]:
    args.setdefault("resume_inputs", {"version": "1.2.3"})
    return run(
        capsys,
        operation="open",
        run_id=run_id,
        runbook="blue_green",
        environment="production",
        entry_point="deploy",
        holder=holder or ELSEWHERE,
        **args,
    )


def step(capsys, run_id: str, name: str, state: str = "done", **args: Any) -> dict[str, Any]:
    return run(capsys, operation="step", run_id=run_id, step=name, step_state=state, **args)


def stored(s3) -> tuple[dict[str, Any], str]:
    response = s3.get_object(Bucket=BUCKET, Key=KEY)
    return json.loads(response["Body"].read()), response["ETag"]


def versions(s3) -> int:
    return len(s3.list_object_versions(Bucket=BUCKET, Prefix=KEY).get("Versions", []))


def dead_pid() -> int:
    """The pid of a process of this host that has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def playbook() -> Iterator[int]:
    """A process of this host that looks like ansible-playbook."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "ansible-playbook"])
    # Until it has exec'd, the child shows the test runner's command line.
    cmdline = Path(f"/proc/{process.pid}/cmdline")
    deadline = time.monotonic() + 10
    while b"ansible-playbook" not in cmdline.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    yield process.pid
    process.kill()
    process.wait()


def here(pid: int) -> dict[str, Any]:
    return {"user": "alice", "controller": socket.gethostname(), "pid": pid}


# -- open ------------------------------------------------------------------------------------


def test_open_creates_the_journal(s3, clock, capsys) -> None:
    result = open_run(capsys, "run-a")
    assert result["changed"]
    journal, etag = stored(s3)
    assert result["journal"] == journal
    assert result["etag"] == etag
    assert journal["lock"]["run_id"] == "run-a"
    assert journal["lock"]["holder"] == ELSEWHERE
    assert journal["lock"]["lease_expires"] == "2026-12-07T04:04:05Z"
    assert journal["run"]["status"] == "running"
    assert (result["resumed"], result["resumed_from"], result["completed_steps"]) == (False, None, [])
    assert (result["took_over"], result["interrupted_run"], result["facts"]) == (None, None, {})
    head = s3.head_object(Bucket=BUCKET, Key=KEY)
    assert head["ContentType"] == "application/json"
    # No encryption headers: the bucket's default encryption applies.
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", "alias/t-runbooks")


def test_the_holder_defaults_to_this_user_and_host(s3, clock, capsys) -> None:
    result = run(capsys, operation="open", run_id="run-a", runbook="blue_green", entry_point="deploy")
    holder = result["journal"]["lock"]["holder"]
    assert holder["controller"] == socket.gethostname()
    assert holder["user"] and holder["pid"] is None and holder["awx_job_id"] is None
    assert result["journal"]["environment"] is None


def test_open_by_another_run_is_refused_and_writes_nothing(s3, clock, capsys) -> None:
    open_run(capsys, "run-a")
    _, etag = stored(s3)
    clock[0] = NOW + timedelta(minutes=10)
    refused = open_run(capsys, "run-b", holder=here(1))
    assert refused["failed"] and not refused["changed"]
    assert refused["msg"] == (
        "blue_green in us-east-1 is held by run run-a (deploy) of bob@bastion-elsewhere pid 777, AWX job 31"
        " since 2026-12-07T03:04:05Z; lease expires 2026-12-07T04:04:05Z."
        " Wait for it, or take it over with take_over (only if that run is dead)."
    )
    assert refused["holder"] == ELSEWHERE
    assert refused["lock"]["run_id"] == "run-a"
    assert stored(s3)[1] == etag
    assert versions(s3) == 1


def test_open_again_by_the_same_run_changes_nothing(s3, clock, capsys) -> None:
    first = open_run(capsys, "run-a")
    again = open_run(capsys, "run-a")
    assert not again["changed"]
    assert again["etag"] == first["etag"]
    assert versions(s3) == 1


def test_take_over_when_asked(s3, clock, capsys) -> None:
    open_run(capsys, "run-a")
    result = open_run(capsys, "run-b", holder=here(1), take_over=True)
    assert result["changed"]
    assert result["took_over"]["reason"] == "asked (take_over)"
    assert result["took_over"]["holder"] == ELSEWHERE
    assert result["resumed"] and result["resumed_from"] == "run-a"
    late = step(capsys, "run-a", "build")
    assert late["failed"]
    assert late["msg"].startswith("this run no longer holds the journal: run run-b of alice@")
    assert late["msg"].endswith("took it over at 2026-12-07T03:04:05Z")


def test_take_over_when_the_lease_expired(s3, clock, capsys) -> None:
    open_run(capsys, "run-a", lease_seconds=600)
    clock[0] = NOW + timedelta(seconds=600)
    result = open_run(capsys, "run-b")
    assert result["took_over"]["reason"] == "lease expired at 2026-12-07T03:14:05Z"


def test_lease_seconds_has_a_floor(s3, clock, capsys) -> None:
    refused = open_run(capsys, "run-a", lease_seconds=5)
    assert refused["failed"] and "lease_seconds must be at least 60, not 5" in refused["msg"]


# -- holder alive ----------------------------------------------------------------------------


def test_a_live_ansible_process_on_this_host_holds(s3, clock, capsys, playbook) -> None:
    assert runbook_journal.holder_alive(here(playbook)) is True
    open_run(capsys, "run-a", holder=here(playbook))
    refused = open_run(capsys, "run-b")
    assert refused["failed"] and f"of alice@{socket.gethostname()} pid {playbook} since" in refused["msg"]
    # Its step outlasts the lease: the process still runs, so the lock holds.
    clock[0] = NOW + timedelta(hours=2)
    refused = open_run(capsys, "run-b")
    assert refused["failed"] and "lease expired at 2026-12-07T04:04:05Z but its process still runs" in refused["msg"]
    assert open_run(capsys, "run-b", take_over=True)["took_over"]["reason"] == "asked (take_over)"


def test_whether_a_holder_is_alive() -> None:
    assert runbook_journal.holder_alive(here(dead_pid())) is False
    assert runbook_journal.holder_alive({**here(dead_pid()), "controller": "another-host"}) is None
    assert runbook_journal.holder_alive({**here(0), "pid": None}) is None
    assert runbook_journal.holder_alive(None) is None
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        # A pid that came back to another program is not the holder.
        assert runbook_journal.holder_alive(here(sleeper.pid)) is False
    finally:
        sleeper.kill()
        sleeper.wait()


# -- steps, close, resume --------------------------------------------------------------------


def test_step_and_close(s3, clock, capsys) -> None:
    open_run(capsys, "run-a", lease_seconds=600)
    clock[0] = NOW + timedelta(minutes=5)
    started = step(capsys, "run-a", "build", "started")
    assert started["changed"] and started["steps"]["build"]["state"] == "started"
    assert started["journal"]["lock"]["lease_expires"] == "2026-12-07T03:19:05Z"
    done = step(capsys, "run-a", "build", step_data={"color": "green"}, facts={"canary": 10})
    assert done["completed_steps"] == ["build"]
    assert done["steps"]["build"] == {"state": "done", "at": "2026-12-07T03:09:05Z", "data": {"color": "green"}}
    assert done["facts"] == {"canary": 10}
    clock[0] = NOW + timedelta(minutes=20)
    closed = run(
        capsys, operation="close", run_id="run-a", outcome="SUCCEEDED", facts={"canary": None, "last_switch": "green"}
    )
    assert closed["changed"]
    journal, etag = stored(s3)
    assert closed["journal"] == journal and closed["etag"] == etag
    assert journal["lock"] is None
    assert journal["run"]["status"] == "SUCCEEDED" and journal["run"]["ended"] == "2026-12-07T03:24:05Z"
    assert [entry["run_id"] for entry in journal["history"]] == ["run-a"]
    assert journal["facts"] == {"last_switch": "green"}
    again = run(capsys, operation="close", run_id="run-a", outcome="SUCCEEDED")
    assert not again["changed"] and again["etag"] == etag
    assert versions(s3) == 4
    other = run(capsys, operation="close", run_id="run-a", outcome="FAILED")
    assert not other["changed"] and "already closed as SUCCEEDED" in json.dumps(other["warnings"])
    fresh = open_run(capsys, "run-b")
    assert fresh["changed"] and not fresh["resumed"] and fresh["facts"] == {"last_switch": "green"}


def test_reopen_after_a_kill_resumes(s3, clock, capsys) -> None:
    killed = dead_pid()
    open_run(capsys, "run-a", holder=here(killed))
    step(capsys, "run-a", "build", step_data={"color": "green"})
    step(capsys, "run-a", "smoke_test", "started")
    # run-a's ansible-playbook was killed: no close. Its lease still runs.
    clock[0] = NOW + timedelta(minutes=3)
    result = open_run(capsys, "run-b", holder=here(1))
    assert result["changed"]
    assert result["took_over"]["reason"] == f"holder process {killed} on {socket.gethostname()} is gone"
    assert result["took_over"]["run_id"] == "run-a"
    assert result["resumed"] and result["resumed_from"] == "run-a"
    assert result["completed_steps"] == ["build"]
    assert result["steps"]["smoke_test"]["state"] == "started"
    assert result["interrupted_run"] is None
    assert stored(s3)[0]["lock"]["run_id"] == "run-b"


def test_reopen_with_other_inputs_interrupts(s3, clock, capsys) -> None:
    open_run(capsys, "run-a", lease_seconds=600)
    step(capsys, "run-a", "build")
    clock[0] = NOW + timedelta(hours=1)
    result = open_run(capsys, "run-b", resume_inputs={"version": "1.2.4"})
    assert not result["resumed"] and result["completed_steps"] == []
    assert result["interrupted_run"]["run_id"] == "run-a"
    assert result["interrupted_run"]["status"] == "INTERRUPTED"
    assert stored(s3)[0]["history"][0]["status"] == "INTERRUPTED"


def test_step_without_an_open_run_is_refused(s3, clock, capsys) -> None:
    refused = step(capsys, "run-a", "build")
    assert refused["failed"] and "there is no journal yet" in refused["msg"]


# -- compare-and-swap ------------------------------------------------------------------------


def stale_first_read(monkeypatch, stale: tuple[bytes | None, str | None]) -> list[int]:
    """The module's first read returns ``stale``, as if another writer wrote just after it; later reads are real."""
    real = runbook_journal.get_journal
    calls: list[int] = []

    def read(client, bucket: str, key: str) -> tuple[bytes | None, str | None]:
        calls.append(1)
        return stale if len(calls) == 1 else real(client, bucket, key)

    monkeypatch.setattr(runbook_journal, "get_journal", read)
    return calls


def test_two_creators_at_once_one_is_refused(s3, clock, capsys, monkeypatch) -> None:
    # Both read "no journal"; run-a created it first; run-b's If-None-Match write gets 412.
    open_run(capsys, "run-a")
    _, etag = stored(s3)
    calls = stale_first_read(monkeypatch, (None, None))
    refused = open_run(capsys, "run-b", holder=here(1))
    assert refused["failed"] and "is held by run run-a" in refused["msg"]
    assert len(calls) == 2
    assert stored(s3)[1] == etag and versions(s3) == 1


def test_two_openers_of_a_free_journal_at_once_one_is_refused(s3, clock, capsys, monkeypatch) -> None:
    open_run(capsys, "run-a")
    run(capsys, operation="close", run_id="run-a", outcome="SUCCEEDED")
    free = s3.get_object(Bucket=BUCKET, Key=KEY)
    snapshot = (free["Body"].read(), free["ETag"])
    open_run(capsys, "run-c")  # wins the race
    _, etag = stored(s3)
    calls = stale_first_read(monkeypatch, snapshot)
    refused = open_run(capsys, "run-b")
    assert refused["failed"] and "is held by run run-c" in refused["msg"]
    assert len(calls) == 2
    assert stored(s3)[1] == etag and versions(s3) == 3


def test_a_step_that_loses_a_race_is_written_on_the_journal_as_it_is(s3, clock, capsys, monkeypatch) -> None:
    open_run(capsys, "run-a")
    before = s3.get_object(Bucket=BUCKET, Key=KEY)
    snapshot = (before["Body"].read(), before["ETag"])
    step(capsys, "run-a", "build")
    calls = stale_first_read(monkeypatch, snapshot)
    result = step(capsys, "run-a", "smoke_test")
    assert result["changed"] and len(calls) == 2
    assert stored(s3)[0]["run"]["steps"].keys() == {"build", "smoke_test"}


def test_gives_up_after_repeated_conflicts(s3, clock, capsys, monkeypatch) -> None:
    open_run(capsys, "run-a")
    monkeypatch.setattr(runbook_journal, "get_journal", lambda client, bucket, key: (None, None))
    refused = open_run(capsys, "run-b")
    assert refused["failed"] and "changed under each of 5 attempts" in refused["msg"]
    assert versions(s3) == 1


# -- errors, check mode, read ----------------------------------------------------------------


def test_a_missing_bucket_is_named(s3, clock, capsys) -> None:
    refused = open_run(capsys, "run-a", bucket="t-runbooks-us-west-2")
    assert refused["failed"]
    assert refused["msg"] == (
        "the journal bucket t-runbooks-us-west-2 does not exist in us-east-1:"
        " provision it with playbooks/site.yml (the storage role creates it)"
    )


def test_a_journal_that_is_not_json_is_refused(s3, clock, capsys) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"not json")
    refused = run(capsys, operation="read")
    assert refused["failed"] and refused["msg"].startswith(f"s3://{BUCKET}/{KEY} is not a journal")


def test_check_mode_writes_nothing(s3, clock, capsys) -> None:
    predicted = open_run(capsys, "run-a", check_mode=True, diff=True)
    assert predicted["changed"] and predicted["journal"]["lock"]["run_id"] == "run-a"
    assert predicted["etag"] is None and predicted["diff"]["before"] == {}
    assert versions(s3) == 0
    # The open wrote nothing, so the run's step is predicted, not refused.
    predicted_step = step(capsys, "run-a", "build", check_mode=True)
    assert predicted_step["changed"] and versions(s3) == 0
    open_run(capsys, "run-a")
    _, etag = stored(s3)
    assert step(capsys, "run-a", "build", check_mode=True)["changed"]
    closing = run(capsys, check_mode=True, operation="close", run_id="run-a", outcome="FAILED")
    assert closing["changed"] and closing["journal"]["lock"] is None and closing["etag"] == etag
    assert stored(s3)[1] == etag and versions(s3) == 1


def test_check_mode_is_refused_while_another_live_run_holds(s3, clock, capsys) -> None:
    open_run(capsys, "run-a")
    refused = open_run(capsys, "run-b", check_mode=True)
    assert refused["failed"] and "is held by run run-a" in refused["msg"]


def test_read(s3, clock, capsys) -> None:
    empty = run(capsys, operation="read")
    assert not empty["changed"] and empty["journal"] == {} and empty["etag"] is None
    open_run(capsys, "run-a")
    step(capsys, "run-a", "build", facts={"last_switch": "green"})
    journal, etag = stored(s3)
    read = run(capsys, operation="read")
    assert not read["changed"]
    assert (read["journal"], read["etag"]) == (journal, etag)
    assert read["completed_steps"] == ["build"] and read["facts"] == {"last_switch": "green"}


def test_every_returned_key_is_documented(s3, clock, capsys) -> None:
    result = open_run(capsys, "run-a")
    documented = yaml.safe_load(runbook_journal.RETURN)
    on_refusal = {"holder", "lock"}
    assert set(result) - {"changed", "diff", "invocation", "warnings"} == set(documented) - on_refusal
    refused = open_run(capsys, "run-b")
    assert on_refusal <= set(refused)
