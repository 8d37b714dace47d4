"""The run report as a page: report.md, what the person on call reads first."""

from __future__ import annotations

from ansible_collections.wedsync.platform.plugins.module_utils.run_report_builder import build_report
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_markdown import render_markdown
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_text import REDACTED
from run_report_examples import BEGIN, CONTEXT, deploy_events, play


class TestMarkdown:
    def test_a_deploy_page(self):
        page = render_markdown(build_report(deploy_events()))
        lines = page.splitlines()
        assert lines[0] == "# **SUCCEEDED** · blue_green deploy"
        assert lines[2] == (
            "Release 1.2.3 serves all traffic from green; blue (release 1.2.2) kept running for playbooks/rollback.yml."
        )
        assert "- **Who**: sre on ops-bastion-1 (pid 4242)" in lines
        assert "- **When**: 2026-12-07 03:00:00 → 03:19:46 UTC" in lines
        assert "- **Where**: production · us-east-1 (host production-us-east-1)" in lines
        assert "- **How long**: 19m 46s" in lines
        assert "- **Run**: `20261207T030000Z-4f9c2e` · collection 0.1.0 · play 'Blue/green deploy'" in lines
        assert "![timeline](timeline.svg)" in lines
        assert "| stage green (release 1.2.3, 6 instances) | +00:06 | 4m 23s | ✓ succeeded |" in lines
        assert "| shift 10% to green | +04:36 | 5m 03s | ✓ succeeded |" in lines
        assert "| ✓ | clean state | deploy from blue |  | +00:04 |" in lines
        assert "| ✓ | journal | held by this run |  | +00:05 |" in lines
        assert "overridden" not in page
        assert "| alarms watched at 50% (OK throughout) | 5m | ≥ 5m | ✓ |" in lines
        assert "| time to full shift (10%, 50%, 100% to green, each watched 300 s) | 15m 10s |  | — |" in lines
        group = (
            '{"launch_template_version": "13", "desired_capacity": 0}'
            ' → {"launch_template_version": "14", "desired_capacity": 6}'
        )
        assert f"| modified | AWS::AutoScaling::AutoScalingGroup | wedsync-production-app-green | {group} |" in lines
        assert "| blue_green_steps | [10, 50, 100] |" in lines
        assert "- Kept in `s3://wedsync-production-runbooks-us-east-1/journal/production/blue_green.json`." in lines
        assert "## Failure" not in page
        assert "## Follow-ups" not in page

    def test_secret_inputs_and_overridden_gates(self):
        begin = {
            "begin": {
                **BEGIN["begin"],
                "action": "rollback",
                "inputs": {"blue_green_rollback_force": True, "notify_token": "xoxb-1"},
                "secret_inputs": ["notify_token"],
            }
        }
        forced = "blue now runs release 1.2.4, not 1.2.2, which passed its checks there"
        gate = {"gate": "target color verified", "passed": True, "reason": "recorded", "override": forced}
        page = render_markdown(play((0, begin), (2, gate), (3, {"end": True}))[-1]["report"])
        lines = page.splitlines()
        assert f"| ✓ | target color verified | recorded | overridden: {forced} | +00:02 |" in lines
        assert f"| notify_token | {REDACTED} |" in lines
        assert "xoxb-1" not in page

    def test_a_failed_run_puts_the_failure_and_follow_ups_first(self):
        failure = {"task": "Shift | 50%", "message": "ELB said:\nThrottling"}
        results = play(
            (0, BEGIN), (1, {"phase": "a|b"}), (2, {"follow_up": "roll back"}), (3, {"end": True, "failure": failure})
        )
        page = render_markdown(results[-1]["report"])
        assert page.startswith("# **FAILED** · blue_green deploy\n")
        assert (
            page.index("## Failure") < page.index("## Follow-ups") < page.index("![timeline]") < page.index("## Phases")
        )
        assert "**Task**: Shift | 50%" in page
        assert "```text\nELB said:\nThrottling\n```" in page
        assert "| a\\|b | +00:01 | 2s | ✗ failed |" in page
        assert "## Resources changed\n\nNone." in page

    def test_awx_and_journal_notes(self):
        context = {**CONTEXT, "awx_job_id": 812, "awx_job_template_name": "Deploy", "awx_user_name": "jo"}
        journal = {"resumed": {"run_id": "20261207T010000Z-abcdef", "completed_steps": ["stage"]}}
        results = play((0, BEGIN), (1, journal), (2, {"end": True}), context=context)
        page = render_markdown(results[-1]["report"])
        assert "AWX job 812 (template 'Deploy', launched by jo)" in page
        assert "- Resumed run `20261207T010000Z-abcdef`; steps it had completed: stage." in page
