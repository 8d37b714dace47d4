# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The runbook journal's rules, apart from AWS: its layout, opening, steps, closing and the lease.

A journal is one JSON object per (environment, region, runbook). It records the run that holds it
(the lock, with a lease its holder renews at every write), that run's steps, the facts a runbook
keeps across runs and the last finished runs:

    {"version": 1, "runbook": ..., "environment": ..., "region": ...,
     "lock": null | {"run_id", "entry_point", "holder", "since", "lease_expires", "lease_seconds"},
     "run": null | {"run_id", "entry_point", "resume_inputs", "status", "started", "ended",
                    "resumed_from", "steps": {name: {"state", "at", "data"}}},
     "facts": {}, "history": [{"run_id", "entry_point", "status", "started", "ended", "resumed_from"}]}

Every function here takes the journal as read (None when there is none) and the time, and returns
an Outcome: the journal after and whether it has to be written. The caller writes it with a
compare-and-swap and decides again on a conflict, so these functions never see a journal change
under them. They never change the journal they are given.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

VERSION = 1
HISTORY_LIMIT = 20

RUNNING = "running"
INTERRUPTED = "INTERRUPTED"
OUTCOMES = ("SUCCEEDED", "FAILED", "REFUSED", "ROLLED_BACK")
STEP_STATES = ("started", "done", "failed")
DONE = "done"

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

TAKE_OVER_ASKED = "asked (take_over)"


class JournalError(Exception):
    """A state or a request the journal refuses, with the reason; nothing is written."""

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class Held(JournalError):
    """Another live run holds the journal; ``details`` carries its holder and lock."""


class NotHolder(JournalError):
    """A step or a close by a run that does not hold the journal."""


@dataclass(frozen=True)
class Opening:
    """What an open asks for."""

    run_id: str
    runbook: str
    region: str
    entry_point: str
    holder: dict[str, Any]
    environment: str | None = None
    lease_seconds: int = 3600
    take_over: bool = False
    resume_inputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """The journal after a decision, whether it has to be written, and what an open found."""

    journal: dict[str, Any] | None
    write: bool
    took_over: dict[str, Any] | None = None
    interrupted_run: dict[str, Any] | None = None
    warnings: tuple[str, ...] = ()


# -- time ------------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """ISO-8601 UTC to the second: 2026-12-07T03:04:05Z."""
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """A time as iso() writes it (any ISO-8601 with an offset is read too)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- reading a journal -----------------------------------------------------------------------


def new_journal(runbook: str, environment: str | None, region: str) -> dict[str, Any]:
    return {
        "version": VERSION,
        "runbook": runbook,
        "environment": environment,
        "region": region,
        "lock": None,
        "run": None,
        "facts": {},
        "history": [],
    }


def check_version(journal: dict[str, Any]) -> None:
    version = journal.get("version")
    if version != VERSION:
        raise JournalError(f"the journal is version {version}; this module reads version {VERSION} only")


def completed_steps(run: dict[str, Any] | None) -> list[str]:
    """The names of the run's steps that are done, in the order they were first recorded."""
    steps = (run or {}).get("steps") or {}
    return [name for name, step in steps.items() if step.get("state") == DONE]


def summary(journal: dict[str, Any] | None) -> dict[str, Any]:
    """What a task returns about a journal besides the journal itself."""
    run = (journal or {}).get("run") or {}
    resumed_from = run.get("resumed_from")
    return {
        "resumed": resumed_from is not None,
        "resumed_from": resumed_from,
        "completed_steps": completed_steps(run),
        "steps": copy.deepcopy(run.get("steps") or {}),
        "facts": copy.deepcopy((journal or {}).get("facts") or {}),
    }


def describe_holder(holder: dict[str, Any] | None) -> str:
    """user@controller pid N[, AWX job N]."""
    holder = holder or {}
    text = f"{holder.get('user') or 'unknown'}@{holder.get('controller') or 'unknown'}"
    text += f" pid {holder['pid']}" if holder.get("pid") is not None else " pid unknown"
    if holder.get("awx_job_id") is not None:
        text += f", AWX job {holder['awx_job_id']}"
    return text


def held_message(journal: dict[str, Any], now: datetime | None = None) -> str:
    """Who holds the journal, and how to get it; ``now`` past the lease says the lease expired."""
    lock = journal["lock"]
    lease = f"lease expires {lock.get('lease_expires')}"
    if now is not None and lease_expired(lock, now):
        lease = f"lease expired at {lock.get('lease_expires')} but its process still runs"
    return (
        f"{journal.get('runbook')} in {journal.get('region')} is held by run {lock['run_id']}"
        f" ({lock.get('entry_point')}) of {describe_holder(lock.get('holder'))} since {lock.get('since')};"
        f" {lease}. Wait for it, or take it over with take_over (only if that run is dead)."
    )


def lease_expired(lock: dict[str, Any], now: datetime) -> bool:
    return now >= parse_time(lock["lease_expires"])


def merge_facts(facts: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    """The facts with ``changes`` merged in, one level deep; a change to None removes the fact."""
    merged = copy.deepcopy(facts)
    for name, value in (changes or {}).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = copy.deepcopy(value)
    return merged


def as_json(value: Any) -> Any:
    """The value as it reads back from the journal, so that 1 and 1.0 or a tuple and a list compare equal."""
    return json.loads(json.dumps(value, sort_keys=True))


# -- open ------------------------------------------------------------------------------------


def open_journal(
    journal: dict[str, Any] | None, opening: Opening, now: datetime, holder_alive: bool | None = None
) -> Outcome:
    """Open the journal for a run: create it, take the lock, resume an interrupted run or start a new one.

    ``holder_alive`` says whether the process of the run that holds the lock is known to be running
    (True), known to be gone (False) or cannot be told from here (None).
    """
    if journal is None:
        created = new_journal(opening.runbook, opening.environment, opening.region)
        return _start(created, opening, now, took_over=None)
    check_version(journal)
    check_identity(journal, opening)
    lock = journal.get("lock")
    if lock and lock.get("run_id") == opening.run_id:
        return _reopened(journal, opening)
    check_not_run_before(journal, opening.run_id)
    took_over = None
    if lock:
        reason = take_over_reason(lock, opening.take_over, holder_alive, now)
        if reason is None:
            raise Held(held_message(journal, now), holder=copy.deepcopy(lock.get("holder")), lock=copy.deepcopy(lock))
        took_over = taken_over(lock, reason)
    return _start(copy.deepcopy(journal), opening, now, took_over=took_over)


def check_identity(journal: dict[str, Any], opening: Opening) -> None:
    """Refuse a journal kept for another runbook, environment or region (a key given wrongly)."""
    theirs = (journal.get("runbook"), journal.get("environment"), journal.get("region"))
    # An environment not given, or not recorded, matches any.
    ours = (opening.runbook, opening.environment or theirs[1], opening.region)
    if theirs[1] is None:
        theirs = (theirs[0], ours[1], theirs[2])
    if theirs != ours:
        raise JournalError(
            f"this is the journal of {theirs[0]} ({theirs[1]}) in {theirs[2]},"
            f" not of {ours[0]} ({ours[1]}) in {ours[2]}"
        )


def check_not_run_before(journal: dict[str, Any], run_id: str) -> None:
    """A run id names one run: one that has ended cannot open the journal again."""
    run = journal.get("run") or {}
    ended = [run] if run.get("run_id") == run_id and run.get("status") != RUNNING else []
    ended += [entry for entry in journal.get("history") or [] if entry.get("run_id") == run_id]
    if ended:
        raise JournalError(
            f"run {run_id} already ran and ended {ended[0].get('status')} at {ended[0].get('ended')}:"
            " a new run needs a new run_id"
        )


def _reopened(journal: dict[str, Any], opening: Opening) -> Outcome:
    """The run that holds the journal opens it again: nothing changes, if it asks for what it opened."""
    run = journal.get("run") or {}
    if run.get("entry_point") != opening.entry_point or as_json(run.get("resume_inputs") or {}) != as_json(
        opening.resume_inputs
    ):
        raise JournalError(
            f"run {opening.run_id} already holds the journal for {run.get('entry_point')} with resume_inputs"
            f" {run.get('resume_inputs')}; it cannot open it again for {opening.entry_point}"
            f" with {opening.resume_inputs}"
        )
    return Outcome(copy.deepcopy(journal), write=False)


def take_over_reason(lock: dict[str, Any], asked: bool, holder_alive: bool | None, now: datetime) -> str | None:
    """Why another run's lock may be taken over, or None when it may not.

    A holder whose process is known to run keeps the lock past its lease: its step takes longer
    than the lease, and a second run beside it is what the lock is for.
    """
    holder = lock.get("holder") or {}
    if asked:
        return TAKE_OVER_ASKED
    if holder_alive is False:
        return f"holder process {holder.get('pid')} on {holder.get('controller')} is gone"
    if holder_alive is None and lease_expired(lock, now):
        return f"lease expired at {lock['lease_expires']}"
    return None


def taken_over(lock: dict[str, Any], reason: str) -> dict[str, Any]:
    return {
        "run_id": lock.get("run_id"),
        "entry_point": lock.get("entry_point"),
        "holder": copy.deepcopy(lock.get("holder")),
        "since": lock.get("since"),
        "lease_expires": lock.get("lease_expires"),
        "reason": reason,
    }


def _start(journal: dict[str, Any], opening: Opening, now: datetime, took_over: dict[str, Any] | None) -> Outcome:
    """Lock the journal for the run, resuming the run before when it never ended and asked for the same."""
    previous = journal.get("run")
    interrupted = None
    if previous and previous.get("status") == RUNNING:
        reason = resume_mismatch(previous, opening)
        if reason is None:
            journal["run"] = resumed_run(previous, opening, now)
        else:
            entry = finished(previous, INTERRUPTED, now)
            journal["history"] = append_history(journal.get("history") or [], entry)
            interrupted = {**entry, "reason": reason}
            journal["run"] = fresh_run(opening, now)
    else:
        journal["run"] = fresh_run(opening, now)
    journal["lock"] = new_lock(opening, now)
    return Outcome(journal, write=True, took_over=took_over, interrupted_run=interrupted)


def resume_mismatch(previous: dict[str, Any], opening: Opening) -> str | None:
    """Why a run that never ended cannot be resumed by this one, or None when it can."""
    if previous.get("entry_point") != opening.entry_point:
        return f"its entry point {previous.get('entry_point')} is not {opening.entry_point}"
    if as_json(previous.get("resume_inputs") or {}) != as_json(opening.resume_inputs):
        return f"its resume_inputs {previous.get('resume_inputs')} are not {opening.resume_inputs}"
    return None


def new_lock(opening: Opening, now: datetime) -> dict[str, Any]:
    return {
        "run_id": opening.run_id,
        "entry_point": opening.entry_point,
        "holder": copy.deepcopy(opening.holder),
        "since": iso(now),
        "lease_expires": iso(now + timedelta(seconds=opening.lease_seconds)),
        "lease_seconds": opening.lease_seconds,
    }


def fresh_run(opening: Opening, now: datetime) -> dict[str, Any]:
    return {
        "run_id": opening.run_id,
        "entry_point": opening.entry_point,
        "resume_inputs": as_json(opening.resume_inputs),
        "status": RUNNING,
        "started": iso(now),
        "ended": None,
        "resumed_from": None,
        "steps": {},
    }


def resumed_run(previous: dict[str, Any], opening: Opening, now: datetime) -> dict[str, Any]:
    return {**fresh_run(opening, now), "resumed_from": previous["run_id"], "steps": copy.deepcopy(previous["steps"])}


def finished(run: dict[str, Any], status: str, now: datetime) -> dict[str, Any]:
    """The run's history entry, ended now with ``status``."""
    return {
        "run_id": run.get("run_id"),
        "entry_point": run.get("entry_point"),
        "status": status,
        "started": run.get("started"),
        "ended": iso(now),
        "resumed_from": run.get("resumed_from"),
    }


def append_history(history: list[dict[str, Any]], entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [*copy.deepcopy(history), entry][-HISTORY_LIMIT:]


# -- step and close --------------------------------------------------------------------------


def not_holder_message(journal: dict[str, Any] | None, run_id: str) -> str:
    """Why ``run_id`` cannot write to the journal."""
    if journal is None:
        return f"run {run_id} does not hold the journal: there is no journal yet (open it first)"
    lock, run = journal.get("lock"), journal.get("run") or {}
    if lock:
        return (
            f"this run no longer holds the journal: run {lock.get('run_id')} of {describe_holder(lock.get('holder'))}"
            f" took it over at {lock.get('since')}"
        )
    if run.get("run_id") == run_id:
        return f"run {run_id} has already closed the journal ({run.get('status')} at {run.get('ended')})"
    if run:
        return (
            f"run {run_id} does not hold the journal: no run holds it (the last, {run.get('run_id')},"
            f" ended {run.get('status')} at {run.get('ended')})"
        )
    return f"run {run_id} does not hold the journal: no run holds it (open it first)"


def held_by(journal: dict[str, Any] | None, run_id: str) -> dict[str, Any]:
    """A copy of the journal, when ``run_id`` holds it; NotHolder otherwise."""
    if journal is not None:
        check_version(journal)
    if journal is None or (journal.get("lock") or {}).get("run_id") != run_id:
        raise NotHolder(not_holder_message(journal, run_id))
    return copy.deepcopy(journal)


def renew_lease(lock: dict[str, Any], now: datetime) -> None:
    lock["lease_expires"] = iso(now + timedelta(seconds=int(lock["lease_seconds"])))


def record_step(
    journal: dict[str, Any] | None,
    run_id: str,
    step: str,
    state: str,
    now: datetime,
    *,
    data: dict[str, Any] | None = None,
    facts: dict[str, Any] | None = None,
) -> Outcome:
    """Record a step of the run that holds the journal, merge facts and renew its lease."""
    if state not in STEP_STATES:
        raise JournalError(f"a step's state is one of {', '.join(STEP_STATES)}, not {state}")
    after = held_by(journal, run_id)
    after["run"].setdefault("steps", {})[step] = {"state": state, "at": iso(now), "data": as_json(data or {})}
    after["facts"] = merge_facts(after.get("facts") or {}, facts)
    renew_lease(after["lock"], now)
    return Outcome(after, write=True)


def close_journal(
    journal: dict[str, Any] | None, run_id: str, outcome: str, now: datetime, facts: dict[str, Any] | None = None
) -> Outcome:
    """End the run that holds the journal with ``outcome``, record it in the history and free the lock.

    Closing again a run that this run_id already closed changes nothing.
    """
    if outcome not in OUTCOMES:
        raise JournalError(f"a run's outcome is one of {', '.join(OUTCOMES)}, not {outcome}")
    closed = already_closed(journal, run_id, outcome)
    if closed is not None:
        return closed
    after = held_by(journal, run_id)
    run = after["run"]
    run.update(status=outcome, ended=iso(now))
    after["history"] = append_history(after.get("history") or [], finished(run, outcome, now))
    after["lock"] = None
    after["facts"] = merge_facts(after.get("facts") or {}, facts)
    return Outcome(after, write=True)


def already_closed(journal: dict[str, Any] | None, run_id: str, outcome: str) -> Outcome | None:
    """The no-change Outcome of closing again a run already closed, or None when it is not."""
    if journal is None or journal.get("lock"):
        return None
    run = journal.get("run") or {}
    if run.get("run_id") != run_id or run.get("status") == RUNNING:
        return None
    warnings = ()
    if run.get("status") != outcome:
        warnings = (f"run {run_id} was already closed as {run.get('status')} at {run.get('ended')}; kept",)
    return Outcome(copy.deepcopy(journal), write=False, warnings=warnings)
