"""The journal's rules: open, take over, resume or interrupt, steps, close, lease, history and facts."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ansible_collections.wedsync.platform.plugins.module_utils.journal import (
    HISTORY_LIMIT,
    INTERRUPTED,
    RUNNING,
    TAKE_OVER_ASKED,
    Held,
    JournalError,
    NotHolder,
    Opening,
    close_journal,
    completed_steps,
    describe_holder,
    iso,
    merge_facts,
    open_journal,
    parse_time,
    record_step,
    summary,
)

NOW = datetime(2026, 12, 7, 3, 4, 5, tzinfo=UTC)
ALICE = {"user": "alice", "controller": "bastion-1", "pid": 4242, "awx_job_id": None}
BOB = {"user": "bob", "controller": "bastion-2", "pid": 777, "awx_job_id": 31}


def opening(run_id: str = "run-a", holder: dict[str, Any] | None = None, **fields: Any) -> Opening:
    fields.setdefault("entry_point", "deploy")
    fields.setdefault("resume_inputs", {"version": "1.2.3"})
    return Opening(
        run_id=run_id,
        runbook="blue_green",
        region="us-east-1",
        holder=holder or ALICE,
        environment="production",
        **fields,
    )


def opened(run_id: str = "run-a", at: datetime = NOW, **fields: Any) -> dict[str, Any]:
    """The journal after ``run_id`` opened it at ``at``."""
    outcome = open_journal(None, opening(run_id, **fields), at)
    assert outcome.write
    return outcome.journal


def step(journal: dict[str, Any], name: str, state: str = "done", run_id: str = "run-a", **kwargs: Any) -> dict:
    kwargs.setdefault("now", NOW + timedelta(minutes=1))
    return record_step(journal, run_id, name, state, **kwargs).journal


# -- time ------------------------------------------------------------------------------------


def test_times_are_iso_utc_to_the_second() -> None:
    assert iso(datetime(2026, 12, 7, 3, 4, 5, 999, tzinfo=UTC)) == "2026-12-07T03:04:05Z"
    assert parse_time("2026-12-07T03:04:05Z") == datetime(2026, 12, 7, 3, 4, 5, tzinfo=UTC)


# -- open ------------------------------------------------------------------------------------


def test_open_without_a_journal_creates_it_locked_for_a_fresh_run() -> None:
    outcome = open_journal(None, opening(lease_seconds=600), NOW)
    journal = outcome.journal
    assert outcome.write and outcome.took_over is None and outcome.interrupted_run is None
    assert journal["version"] == 1
    assert (journal["runbook"], journal["environment"], journal["region"]) == ("blue_green", "production", "us-east-1")
    assert journal["lock"] == {
        "run_id": "run-a",
        "entry_point": "deploy",
        "holder": ALICE,
        "since": "2026-12-07T03:04:05Z",
        "lease_expires": "2026-12-07T03:14:05Z",
        "lease_seconds": 600,
    }
    assert journal["run"] == {
        "run_id": "run-a",
        "entry_point": "deploy",
        "resume_inputs": {"version": "1.2.3"},
        "status": RUNNING,
        "started": "2026-12-07T03:04:05Z",
        "ended": None,
        "resumed_from": None,
        "steps": {},
    }
    assert journal["facts"] == {} and journal["history"] == []
    assert summary(journal)["resumed"] is False


def test_open_by_another_run_while_the_lease_holds_is_refused_naming_the_holder() -> None:
    journal = opened(holder=BOB)
    before = copy.deepcopy(journal)
    with pytest.raises(Held) as refused:
        open_journal(journal, opening("run-b"), NOW + timedelta(minutes=5), holder_alive=None)
    assert str(refused.value) == (
        "blue_green in us-east-1 is held by run run-a (deploy) of bob@bastion-2 pid 777, AWX job 31"
        " since 2026-12-07T03:04:05Z; lease expires 2026-12-07T04:04:05Z."
        " Wait for it, or take it over with take_over (only if that run is dead)."
    )
    assert refused.value.details["holder"] == BOB
    assert refused.value.details["lock"]["run_id"] == "run-a"
    assert journal == before


def test_a_holder_known_alive_is_refused_too() -> None:
    with pytest.raises(Held, match="held by run run-a"):
        open_journal(opened(), opening("run-b"), NOW, holder_alive=True)


def test_the_message_without_awx_job() -> None:
    with pytest.raises(Held) as refused:
        open_journal(opened(), opening("run-b"), NOW)
    assert "of alice@bastion-1 pid 4242 since" in str(refused.value)


def test_take_over_when_asked() -> None:
    outcome = open_journal(opened(), opening("run-b", holder=BOB, take_over=True), NOW + timedelta(minutes=1))
    assert outcome.write
    assert outcome.took_over == {
        "run_id": "run-a",
        "entry_point": "deploy",
        "holder": ALICE,
        "since": "2026-12-07T03:04:05Z",
        "lease_expires": "2026-12-07T04:04:05Z",
        "reason": TAKE_OVER_ASKED,
    }
    assert outcome.journal["lock"]["run_id"] == "run-b"
    assert outcome.journal["lock"]["holder"] == BOB
    assert outcome.journal["lock"]["since"] == "2026-12-07T03:05:05Z"


def test_take_over_when_the_holder_is_known_dead() -> None:
    outcome = open_journal(opened(), opening("run-b"), NOW + timedelta(minutes=1), holder_alive=False)
    assert outcome.took_over["reason"] == "holder process 4242 on bastion-1 is gone"
    assert outcome.journal["lock"]["run_id"] == "run-b"


def test_take_over_when_the_lease_expired() -> None:
    journal = opened(lease_seconds=600)
    with pytest.raises(Held):
        open_journal(journal, opening("run-b"), NOW + timedelta(seconds=599))
    outcome = open_journal(journal, opening("run-b"), NOW + timedelta(seconds=600))
    assert outcome.took_over["reason"] == "lease expired at 2026-12-07T03:14:05Z"


def test_open_again_by_the_run_that_holds_it_changes_nothing() -> None:
    journal = opened()
    outcome = open_journal(journal, opening(), NOW + timedelta(minutes=30))
    assert not outcome.write
    assert outcome.journal == journal
    assert outcome.took_over is None


def test_a_holder_known_alive_keeps_the_lock_past_its_lease() -> None:
    journal = opened(lease_seconds=600)
    later = NOW + timedelta(hours=1)
    with pytest.raises(Held) as refused:
        open_journal(journal, opening("run-b"), later, holder_alive=True)
    assert "; lease expired at 2026-12-07T03:14:05Z but its process still runs. Wait for it" in str(refused.value)
    assert open_journal(journal, opening("run-b", take_over=True), later, holder_alive=True).took_over


def test_open_again_by_the_holder_asking_for_something_else_is_refused() -> None:
    with pytest.raises(JournalError, match="already holds the journal for deploy with resume_inputs"):
        open_journal(opened(), opening(entry_point="rollback"), NOW)
    with pytest.raises(JournalError, match=re.escape("cannot open it again for deploy with {'version': '9'}")):
        open_journal(opened(), opening(resume_inputs={"version": "9"}), NOW)


def test_open_after_a_closed_run_starts_a_fresh_run() -> None:
    journal = close_journal(step(opened(), "build"), "run-a", "SUCCEEDED", NOW + timedelta(minutes=2)).journal
    outcome = open_journal(journal, opening("run-b"), NOW + timedelta(hours=1))
    run = outcome.journal["run"]
    assert outcome.write and outcome.took_over is None and outcome.interrupted_run is None
    assert (run["run_id"], run["status"], run["resumed_from"], run["steps"]) == ("run-b", RUNNING, None, {})
    assert [entry["run_id"] for entry in outcome.journal["history"]] == ["run-a"]


def test_a_run_that_ended_cannot_open_again() -> None:
    journal = close_journal(opened(), "run-a", "FAILED", NOW).journal
    with pytest.raises(JournalError, match="run run-a already ran and ended FAILED"):
        open_journal(journal, opening(), NOW)
    journal = close_journal(open_journal(journal, opening("run-b"), NOW).journal, "run-b", "SUCCEEDED", NOW).journal
    with pytest.raises(JournalError, match="run run-a already ran"):
        open_journal(journal, opening(), NOW)


def test_open_refuses_the_journal_of_another_runbook_or_region() -> None:
    journal = opened()
    with pytest.raises(JournalError, match=r"journal of blue_green \(production\) in us-east-1, not of x"):
        open_journal(journal, Opening("run-b", "x", "us-east-1", "deploy", ALICE, "production"), NOW)
    with pytest.raises(JournalError, match=r"not of blue_green \(staging\)"):
        open_journal(journal, Opening("run-b", "blue_green", "us-east-1", "deploy", ALICE, "staging"), NOW)
    with pytest.raises(JournalError, match="in us-west-2"):
        open_journal(journal, Opening("run-b", "blue_green", "us-west-2", "deploy", ALICE, "production"), NOW)


def test_open_without_environment_matches_the_journal() -> None:
    journal = opened()
    bare = Opening("run-a", "blue_green", "us-east-1", "deploy", ALICE, resume_inputs={"version": "1.2.3"})
    outcome = open_journal(journal, bare, NOW, None)
    assert not outcome.write  # the same run, no mismatch


def test_open_refuses_a_journal_of_another_version() -> None:
    journal = {**opened(), "version": 2}
    with pytest.raises(JournalError, match="version 2; this module reads version 1"):
        open_journal(journal, opening("run-b"), NOW)


# -- resume or interrupt ---------------------------------------------------------------------


def interrupted_journal() -> dict[str, Any]:
    """run-a opened, did build, started smoke_test, and was killed."""
    journal = step(opened(), "build", data={"color": "green"})
    return step(journal, "smoke_test", "started")


def test_resume_an_interrupted_run_with_the_same_entry_point_and_inputs() -> None:
    journal = interrupted_journal()
    outcome = open_journal(journal, opening("run-b", holder=BOB), NOW + timedelta(hours=2))
    run = outcome.journal["run"]
    assert outcome.took_over["reason"].startswith("lease expired at")
    assert outcome.interrupted_run is None
    assert run["run_id"] == "run-b" and run["status"] == RUNNING and run["resumed_from"] == "run-a"
    assert run["steps"] == journal["run"]["steps"]
    assert run["started"] == "2026-12-07T05:04:05Z"
    assert outcome.journal["history"] == []
    assert summary(outcome.journal) | {"steps": None} == {
        "resumed": True,
        "resumed_from": "run-a",
        "completed_steps": ["build"],
        "steps": None,
        "facts": {},
    }


def test_resume_inputs_compare_as_json() -> None:
    journal = opened(resume_inputs={"steps": [10, 50], "version": "1.2.3"})
    outcome = open_journal(
        journal, opening("run-b", resume_inputs={"version": "1.2.3", "steps": (10, 50)}), NOW, holder_alive=False
    )
    assert outcome.journal["run"]["resumed_from"] == "run-a"


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"entry_point": "rollback"}, "its entry point deploy is not rollback"),
        (
            {"resume_inputs": {"version": "1.2.4"}},
            "its resume_inputs {'version': '1.2.3'} are not {'version': '1.2.4'}",
        ),
    ],
)
def test_a_run_that_cannot_resume_closes_the_interrupted_one(fields: dict[str, Any], reason: str) -> None:
    journal = interrupted_journal()
    later = NOW + timedelta(hours=2)
    outcome = open_journal(journal, opening("run-b", **fields), later)
    entry = {
        "run_id": "run-a",
        "entry_point": "deploy",
        "status": INTERRUPTED,
        "started": "2026-12-07T03:04:05Z",
        "ended": "2026-12-07T05:04:05Z",
        "resumed_from": None,
    }
    assert outcome.interrupted_run == {**entry, "reason": reason}
    assert outcome.journal["history"] == [entry]
    run = outcome.journal["run"]
    assert (run["run_id"], run["resumed_from"], run["steps"]) == ("run-b", None, {})
    assert summary(outcome.journal)["resumed"] is False


def test_a_resumed_run_can_itself_be_resumed() -> None:
    journal = open_journal(interrupted_journal(), opening("run-b"), NOW, holder_alive=False).journal
    journal = step(journal, "smoke_test", run_id="run-b")
    outcome = open_journal(journal, opening("run-c"), NOW + timedelta(hours=3))
    assert outcome.journal["run"]["resumed_from"] == "run-b"
    assert completed_steps(outcome.journal["run"]) == ["build", "smoke_test"]


# -- step ------------------------------------------------------------------------------------


def test_step_records_the_state_and_renews_the_lease() -> None:
    journal = opened(lease_seconds=600)
    at = NOW + timedelta(minutes=8)
    outcome = record_step(journal, "run-a", "build", "started", at, data={"color": "green"})
    assert outcome.write
    assert outcome.journal["run"]["steps"] == {
        "build": {"state": "started", "at": "2026-12-07T03:12:05Z", "data": {"color": "green"}}
    }
    assert outcome.journal["lock"]["lease_expires"] == "2026-12-07T03:22:05Z"
    # The lease renewed at 03:12:05 still holds at 03:20, past the first lease.
    with pytest.raises(Held):
        open_journal(outcome.journal, opening("run-b"), NOW + timedelta(minutes=16))
    assert journal["run"]["steps"] == {}  # the journal given is left as it was


def test_a_step_done_later_keeps_its_place() -> None:
    journal = step(step(opened(), "build", "started"), "smoke_test", "done")
    journal = step(journal, "build", "done")
    assert list(journal["run"]["steps"]) == ["build", "smoke_test"]
    assert completed_steps(journal["run"]) == ["build", "smoke_test"]
    assert completed_steps(step(journal, "build", "failed")["run"]) == ["smoke_test"]


def test_step_by_a_run_that_was_taken_over_is_refused() -> None:
    journal = open_journal(opened(), opening("run-b", holder=BOB, take_over=True), NOW + timedelta(minutes=1)).journal
    with pytest.raises(NotHolder) as refused:
        record_step(journal, "run-a", "build", "done", NOW)
    assert str(refused.value) == (
        "this run no longer holds the journal: run run-b of bob@bastion-2 pid 777, AWX job 31"
        " took it over at 2026-12-07T03:05:05Z"
    )
    with pytest.raises(NotHolder, match="no longer holds the journal: run run-b"):
        close_journal(journal, "run-a", "FAILED", NOW)


def test_step_without_an_open_journal_is_refused() -> None:
    with pytest.raises(NotHolder, match="there is no journal yet"):
        record_step(None, "run-a", "build", "done", NOW)
    closed = close_journal(opened(), "run-a", "SUCCEEDED", NOW).journal
    with pytest.raises(NotHolder, match=r"run run-a has already closed the journal \(SUCCEEDED"):
        record_step(closed, "run-a", "build", "done", NOW)
    with pytest.raises(NotHolder, match=r"no run holds it \(the last, run-a, ended SUCCEEDED"):
        record_step(closed, "run-z", "build", "done", NOW)


def test_step_refuses_an_unknown_state() -> None:
    with pytest.raises(JournalError, match="started, done, failed, not finished"):
        record_step(opened(), "run-a", "build", "finished", NOW)


# -- facts -----------------------------------------------------------------------------------


def test_facts_merge_one_level_deep_and_null_removes() -> None:
    facts = {"last_switch": {"from": "blue", "to": "green"}, "frozen": True}
    merged = merge_facts(facts, {"last_switch": {"to": "blue"}, "frozen": None, "absent": None, "new": 1})
    assert merged == {"last_switch": {"to": "blue"}, "new": 1}
    assert facts["frozen"] is True
    assert merge_facts(facts, None) == facts


def test_step_and_close_merge_facts() -> None:
    journal = step(opened(), "switch", facts={"last_switch": {"to": "green"}, "canary": 10})
    assert journal["facts"] == {"last_switch": {"to": "green"}, "canary": 10}
    journal = close_journal(journal, "run-a", "SUCCEEDED", NOW, facts={"canary": None}).journal
    assert journal["facts"] == {"last_switch": {"to": "green"}}
    # Facts outlive the run: the next one finds them.
    assert open_journal(journal, opening("run-b"), NOW).journal["facts"] == {"last_switch": {"to": "green"}}


# -- close -----------------------------------------------------------------------------------


def test_close_ends_the_run_into_the_history_and_frees_the_lock() -> None:
    journal = step(
        open_journal(interrupted_journal(), opening("run-b"), NOW, holder_alive=False).journal, "x", run_id="run-b"
    )
    ended = NOW + timedelta(minutes=20)
    outcome = close_journal(journal, "run-b", "ROLLED_BACK", ended)
    assert outcome.write
    after = outcome.journal
    assert after["lock"] is None
    assert (after["run"]["status"], after["run"]["ended"]) == ("ROLLED_BACK", "2026-12-07T03:24:05Z")
    assert after["history"] == [
        {
            "run_id": "run-b",
            "entry_point": "deploy",
            "status": "ROLLED_BACK",
            "started": "2026-12-07T03:04:05Z",
            "ended": "2026-12-07T03:24:05Z",
            "resumed_from": "run-a",
        }
    ]
    # Steps stay readable after the close.
    assert completed_steps(after["run"]) == ["build", "x"]


def test_close_again_by_the_same_run_changes_nothing() -> None:
    closed = close_journal(opened(), "run-a", "SUCCEEDED", NOW).journal
    again = close_journal(closed, "run-a", "SUCCEEDED", NOW + timedelta(minutes=1), facts={"x": 1})
    assert not again.write and again.journal == closed and again.warnings == ()
    other = close_journal(closed, "run-a", "FAILED", NOW + timedelta(minutes=1))
    assert not other.write and other.journal["run"]["status"] == "SUCCEEDED"
    assert other.warnings == ("run run-a was already closed as SUCCEEDED at 2026-12-07T03:04:05Z; kept",)


def test_close_by_a_run_that_never_held_it_is_refused() -> None:
    with pytest.raises(NotHolder, match="took it over"):
        close_journal(opened(), "run-z", "SUCCEEDED", NOW)
    with pytest.raises(NotHolder, match="there is no journal yet"):
        close_journal(None, "run-z", "SUCCEEDED", NOW)


def test_close_refuses_an_unknown_outcome() -> None:
    with pytest.raises(JournalError, match="not DONE"):
        close_journal(opened(), "run-a", "DONE", NOW)


def test_the_history_keeps_the_last_runs() -> None:
    journal = None
    for number in range(HISTORY_LIMIT + 5):
        journal = open_journal(journal, opening(f"run-{number}"), NOW).journal
        journal = close_journal(journal, f"run-{number}", "SUCCEEDED", NOW).journal
    history = journal["history"]
    assert len(history) == HISTORY_LIMIT
    assert [entry["run_id"] for entry in history] == [f"run-{n}" for n in range(5, HISTORY_LIMIT + 5)]


def test_describe_holder_with_what_is_known() -> None:
    assert describe_holder({"user": "ops", "controller": "h", "pid": None, "awx_job_id": 9}) == (
        "ops@h pid unknown, AWX job 9"
    )
    assert describe_holder(None) == "unknown@unknown pid unknown"
