# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# The action plugin plugins/action/report.py does the work: this file only documents it.

from __future__ import annotations

DOCUMENTATION = r"""
module: report
version_added: 0.1.0
short_description: Mark an event of a runbook run for its run report
description:
  - Marks one event of a runbook run on the controller, for the run report that the
    P(wedsync.platform.run_report#callback) callback writes (C(report.json), C(report.md), C(timeline.svg)).
  - Each call is one kind of event, chosen by the option given. O(begin) starts a run; O(phase) starts a
    phase and ends the one before; O(gate) records a check that passed or refused; O(measurement) records a
    measured value against an objective; O(resource) records a resource changed; O(follow_up) records
    something a person must do after the run; O(resumed), O(took_over) and O(journal) record what the
    runbook's journal found; O(end) ends the run and returns the whole report.
  - The events of a host's run ride in its facts, RV(ansible_facts.wedsync_report_events), from one task
    to the next. O(begin) starts them over. An event marked before any O(begin) is returned but not kept.
  - What facts cannot carry, the events of a loop's items and of a failed task, is also kept in a file of
    the run on the controller, under the temporary directory, until its O(end); so calls in a loop and an
    O(end) in a C(rescue) see every event.
  - "A gate that did not pass fails the task with C(Refusing to <action>, nothing changed: <reason>), or
    C(Stopping: <reason>) with O(changed_anything=true), unless O(refuse=false)."
  - Inputs of O(begin) whose name is in O(begin.secret_inputs), or contains C(password), C(secret),
    C(token), C(private_key), C(api_key) or C(credential), are recorded as C(********), at any depth.
  - Never changes anything; C(changed) is always false.
author:
  - WedSync SRE (@wedsync)
options:
  begin:
    description:
      - Begins a run of a runbook on this host; its C(run_id) is the UTC time and six hex digits.
      - Records who started it (user, controller, the C(ansible-playbook) process, the AWX job from
        C(awx_job_id) or C(tower_job_id), C(awx_job_template_name), C(awx_schedule_name) and
        C(awx_user_name)), the play, the host, check mode and the collection's version.
    type: dict
    suboptions:
      runbook:
        description: The runbook, e.g. C(deploy_blue_green).
        type: str
        required: true
      action:
        description: What the run does, e.g. C(deploy); the refusal message says C(Refusing to <action>).
        type: str
        required: true
      inputs:
        description: The run's inputs, as the report lists them; secret ones are hidden.
        type: dict
        default: {}
      secret_inputs:
        description: Names of inputs to hide besides those whose name says they are secret.
        type: list
        elements: str
        default: []
      environment:
        description: The environment, e.g. C(production).
        type: str
      region:
        description: The AWS region of the run.
        type: str
  phase:
    description:
      - A phase of the run starts now; the one before ends now. The last one ends with the run.
    type: str
  detail:
    description:
      - A few words on the O(phase) or the O(measurement).
    type: str
  gate:
    description:
      - The name of a check that decides whether the run goes on. Needs O(passed) and O(reason).
    type: str
  passed:
    description:
      - Whether the O(gate) passed.
    type: bool
  reason:
    description:
      - "Why the O(gate) passed or did not, with the figures, e.g. C(blue: 2 of 6 targets healthy)."
    type: str
  override:
    description:
      - The O(gate) passed only because a person forced it; what forced it, e.g. C(-e deploy_force=true).
      - The report shows the gate as overridden with this text.
    type: str
  refuse:
    description:
      - Whether a O(gate) that did not pass fails the task, stopping the run. The run's outcome is then
        C(REFUSED), or C(FAILED) with O(changed_anything=true).
      - With V(false) the gate is only recorded.
    type: bool
    default: true
  changed_anything:
    description:
      - The run has already changed something when this O(gate) refuses, so the message says
        C(Stopping) rather than C(nothing changed), and the outcome is not C(REFUSED).
    type: bool
    default: false
  measurement:
    description:
      - The name of something measured, e.g. C(time to full shift).
    type: str
  value:
    description:
      - The measured value, a number; null when it could not be measured.
    type: raw
  unit:
    description:
      - The unit of O(value). With C(s) and an O(objective), the timeline draws the time against its objective.
    type: str
    default: s
  objective:
    description:
      - The objective O(value) is measured against, in O(unit).
    type: float
  objective_kind:
    description:
      - V(max) is met when O(value) is at most O(objective), V(min) when it is at least O(objective).
    type: str
    choices: [max, min]
    default: max
  finding:
    description:
      - What a check found, e.g. C(2 of 3 targets of blue unhealthy), or that all is well.
    type: str
  check:
    description:
      - The check that made the O(finding), e.g. C(targets); the finding itself when not given.
    type: str
  severity:
    description:
      - The O(finding)'s severity by the seed's incident levels, whose response time the report adds
        (V(P0) 15 minutes, V(P1) 1 hour, V(P2) 4 hours, V(P3) next business day); not given when all is well.
    type: str
    choices: [P0, P1, P2, P3]
  resource:
    description:
      - A resource the run changed.
    type: dict
    suboptions:
      id:
        description: What identifies it (name, ID or ARN).
        type: str
        required: true
      type:
        description: Its kind, e.g. C(listener) or C(Auto Scaling group).
        type: str
        required: true
      change:
        description: What happened to it.
        type: str
        required: true
        choices: [created, modified, deleted, replaced]
      before:
        description: What it was, as much as helps.
        type: raw
      after:
        description: What it is now.
        type: raw
  follow_up:
    description:
      - Something a person must do after the run.
    type: str
  journal:
    description:
      - What the runbook's journal (M(wedsync.platform.runbook_journal)) says of the run, as its C(open)
        returns it. Later calls add to what earlier ones said.
    type: dict
    suboptions:
      bucket:
        description: The S3 bucket of the journal.
        type: str
      key:
        description: Its object key.
        type: str
      resumed_from:
        description: The interrupted run this one resumed; null when it resumed none.
        type: str
      completed_steps:
        description: The steps that run had completed, which this one skips.
        type: list
        elements: raw
      took_over:
        description:
          - The lock this run took over from another run, with at least C(holder) (a dict) and C(reason);
            null when it took over none.
        type: dict
  resumed:
    description:
      - This run resumed an interrupted one, according to the journal; the same as O(journal.resumed_from)
        and O(journal.completed_steps).
    type: dict
    suboptions:
      run_id:
        description: The run it resumed.
        type: str
        required: true
      completed_steps:
        description: The steps that run had completed, which this one skips.
        type: list
        elements: raw
        default: []
  took_over:
    description:
      - This run took the journal's lock over from another run; the same as O(journal.took_over), with at
        least C(holder) (a dict) and C(reason).
    type: dict
  end:
    description:
      - V(true) ends the run. The phase still open ends, failed when the run did not succeed, and the
        whole report is returned in RV(report), and in brief in RV(ansible_stats) for AWX.
    type: bool
  outcome:
    description:
      - How the run ended, with O(end).
      - Without it, C(REFUSED) when a gate refused before anything changed, C(FAILED) with O(failure) or
        when a gate stopped the run after changes, otherwise C(SUCCEEDED).
    type: str
    choices: [SUCCEEDED, FAILED, REFUSED, ROLLED_BACK]
  summary:
    description:
      - One line saying how the run went, with O(end). Without it the report makes one from the outcome.
    type: str
  failure:
    description:
      - What failed, with O(end), usually from C(ansible_failed_task) and C(ansible_failed_result) in a rescue.
    type: dict
    suboptions:
      task:
        description: The task that failed.
        type: str
      message:
        description: Its message.
        type: str
        required: true
attributes:
  check_mode:
    support: full
    details: Records as in a normal run; the run and its report say they were in check mode.
  diff_mode:
    support: none
  facts:
    support: full
    details: Returns the run's events as the fact C(wedsync_report_events).
  platform:
    platforms: all
seealso:
  - plugin: wedsync.platform.run_report
    plugin_type: callback
extends_documentation_fragment: [wedsync.platform.action, ansible.builtin.action_common_attributes,
  ansible.builtin.action_common_attributes.facts]
"""

EXAMPLES = r"""
- name: Begin the run
  wedsync.platform.report:
    begin:
      runbook: deploy_blue_green
      action: deploy
      inputs:
        version: "{{ version }}"
        deploy_steps: "{{ deploy_steps }}"
        slack_webhook: "{{ slack_webhook }}"
      secret_inputs: [slack_webhook]
      environment: "{{ wedsync_environment }}"
      region: "{{ wedsync_region }}"

- name: Preflight
  wedsync.platform.report:
    phase: preflight
    detail: read both colors

- name: Refuse unless the live color is healthy
  wedsync.platform.report:
    gate: live color healthy
    passed: "{{ live_unhealthy | length == 0 }}"
    reason: "{{ live_healthy_count }} of {{ live_target_count }} targets healthy"

- name: Replica lag, forced past by the operator
  wedsync.platform.report:
    gate: replica lag under 5 s
    passed: true
    reason: replica 2 at 7.8 s
    override: forced with -e deploy_force=true

- name: How long the shift took
  wedsync.platform.report:
    measurement: time to full shift
    value: "{{ shift_seconds }}"
    objective: 300

- name: What the targets check found
  wedsync.platform.report:
    finding: 1 of 2 targets of the live colour blue unhealthy
    check: targets
    severity: P1
    detail: i-0abc (Target.FailedHealthChecks)

- name: The listener moved
  wedsync.platform.report:
    resource:
      id: "{{ listener_arn }}"
      type: listener
      change: modified
      before: {blue: 100, green: 0}
      after: {blue: 0, green: 100}

- name: What the journal found
  wedsync.platform.report:
    journal:
      bucket: "{{ journal_bucket }}"
      key: "{{ journal_key }}"
      resumed_from: "{{ opened.resumed_from }}"
      completed_steps: "{{ opened.completed_steps }}"
      took_over: "{{ opened.took_over }}"

- name: Keep the old color a day
  wedsync.platform.report:
    follow_up: blue keeps 1.2.2 for a rollback; scale it down once 1.2.3 has been quiet for a day

- name: End the run (in a rescue)
  wedsync.platform.report:
    end: true
    outcome: ROLLED_BACK
    summary: Alarms fired at 50%; all traffic is back on blue.
    failure:
      task: "{{ ansible_failed_task.name }}"
      message: "{{ ansible_failed_result.msg }}"
"""

RETURN = r"""
wedsync_report_event:
  description: The event marked, as the report's events hold it.
  returned: always
  type: dict
  contains:
    kind:
      description: C(begin), C(phase), C(gate), C(measurement), C(resource), C(follow_up), C(journal) or C(end).
      type: str
      sample: phase
    at:
      description: When, in UTC with milliseconds.
      type: str
      sample: "2026-12-07T03:04:05.123Z"
    run_id:
      description: The run the event belongs to; null before any O(begin).
      type: str
      sample: 20261207T030405Z-a1b2c3
  sample:
    kind: gate
    at: "2026-12-07T03:04:05.123Z"
    run_id: 20261207T030405Z-a1b2c3
    name: live color healthy
    passed: true
    reason: "blue: 6 of 6 targets healthy"
    override: null
    refuse: true
    changed_anything: false
ansible_facts:
  description: The facts that carry the run's events to the next task.
  returned: in a run
  type: dict
  contains:
    wedsync_report_events:
      description: Every event of the host's run so far, this one last.
      type: list
      elements: dict
run:
  description: The run O(begin) started.
  returned: with O(begin)
  type: dict
  contains:
    run_id:
      description: UTC start time and six hex digits.
      type: str
      sample: 20261207T030405Z-a1b2c3
    runbook:
      description: The runbook role, as given.
      type: str
    action:
      description: The entry point, as given.
      type: str
    started:
      description: When, in UTC with milliseconds.
      type: str
    started_by:
      description: C(user), C(controller), C(pid) (of C(ansible-playbook)), C(awx_job_id), C(awx_job_template_name),
        C(awx_schedule_name), C(awx_user_name); null where unknown.
      type: dict
    collection_version:
      description: The version of this collection.
      type: str
    check_mode:
      description: Whether the run is a dry run.
      type: bool
    environment:
      description: The environment, as given.
      type: str
    region:
      description: The region, as given.
      type: str
    target:
      description: The inventory host.
      type: str
report:
  description:
    - The whole run report, as C(report.json) holds it; the schema is C(meta/run_report.schema.json).
  returned: with O(end)
  type: dict
  sample:
    schema_version: "1.1"
    run_id: 20261207T030405Z-a1b2c3
    runbook: deploy_blue_green
    action: deploy
    outcome: SUCCEEDED
    summary: Release 1.2.3 is live on green; blue keeps 1.2.2 for a rollback.
    duration_seconds: 455.2
ansible_stats:
  description:
    - The report in brief, as C(ansible.builtin.set_stats) would set it, so that AWX keeps it in the job's
      artifacts; C(wedsync_run_report) is the last run's, C(wedsync_run_reports) has every run by C(run_id).
  returned: with O(end)
  type: dict
  contains:
    data:
      description: C(wedsync_run_report) and C(wedsync_run_reports).
      type: dict
    per_host:
      description: Always false.
      type: bool
    aggregate:
      description: Always true.
      type: bool
msg:
  description: Why a gate stopped the run.
  returned: when a gate refused
  type: str
  sample: "Refusing to deploy, nothing changed: blue: 2 of 6 targets healthy"
"""
