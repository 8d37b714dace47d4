"""Every AWX job template of awx/, run as the controller runs a job: by ansible-runner, with the survey's
default answers as extra vars, the template's inventory and its credentials' environment, on the twin.

The configuration is applied as a user applies it (playbooks/awx_configure.yml), with every awx.awx
module answered by a recorder instead of a controller and the local inventory standing for production's;
each recorded job template is then launched as AWX launches it. The templates run in the order awx/
lists them, which is a deploy's life: deploy, rollback, checks, retiring the color rolled back from.
The test reads what AWX would keep: the runner's status and job events, the artifacts the run left
through set_stats, and the run report the runbook wrote.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import ansible_runner
import boto3
import pytest
import yaml
from awx_controller import applied_configuration, launch_extra_vars
from harness import PREFIX, REPO, publish_release, read_reports

from twin.client import TwinClient

RELEASE = "1.4.0"
# What serves before the templates run, when the estate is new.
# The answers a person gives at launch: the questions with no default.
ANSWERS = {"blue_green_version": RELEASE}
AWX_JOB_ID = 4711
TEMPLATES = yaml.safe_load((REPO / "awx" / "job_templates.yml").read_text())["awx_job_templates"]
ORGANIZATION = yaml.safe_load((REPO / "awx" / "organization.yml").read_text())
# What AWX's built-in credential types put in a job's environment, from each credential's inputs.
INJECTORS = {
    "Amazon Web Services": {"username": "AWS_ACCESS_KEY_ID", "password": "AWS_SECRET_ACCESS_KEY"},
}


@pytest.fixture(scope="module")
def job_templates(estate: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The job templates as the controller would hold them after awx_configure, keyed by name."""
    records = applied_configuration(
        tmp_path_factory.mktemp("awx"),
        "-i",
        str(REPO / "inventories" / "local"),
        "-e",
        json.dumps({"awx_configure_inventory_hosts": {"wedsync production": "local-us-east-1"}}),
    )
    return {call["args"]["name"]: call["args"] for call in records if call["module"] == "awx.awx.job_template"}


@pytest.fixture(scope="module", autouse=True)
def release(serving: str) -> None:
    """RELEASE ready to deploy, over a release that already serves, so that the rollback has one to go back to."""
    publish_release(RELEASE)


def credential_environment(names: list[str]) -> dict[str, str]:
    """The environment the template's credentials inject, their inputs being the twin's keys."""
    inputs = {"username": os.environ["AWS_ACCESS_KEY_ID"], "password": os.environ["AWS_SECRET_ACCESS_KEY"]}
    credentials = {credential["name"]: credential for credential in ORGANIZATION["awx_credentials"]}
    env = {}
    for name in names:
        injector = INJECTORS.get(credentials[name]["credential_type"], {})
        env.update({variable: inputs[field] for field, variable in injector.items()})
    return env


def run_job(template: dict[str, Any], job_id: int, private: Path) -> ansible_runner.Runner:
    private.mkdir()
    extra_vars = {
        **launch_extra_vars(template["survey_spec"], ANSWERS),
        # What AWX adds to every job's extra vars.
        "awx_job_id": job_id,
        "awx_job_template_name": template["name"],
        "awx_user_name": "ops",
        "awx_job_launch_type": "manual",
    }
    env = {
        **credential_environment(template["credentials"]),
        # The twin stands for AWS: its endpoint is the one thing a production job's environment lacks.
        "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
        "WEDSYNC_REPORT_DIR": str(private / "reports"),
    }
    return ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(REPO),
        playbook=template["playbook"],
        inventory=str(REPO / "inventories" / "local"),
        extravars=extra_vars,
        envvars=env,
        ident="job",
        quiet=True,
        timeout=900,
    )


def artifacts(runner: ansible_runner.Runner) -> dict[str, Any]:
    """What AWX keeps as the job's artifacts: the set_stats data of the stats event."""
    stats = next(event for event in runner.events if event["event"] == "playbook_on_stats")
    return stats["event_data"].get("artifact_data") or {}


def only_the_twins_response_time_failed(report: dict[str, Any]) -> bool:
    """The end-to-end check times the twin's data plane against production's target: reported, not judged here."""
    failing = {f["check"] for f in report["findings"] if f["severity"] in ("P0", "P1")}
    return report["outcome"] == "FAILED" and failing == {"response time"}


def test_every_template_runs_under_ansible_runner_with_its_survey_defaults(
    job_templates: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    assert set(job_templates) == {template["name"] for template in TEMPLATES}
    for offset, template in enumerate(TEMPLATES):
        configured = job_templates[template["name"]]
        private = tmp_path / f"job-{offset}"
        runner = run_job(configured, AWX_JOB_ID + offset, private)
        stdout = runner.stdout.read()[-3000:]
        [report] = read_reports(private / "reports")
        outcome = "FAILED" if only_the_twins_response_time_failed(report) else "SUCCEEDED"
        if outcome == "SUCCEEDED":
            assert (runner.status, runner.rc) == ("successful", 0), f"{template['name']}:\n{stdout}"
        assert report["outcome"] == outcome, f"{template['name']}: {report['summary']}"
        assert (report["runbook"], report["action"]) == (template["runbook"], template["entry_point"])
        started_by = report["started_by"]
        assert (started_by["awx_job_id"], started_by["awx_job_template_name"]) == (
            AWX_JOB_ID + offset,
            template["name"],
        )
        kept = artifacts(runner)["wedsync_run_report"]
        assert (kept["run_id"], kept["outcome"]) == (report["run_id"], outcome)


def test_the_retired_color_is_at_zero_and_the_other_serves(twin: TwinClient) -> None:
    """The last template retired the color the rollback left idle: what the run reported is what AWS shows."""
    autoscaling = boto3.client("autoscaling", region_name="us-east-1")
    groups = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[f"{PREFIX}-app-blue", f"{PREFIX}-app-green"]
    )["AutoScalingGroups"]
    sizes = sorted(group["DesiredCapacity"] for group in groups)
    assert sizes[0] == 0 < sizes[1]
    status, body = twin.alb_request(f"{PREFIX}-alb", 443)
    assert status == 200
    assert body["version"] != RELEASE, "the rollback put users back on the release before"
