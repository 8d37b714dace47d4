"""The run report as a page: report.md, what the person on call reads first."""

from __future__ import annotations

from ansible_collections.wedsync.platform.plugins.module_utils.run_report import REDACTED, build_report
from ansible_collections.wedsync.platform.plugins.module_utils.run_report_markdown import render_markdown
from run_report_examples import BEGIN, CONTEXT, deploy_events, play


class TestMarkdown:
    def test_a_deploy_page(self):
        page = render_markdown(build_report(deploy_events()))
        lines = page.splitlines()
        assert lines[0] == "# **SUCCEEDED** · deploy_blue_green deploy"
        assert lines[2] == "Release 1.2.3 is live on green; blue keeps 1.2.2 for a rollback."
        assert "- **Who**: sre on ops-bastion-1 (pid 4242)" in lines
        assert "- **When**: 2026-12-07 03:00:00 → 03:07:35 UTC" in lines
        assert "- **Where**: production · us-east-1 (host production-us-east-1)" in lines
        assert "- **How long**: 7m 35s" in lines
        assert "![timeline](timeline.svg)" in lines
        assert "| shift 10% | +04:19 | 1m 02s | ✓ succeeded |" in lines
        override = "overridden: forced with -e deploy_force=true during the nightly vacuum"
        assert f"| ✓ | replica lag under 5 s | replica 2 at 7.8 s | {override} | +00:06 |" in lines
        assert "| time to full shift (10% to 100%) | 2m 11s | ≤ 5m | ✓ |" in lines
        assert "| smoke p99 latency | 84 ms | ≤ 500 ms | ✓ |" in lines
        assert (
            '| modified | Auto Scaling group | wedsync-production-app-green | {"desired": 0} → {"desired": 6} |'
            in lines
        )
        assert f"| slack_token | {REDACTED} |" in lines
        assert "## Failure" not in page

    def test_a_failed_run_puts_the_failure_and_follow_ups_first(self):
        failure = {"task": "Shift | 50%", "message": "ELB said:\nThrottling"}
        results = play(
            (0, BEGIN), (1, {"phase": "a|b"}), (2, {"follow_up": "roll back"}), (3, {"end": True, "failure": failure})
        )
        page = render_markdown(results[-1]["report"])
        assert page.startswith("# **FAILED** · deploy_blue_green deploy\n")
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
