#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: runbook_journal
version_added: 0.1.0
short_description: Record a runbook's run in S3 so that a re-run resumes it and a concurrent run is refused
description:
  - Keeps the journal of a runbook in one environment and region, a JSON object in S3, written only with
    conditional writes (a compare-and-swap). M(amazon.aws.s3_object) cannot make conditional writes (it sends
    neither C(If-None-Match) nor C(If-Match)), so two runs that read the journal at the same time would both
    write it and both believe they hold it; SSM Parameter Store has no conditional update either. Here a journal
    is created with C(If-None-Match) set to C(*) and changed with C(If-Match) on the ETag it was read with; when another
    writer got there first (S3 answers C(412 PreconditionFailed) or C(409 ConditionalRequestConflict)), the
    module reads the journal again and decides again, up to 5 times. Of two runs opening at once, one holds the
    journal and the other is refused.
  - O(operation=open) takes the journal's lock for a run. It is refused, naming the run that holds the lock
    and its holder, while another run holds it, unless that run's lease has expired, its process is known
    to be gone, or O(take_over) is set. When the last run never closed (it was interrupted) and this one
    has the same O(entry_point) and equal O(resume_inputs), this run resumes it, its steps copied, and
    RV(completed_steps) names those done; otherwise the old run is recorded as C(INTERRUPTED) and a new one
    starts.
  - O(operation=step) records a step of the run that holds the journal and renews its lease;
    O(operation=close) ends the run with its outcome, adds it to the history (the last 20 runs) and frees
    the lock. Both fail when the run no longer holds the journal (another run took it over).
    O(operation=read) returns the journal, or V({}) when there is none.
  - The journal of a runbook lives in its region's own bucket, C(<prefix>-runbooks-<region>), which the
    storage role creates (C(playbooks/site.yml)), at C(journal/<environment>/<runbook>.json), so that a
    runbook run in the DR region never depends on the primary region. The object is written as C(application/json) with no
    encryption headers, so the bucket's default encryption (SSE-KMS) applies.
  - The run that holds the lock renews its lease at every write. A run whose lease has expired (no write for
    O(lease_seconds)) can be taken over by another, so the lease must outlast the longest step of the runbook.
  - The holder's process is known to be gone when O(holder.controller) is the host the module runs on and
    C(/proc/<pid>) does not exist there or is not an C(ansible) process, and known to run when it is one; run
    the module on the controller (delegated to C(localhost)). A holder known gone is taken over at once; one known
    to run keeps the lock even past its lease (only O(take_over) takes it). Anywhere else, or where C(/proc) hides
    other users' processes, nothing is known and the lease decides.
  - Needs C(s3:GetObject), C(s3:PutObject) and C(s3:ListBucket) on the bucket (without C(s3:ListBucket) S3
    answers a missing journal with C(AccessDenied)), and C(kms:GenerateDataKey) and C(kms:Decrypt) on its key.
  - In check mode the module reads the journal and decides, but never writes; RV(journal) is the journal as it
    would be. An open in check mode is refused too while another live run holds the journal, so a dry run
    during someone's change fails. As an open in check mode writes nothing, a later step or close of the same
    run in check mode does not hold the journal; it is then predicted as a write and not refused.
options:
  bucket:
    description: The bucket of the journal, C(<prefix>-runbooks-<region>) in the module's region.
    type: str
    required: true
  key:
    description: The key of the journal, C(journal/<environment>/<runbook>.json).
    type: str
    required: true
  operation:
    description:
      - V(open) takes the journal for O(run_id) (creating it when there is none), V(step) records a step,
        V(close) ends the run, V(read) returns the journal.
    type: str
    required: true
    choices: [open, step, close, read]
  run_id:
    description:
      - The run, unique to one run of a runbook (for example a time stamp and a random number). Required with
        O(operation=open), O(operation=step) and O(operation=close).
      - A run that has ended cannot open the journal again; the next run needs a new id.
    type: str
  runbook:
    description:
      - The runbook the journal is kept for, recorded in it. Required with O(operation=open), which refuses a journal
        recorded for another runbook, environment or region.
    type: str
  environment:
    description: The environment, recorded in the journal when O(operation=open) creates it.
    type: str
  entry_point:
    description:
      - The entry point of the runbook this run runs (for example V(deploy) or V(rollback)). Required with
        O(operation=open). A run resumes an interrupted one only from the same entry point.
    type: str
  holder:
    description:
      - Who runs the run, recorded in the lock and named when another run is refused.
    type: dict
    suboptions:
      user:
        description: The user who runs it; the user the module runs as when omitted.
        type: str
      controller:
        description: The host ansible-playbook runs on; the host the module runs on when omitted.
        type: str
      pid:
        description:
          - The process id of ansible-playbook, which tells when the run is gone. A task's lookup runs in a
            worker process whose parent is ansible-playbook, so
            C(lookup('ansible.builtin.pipe', 'ps -o ppid= -p $PPID')) gives it.
        type: int
      awx_job_id:
        description: The AWX job that runs it, if any.
        type: int
  lease_seconds:
    description:
      - With O(operation=open), how long the lock holds without a write, in seconds, at least 60. Every step and
        close renews it; after that another run may take it over. Longer than the longest step.
    type: int
    default: 3600
  take_over:
    description:
      - With O(operation=open), take the journal from the run that holds it even when its lease has not expired.
        Only when that run is dead; it fails at its next step or close.
    type: bool
    default: false
  resume_inputs:
    description:
      - With O(operation=open), the inputs of the run that decide what it does (for example the version being
        deployed). An interrupted run is resumed only by a run with equal inputs, compared as JSON (V("1") is
        not V(1)).
    type: dict
    default: {}
  step:
    description: With O(operation=step), the step's name. Required with O(operation=step).
    type: str
  step_state:
    description: With O(operation=step), where the step is. Required with O(operation=step).
    type: str
    choices: [started, done, failed]
  step_data:
    description: With O(operation=step), what the step wants recorded with it (its result, timings).
    type: dict
    default: {}
  facts:
    description:
      - With O(operation=step) or O(operation=close), durable state of the runbook that outlives the run (for example
        the last blue/green switch), merged into the journal's facts one level deep. A fact set to V(null) is
        removed.
    type: dict
  outcome:
    description: With O(operation=close), how the run ended. Required with O(operation=close).
    type: str
    choices: [SUCCEEDED, FAILED, REFUSED, ROLLED_BACK]
attributes:
  diff_mode:
    support: full
    details: The journal document in the bucket before and after the action.
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules, amazon.aws.region.modules,
  amazon.aws.boto3]
"""

EXAMPLES = r"""
# The tasks of one run address the same journal: module_defaults names it once.
- name: The deploy, journaled
  module_defaults:
    wedsync.platform.runbook_journal:
      region: us-east-1
      bucket: wedsync-production-runbooks-us-east-1
      key: journal/production/blue_green.json
      run_id: "{{ deploy_run_id }}"
  delegate_to: localhost
  block:
    - name: Open the journal of the deploy; refused while another run holds it
      wedsync.platform.runbook_journal:
        operation: open
        runbook: blue_green
        environment: production
        entry_point: deploy
        holder:
          pid: "{{ lookup('ansible.builtin.pipe', 'ps -o ppid= -p $PPID') | int }}"
          awx_job_id: "{{ awx_job_id | default(omit) }}"
        resume_inputs:
          version: "{{ version }}"
        take_over: "{{ deploy_take_over | default(false) }}"
      register: deploy_journal

    - name: Build the release on the idle colour, unless a resumed run did it already
      when: "'build' not in deploy_journal.completed_steps"
      block:
        - name: Record that the build started
          wedsync.platform.runbook_journal:
            operation: step
            step: build
            step_state: started

        # ... the build ...

        - name: Record that it is done, and on which colour
          wedsync.platform.runbook_journal:
            operation: step
            step: build
            step_state: done
            step_data: {color: green}

    - name: Close the run, keeping the switch it made for the next rollback
      wedsync.platform.runbook_journal:
        operation: close
        outcome: SUCCEEDED
        facts:
          last_switch:
            from: blue
            to: green
            at: "{{ now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ') }}"

- name: Read the journal of the DR region
  wedsync.platform.runbook_journal:
    region: us-west-2
    bucket: wedsync-production-runbooks-us-west-2
    key: journal/production/blue_green.json
    operation: read
  delegate_to: localhost
  register: dr_journal
"""

RETURN = r"""
journal:
  description: The journal after the task (as it would be, in check mode); V({}) when there is none.
  returned: always
  type: dict
  sample:
    version: 1
    runbook: blue_green
    environment: production
    region: us-east-1
    lock:
      run_id: 20261207T030405Z-4711
      entry_point: deploy
      holder: {user: ops, controller: bastion-1, pid: 81234, awx_job_id: null}
      since: "2026-12-07T03:04:05Z"
      lease_expires: "2026-12-07T04:04:05Z"
      lease_seconds: 3600
    run:
      run_id: 20261207T030405Z-4711
      entry_point: deploy
      resume_inputs: {version: 1.2.3}
      status: running
      started: "2026-12-07T03:04:05Z"
      ended: null
      resumed_from: null
      steps:
        build: {state: done, at: "2026-12-07T03:10:41Z", data: {color: green}}
    facts: {}
    history: []
resumed:
  description: Whether the journal's current run resumed an interrupted run.
  returned: always
  type: bool
  sample: true
resumed_from:
  description: The run the current run resumed; null when it did not.
  returned: always
  type: str
  sample: 20261207T020000Z-1234
completed_steps:
  description: The steps of the journal's current run that are done, in the order they were first recorded.
  returned: always
  type: list
  elements: str
  sample: [build, smoke_test]
steps:
  description: The steps of the journal's current run, by name.
  returned: always
  type: dict
  sample:
    build: {state: done, at: "2026-12-07T03:10:41Z", data: {color: green}}
    smoke_test: {state: started, at: "2026-12-07T03:11:02Z", data: {}}
took_over:
  description: The lock this open took over from another run; null when it took over none.
  returned: always
  type: dict
  contains:
    run_id:
      description: The run that held the lock.
      type: str
    entry_point:
      description: Its entry point.
      type: str
    holder:
      description: Its holder, as given to its open.
      type: dict
    since:
      description: When it took the lock.
      type: str
      sample: "2026-12-07T03:04:05Z"
    lease_expires:
      description: When its lease expired or would have.
      type: str
    reason:
      description:
        - Why it could be taken over, V(asked (take_over)), V(holder process <pid> on <controller> is gone) or
          V(lease expired at <time>).
      type: str
  sample:
    run_id: 20261207T020000Z-1234
    entry_point: deploy
    holder: {user: ops, controller: bastion-1, pid: 80001, awx_job_id: null}
    since: "2026-12-07T02:00:00Z"
    lease_expires: "2026-12-07T03:00:00Z"
    reason: holder process 80001 on bastion-1 is gone
interrupted_run:
  description:
    - The run that never closed and that this open could not resume (another entry point or other inputs),
      recorded in the history as V(INTERRUPTED); null when there was none.
  returned: always
  type: dict
  sample:
    run_id: 20261207T020000Z-1234
    entry_point: deploy
    status: INTERRUPTED
    started: "2026-12-07T02:00:00Z"
    ended: "2026-12-07T03:04:05Z"
    resumed_from: null
    reason: "its resume_inputs {'version': '1.2.2'} are not {'version': '1.2.3'}"
facts:
  description: The journal's facts after the task.
  returned: always
  type: dict
  sample:
    last_switch: {from: blue, to: green, at: "2026-12-07T03:20:00Z"}
etag:
  description:
    - The ETag of the journal after the task, as S3 gives it (quoted); in check mode the ETag it has. Null when there
      is no journal.
  returned: always
  type: str
  sample: '"5d41402abc4b2a76b9719d911017c592"'
holder:
  description: The holder of the run that holds the journal, when an open is refused because of it.
  returned: when O(operation=open) is refused because another run holds the journal
  type: dict
  sample: {user: ops, controller: bastion-1, pid: 80001, awx_job_id: 4711}
lock:
  description: The lock of the run that holds the journal, when an open is refused because of it.
  returned: when O(operation=open) is refused because another run holds the journal
  type: dict
"""

import getpass
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils._s3 import BucketNotFound, put_object_if_unchanged
from ansible_collections.wedsync.platform.plugins.module_utils._s3 import get_object as get_journal
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.journal import (
    OUTCOMES,
    STEP_STATES,
    Held,
    JournalError,
    NotHolder,
    Opening,
    Outcome,
    close_journal,
    open_journal,
    record_step,
    summary,
)
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule

ATTEMPTS = 5
MIN_LEASE_SECONDS = 60
PROC = Path("/proc")


def utcnow() -> datetime:
    return datetime.now(UTC)


def put_journal(client, bucket: str, key: str, journal: dict[str, Any], etag: str | None) -> str | None:
    """Write the journal if it is still the one read with ``etag`` (or still absent).

    Returns its new ETag, or None when another writer got there first.
    """
    body = json.dumps(journal, indent=2) + "\n"
    return put_object_if_unchanged(client, bucket, key, body.encode(), content_type="application/json", etag=etag)


def parse_journal(body: bytes | None, where: str) -> dict[str, Any] | None:
    if body is None:
        return None
    try:
        journal = json.loads(body)
    except ValueError as e:
        raise JournalError(f"{where} is not a journal: {e}") from e
    if not isinstance(journal, dict):
        raise JournalError(f"{where} is not a journal: not a JSON object")
    return journal


def current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def holder_of(given: dict[str, Any] | None) -> dict[str, Any]:
    given = given or {}
    return {
        "user": given.get("user") or current_user(),
        "controller": given.get("controller") or socket.gethostname(),
        "pid": given.get("pid"),
        "awx_job_id": given.get("awx_job_id"),
    }


def holder_alive(holder: dict[str, Any] | None) -> bool | None:
    """Whether the holder's ansible-playbook still runs: known only for a process on this host."""
    holder = holder or {}
    pid = holder.get("pid")
    if not pid or holder.get("controller") != socket.gethostname():
        return None
    # Without /proc (not Linux), or when it hides other users' processes (hidepid), an absent pid means nothing.
    if not (PROC / "1").is_dir():
        return None
    try:
        cmdline = (PROC / str(pid) / "cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return None
    return any(os.path.basename(arg).startswith(b"ansible") for arg in cmdline.split(b"\0"))


def opening_of(module: WedSyncAWSModule) -> Opening:
    params = module.params
    return Opening(
        run_id=params["run_id"],
        runbook=params["runbook"],
        region=module.region,
        entry_point=params["entry_point"],
        holder=holder_of(params["holder"]),
        environment=params["environment"],
        lease_seconds=params["lease_seconds"],
        take_over=params["take_over"],
        resume_inputs=params["resume_inputs"],
    )


def decide(module: WedSyncAWSModule, journal: dict[str, Any] | None, now: datetime) -> Outcome:
    """What the operation does to the journal as read."""
    params = module.params
    operation, run_id = params["operation"], params["run_id"]
    if operation == "open":
        lock = (journal or {}).get("lock") or {}
        alive = holder_alive(lock.get("holder")) if lock and lock.get("run_id") != run_id else None
        return open_journal(journal, opening_of(module), now, alive)
    try:
        if operation == "step":
            return record_step(journal, run_id, params["step"], params["step_state"], now, **changes(params))
        if operation == "close":
            return close_journal(journal, run_id, params["outcome"], now, facts=params["facts"])
    except NotHolder:
        # In check mode the run's open wrote nothing, so it cannot hold the journal: predict the write.
        if not module.check_mode:
            raise
        return Outcome(journal, write=True)
    return Outcome(journal, write=False)


def changes(params: dict[str, Any]) -> dict[str, Any]:
    return {"data": params["step_data"], "facts": params["facts"]}


def apply(module: WedSyncAWSModule, client) -> tuple[dict[str, Any] | None, Outcome, str | None]:
    """Read, decide and write with a compare-and-swap, deciding again when another writer got there first.

    Returns the journal as read, the outcome and the journal's ETag after.
    """
    bucket, key = module.params["bucket"], module.params["key"]
    where = f"s3://{bucket}/{key}"
    for _attempt in range(ATTEMPTS):
        body, etag = get_journal(client, bucket, key)
        before = parse_journal(body, where)
        outcome = decide(module, before, utcnow())
        if not outcome.write or module.check_mode:
            return before, outcome, etag
        written = put_journal(client, bucket, key, outcome.journal, etag)
        if written:
            return before, outcome, written
    raise JournalError(
        f"{where} changed under each of {ATTEMPTS} attempts to write it; nothing was written by this task"
    )


def result_of(module: WedSyncAWSModule, before: dict[str, Any] | None, outcome: Outcome, etag: str | None) -> dict:
    journal = outcome.journal or {}
    result = {
        "changed": outcome.write,
        "journal": journal,
        **summary(outcome.journal),
        "took_over": outcome.took_over,
        "interrupted_run": outcome.interrupted_run,
        "etag": etag,
    }
    if module._diff:
        result["diff"] = {"before": before or {}, "after": journal}
    return result


def check_params(module: WedSyncAWSModule) -> None:
    params = module.params
    if params["operation"] == "open" and params["lease_seconds"] < MIN_LEASE_SECONDS:
        module.fail_json(msg=f"lease_seconds must be at least {MIN_LEASE_SECONDS}, not {params['lease_seconds']}")
    if params["operation"] == "step" and not params["step"].strip():
        module.fail_json(msg="step must name the step")


def main() -> None:
    module = WedSyncAWSModule(
        argument_spec={
            "bucket": {"type": "str", "required": True},
            "key": {"type": "str", "required": True, "no_log": False},
            "operation": {"type": "str", "required": True, "choices": ["open", "step", "close", "read"]},
            "run_id": {"type": "str"},
            "runbook": {"type": "str"},
            "environment": {"type": "str"},
            "entry_point": {"type": "str"},
            "holder": {
                "type": "dict",
                "options": {
                    "user": {"type": "str"},
                    "controller": {"type": "str"},
                    "pid": {"type": "int"},
                    "awx_job_id": {"type": "int"},
                },
            },
            "lease_seconds": {"type": "int", "default": 3600},
            "take_over": {"type": "bool", "default": False},
            "resume_inputs": {"type": "dict", "default": {}},
            "step": {"type": "str"},
            "step_state": {"type": "str", "choices": list(STEP_STATES)},
            "step_data": {"type": "dict", "default": {}},
            "facts": {"type": "dict"},
            "outcome": {"type": "str", "choices": list(OUTCOMES)},
        },
        required_if=[
            ("operation", "open", ("run_id", "runbook", "entry_point")),
            ("operation", "step", ("run_id", "step", "step_state")),
            ("operation", "close", ("run_id", "outcome")),
        ],
        supports_check_mode=True,
    )
    check_params(module)
    client = module.client("s3")
    try:
        before, outcome, etag = apply(module, client)
    except Held as e:
        module.fail_json(msg=str(e), changed=False, **e.details)
    except JournalError as e:
        module.fail_json(msg=str(e), changed=False)
    except BucketNotFound:
        module.fail_json(
            msg=f"the journal bucket {module.params['bucket']} does not exist in {module.region}:"
            " provision it with playbooks/site.yml (the storage role creates it)",
            changed=False,
        )
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
    for warning in outcome.warnings:
        module.warn(warning)
    module.exit_json(**result_of(module, before, outcome, etag))


if __name__ == "__main__":
    main()
