"""The app servers' user data (roles/app_tier/templates/user-data.yml.j2), rendered by Ansible as the launch
template task renders it, and its scripts run for real with fake `aws`, `cloud-init`, `systemctl`, `dpkg` and
`apt-get` on PATH, inside a scratch directory that stands for / (WEDSYNC_ROOT). Offline and quick.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from unit.playbook_runs import ROOT, failures, run_playbook, task_results

ENVIRONMENT = "production"
REGION = "us-east-1"
DEPLOYMENTS = f"wedsync-{ENVIRONMENT}-deployments-{REGION}"

# Renders the template through the lookup the launch template task uses, with the role's defaults and vars,
# after the OS baseline it merges, as the launch template tasks render it.
PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  vars_files:
    - {root}/roles/app_tier/defaults/main.yml
    - {root}/roles/app_tier/vars/main.yml
  vars:
    wedsync_name_prefix: wedsync-{environment}
    wedsync_region: {region}
    wedsync_environment: {environment}
    wedsync_tags: {{}}
  tasks:
    - name: Render the OS baseline as cloud-config
      ansible.builtin.include_role:
        name: wedsync.platform.host_baseline
        tasks_from: cloud_config

    - name: Render the user data
      ansible.builtin.debug:
        msg: "{{{{ lookup('ansible.builtin.template', '{root}/roles/app_tier/templates/user-data.yml.j2') }}}}"
"""

# One program for every fake command: it logs its name, arguments and a few variables as a JSON line to
# $FAKE_LOG, then behaves as the test set it up to through files in $FAKE_DIR.
FAKE = """\
import json, os, shutil, sys
from pathlib import Path

name, args = sys.argv[1], sys.argv[2:]
fake = Path(os.environ["FAKE_DIR"])
with open(os.environ["FAKE_LOG"], "a") as log:
    seen = {key: os.environ.get(key) for key in ("DEBIAN_FRONTEND", "AWS_REGION")}
    log.write(json.dumps({"cmd": name, "args": args, "env": seen}) + "\\n")


def answer(path: Path) -> None:
    if not path.exists():
        sys.exit(f"{name}: {path.name}: not found")
    sys.stdout.write(path.read_text())


if name == "aws":
    rest = args[2:] if args[:1] == ["--endpoint-url"] else args
    if rest[:2] == ["secretsmanager", "get-secret-value"]:
        answer(fake / "secrets" / rest[rest.index("--secret-id") + 1].rsplit("/", 1)[1])
    elif rest[:2] == ["ssm", "get-parameters-by-path"]:
        answer(fake / "parameters.json")
    elif rest[:2] == ["s3", "cp"]:
        source = fake / "s3" / rest[-2].removeprefix("s3://")
        if not source.exists():
            sys.exit(f"fatal error: An error occurred (404) when calling the HeadObject operation: {rest[-2]}")
        shutil.copy(source, rest[-1])
elif name == "cloud-init":
    answer(fake / "tags.json")
elif name == "dpkg-query":
    installed = (fake / "installed").read_text().split()
    print("installed" if args[-1] in installed else "not-installed", end="")
elif name == "dpkg" and (fake / "agent-ctl").exists():
    ctl = Path(os.environ["WEDSYNC_ROOT"]) / "opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"
    ctl.parent.mkdir(parents=True)
    shutil.copy(fake / "agent-ctl", ctl)
"""

FAKE_COMMANDS = ("aws", "cloud-init", "systemctl", "logger", "chown", "dpkg-query", "dpkg", "apt-get")


@pytest.fixture(scope="module")
def user_data(tmp_path_factory: pytest.TempPathFactory) -> str:
    playbook = tmp_path_factory.mktemp("render") / "render.yml"
    playbook.write_text(PLAYBOOK.format(root=ROOT, environment=ENVIRONMENT, region=REGION))
    run = run_playbook(playbook, "-i", "localhost,", "-c", "local")
    assert failures(run, "localhost") == []
    return dict(task_results(run, "localhost"))["Render the user data"]["msg"]


@pytest.fixture(scope="module")
def cloud_config(user_data: str) -> dict[str, Any]:
    return yaml.safe_load(user_data)


def written(cloud_config: dict[str, Any], path: str) -> str:
    return next(entry["content"] for entry in cloud_config["write_files"] if entry["path"] == path)


def scripts(cloud_config: dict[str, Any]) -> dict[str, str]:
    return {
        entry["path"]: entry["content"]
        for entry in cloud_config["write_files"]
        if entry["content"].startswith("#!/bin/bash")
    }


def test_the_user_data_is_cloud_config(user_data: str, cloud_config: dict[str, Any]) -> None:
    assert user_data.startswith("#cloud-config\n")
    assert isinstance(cloud_config, dict)
    assert {"users", "write_files", "runcmd"} <= cloud_config.keys()
    assert cloud_config["runcmd"] == [
        ["/usr/local/sbin/wedsync-install-packages"],
        # The OS baseline, once its packages are in, before the app starts.
        ["sysctl", "-p", "/etc/sysctl.d/99-wedsync.conf"],
        ["install", "-d", "-m", "0750", "-o", "wedsync", "-g", "wedsync", "/opt/wedsync"],
        ["systemctl", "daemon-reexec"],
        ["systemctl", "restart", "systemd-journald"],
        ["systemctl", "enable", "chrony", "apt-daily.timer", "apt-daily-upgrade.timer"],
        ["systemctl", "restart", "chrony"],
        ["systemctl", "start", "apt-daily.timer", "apt-daily-upgrade.timer"],
        ["systemd-tmpfiles", "--create", "/etc/tmpfiles.d/wedsync.conf"],
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "--now", "wedsync-config.service"],
        ["/usr/local/sbin/wedsync-install-agent"],
        ["/usr/local/sbin/wedsync-install-release"],
    ]
    app_env = written(cloud_config, "/etc/wedsync/app.env")
    assert f"S3_BUCKET=wedsync-{ENVIRONMENT}-uploads-{REGION}\n" in app_env
    assert "PORT=3000\n" in app_env


def test_the_servers_boot_with_the_os_baseline(cloud_config: dict[str, Any]) -> None:
    """host_baseline's own files, user and time zone: the role run on a booted server changes nothing."""
    assert cloud_config["timezone"] == "UTC"
    # Its own group, which useradd --system makes a system group.
    assert "groups" not in cloud_config
    assert cloud_config["users"][1] == {
        "name": "wedsync",
        "gecos": "WedSync application",
        "system": True,
        "homedir": "/opt/wedsync",
        "no_create_home": True,
        "shell": "/usr/sbin/nologin",
    }
    assert "net.core.somaxconn=8192\n" in written(cloud_config, "/etc/sysctl.d/99-wedsync.conf")
    assert "wedsync hard nofile 65536\n" in written(cloud_config, "/etc/security/limits.d/60-wedsync.conf")
    assert "DefaultLimitNOFILE=65536\n" in written(cloud_config, "/etc/systemd/system.conf.d/60-wedsync.conf")
    assert "server 169.254.169.123 prefer iburst" in written(cloud_config, "/etc/chrony/chrony.conf")
    assert 'APT::Periodic::Unattended-Upgrade "1";' in written(cloud_config, "/etc/apt/apt.conf.d/20auto-upgrades")
    assert "SystemMaxUse=2G" in written(cloud_config, "/etc/systemd/journald.conf.d/60-wedsync.conf")
    assert "chrony unattended-upgrades" in written(cloud_config, "/usr/local/sbin/wedsync-install-packages")


def test_every_script_is_sound_bash(tmp_path: Path, cloud_config: dict[str, Any]) -> None:
    found = scripts(cloud_config)
    assert len(found) == 5, sorted(found)
    for path, content in found.items():
        script = tmp_path / Path(path).name
        script.write_text(content)
        checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
        assert checked.returncode == 0, f"{path}: {checked.stderr}"
        if shutil.which("shellcheck"):
            linted = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True, check=False)
            assert linted.returncode == 0, f"{path}:\n{linted.stdout}"


def test_the_launch_template_puts_instance_tags_in_the_metadata() -> None:
    tasks = yaml.safe_load((ROOT / "roles/app_tier/tasks/launch_template.yml").read_text())
    template = next(
        task["amazon.aws.ec2_launch_template"] for task in tasks if "amazon.aws.ec2_launch_template" in task
    )
    assert template["metadata_options"]["instance_metadata_tags"] == "enabled"


@dataclass
class Host:
    """A scratch root for one script, with the fakes on PATH and what they answer."""

    root: Path
    fake: Path
    bin: Path
    log: Path

    def run(self, cloud_config: dict[str, Any], script: str, **env: str) -> subprocess.CompletedProcess[str]:
        path = self.root / "usr/local/sbin" / script
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(written(cloud_config, f"/usr/local/sbin/{script}"))
        path.chmod(0o755)
        environment = {
            "PATH": f"{self.bin}:/usr/bin:/bin",
            "WEDSYNC_ROOT": str(self.root),
            "FAKE_DIR": str(self.fake),
            "FAKE_LOG": str(self.log),
            **env,
        }
        return subprocess.run([str(path)], env=environment, capture_output=True, text=True, timeout=60, check=False)

    def entries(self, cmd: str) -> list[dict[str, Any]]:
        """What each call of the fake ``cmd`` logged, in order."""
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        return [entry for entry in map(json.loads, lines) if entry["cmd"] == cmd]

    def calls(self, cmd: str) -> list[list[str]]:
        return [entry["args"] for entry in self.entries(cmd)]


@pytest.fixture
def host(tmp_path: Path) -> Host:
    bin_dir, fake, root = tmp_path / "bin", tmp_path / "fake", tmp_path / "root"
    for directory in (bin_dir, fake, root):
        directory.mkdir()
    program = bin_dir / "fake.py"
    program.write_text(FAKE)
    for name in FAKE_COMMANDS:
        (bin_dir / name).write_text(f'#!/bin/sh\nexec {sys.executable} {program} {name} "$@"\n')
        (bin_dir / name).chmod(0o755)
    return Host(tmp_path / "root", fake, bin_dir, tmp_path / "calls.jsonl")


# -- wedsync-load-config: the names of the environment -----------------------------------------------------

TRICKY = 'quote " dollar $HOME backtick ` backslashes \\" \\$ \\\\ \\ and\na second line, ending in \\'


def env_file(text: str) -> dict[str, str]:
    """Reads an environment file as systemd reads double-quoted values: as they are, once \\\\ and \\" are unescaped."""
    values: dict[str, str] = {}
    position = 0
    while position < len(text):
        name, _, rest = text[position:].partition('="')
        assert name.isidentifier() and name.upper() == name, f"not a variable name: {name!r}"
        value, index = [], 0
        while rest[index] != '"':
            if rest[index] == "\\":
                assert rest[index + 1] in '\\"', f"{name}: unexpected escape {rest[index : index + 2]!r}"
                index += 1
            value.append(rest[index])
            index += 1
        assert rest[index + 1] == "\n", f"{name}: text after the closing quote"
        values[name] = "".join(value)
        position += len(name) + 2 + index + 2
    return values


def load_config(host: Host, cloud_config: dict[str, Any], **env: str) -> subprocess.CompletedProcess[str]:
    secrets = host.fake / "secrets"
    secrets.mkdir()
    layout = {
        # RDS-style: lower-case keys, including the connection keys rotation adds
        "database": {"username": "wedsync", "password": "db-pass", "port": 5432, "host": "db.internal"},
        "api-keys": {"STRIPE_SECRET_KEY": "sk_test_1", "PORT": "9999", "OPENAI_API_KEY": TRICKY},
        "webhooks": {"STRIPE_WEBHOOK_SECRET": "whsec_1"},
        "security": {"JWT_SECRET": "jwt-1", "ENCRYPTION_KEY": "ab" * 32},
        "redis": {"auth_token": "redis-token"},
    }
    for name, value in layout.items():
        (secrets / name).write_text(json.dumps(value) + "\n")
    parameters = [
        {"Name": f"/wedsync/{ENVIRONMENT}/app/db_writer_endpoint", "Value": "db.internal:5432"},
        {"Name": f"/wedsync/{ENVIRONMENT}/app/pool/DB_POOL_MAX", "Value": "50"},
        {"Name": f"/wedsync/{ENVIRONMENT}/app/worker_processes", "Value": "64"},
        {"Name": f"/wedsync/{ENVIRONMENT}/app/jwt_secret", "Value": "from-ssm"},
    ]
    (host.fake / "parameters.json").write_text(json.dumps({"Parameters": parameters}))
    return host.run(cloud_config, "wedsync-load-config", **env)


def test_load_config_names_lower_case_keys_after_their_secret(host: Host, cloud_config: dict[str, Any]) -> None:
    result = load_config(host, cloud_config)
    assert result.returncode == 0, result.stderr
    run_dir = host.root / "run/wedsync"
    assert env_file((run_dir / "secrets.env").read_text()) == {
        "DATABASE_USERNAME": "wedsync",
        "DATABASE_PASSWORD": "db-pass",
        "DATABASE_PORT": "5432",
        "DATABASE_HOST": "db.internal",
        "STRIPE_SECRET_KEY": "sk_test_1",
        "OPENAI_API_KEY": TRICKY,
        "STRIPE_WEBHOOK_SECRET": "whsec_1",
        "JWT_SECRET": "jwt-1",
        "ENCRYPTION_KEY": "ab" * 32,
        "REDIS_AUTH_TOKEN": "redis-token",
    }
    assert env_file((run_dir / "settings.env").read_text()) == {
        "DB_WRITER_ENDPOINT": "db.internal:5432",
        "DB_POOL_MAX": "50",
    }
    # Root's alone, and nothing left behind but the two files.
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert sorted(path.name for path in run_dir.iterdir()) == ["secrets.env", "settings.env"]
    assert {stat.S_IMODE(path.stat().st_mode) for path in run_dir.iterdir()} == {0o600}
    # Asked all at once, so in any order; each once.
    asked = [call[call.index("--secret-id") + 1] for call in host.calls("aws") if call[0] == "secretsmanager"]
    assert sorted(asked) == sorted(
        f"wedsync/{ENVIRONMENT}/{name}" for name in ("database", "api-keys", "webhooks", "security", "redis")
    )
    assert {entry["env"]["AWS_REGION"] for entry in host.entries("aws")} == {REGION}


def test_load_config_never_overrides_a_name_already_set(host: Host, cloud_config: dict[str, Any]) -> None:
    result = load_config(host, cloud_config)
    assert result.returncode == 0, result.stderr
    warnings = [call[-1] for call in host.calls("logger") if "user.warning" in call]
    assert warnings == [
        "WARNING: key PORT of secret api-keys skipped: PORT is already set by /etc/wedsync/app.env",
        f"WARNING: SSM parameter /wedsync/{ENVIRONMENT}/app/worker_processes skipped: "
        "WORKER_PROCESSES is already set by /etc/wedsync/app.env",
        f"WARNING: SSM parameter /wedsync/{ENVIRONMENT}/app/jwt_secret skipped: "
        "JWT_SECRET is already set by key JWT_SECRET of secret security",
    ]
    assert "9999" not in result.stderr + "".join(map(str, host.calls("logger")))
    assert "WARNING: key PORT of secret api-keys skipped" in result.stderr


def test_load_config_reaches_the_endpoint_it_is_given(host: Host, cloud_config: dict[str, Any]) -> None:
    result = load_config(host, cloud_config, AWS_ENDPOINT_URL="https://127.0.0.1:4566")
    assert result.returncode == 0, result.stderr
    calls = host.calls("aws")
    assert len(calls) == 6
    assert all(call[:2] == ["--endpoint-url", "https://127.0.0.1:4566"] for call in calls)


def test_load_config_fails_on_a_secret_that_is_not_an_object(host: Host, cloud_config: dict[str, Any]) -> None:
    (host.fake / "secrets").mkdir()
    (host.fake / "secrets" / "database").write_text('"just a string"\n')
    result = host.run(cloud_config, "wedsync-load-config")
    assert result.returncode != 0
    assert "secret database is not a JSON object" in result.stderr
    assert not (host.root / "run/wedsync/secrets.env").exists()


# -- wedsync-install-release: the release of the instance's wedsync:version tag ------------------------------


def release(host: Host, tags: dict[str, str], version: str = "1.2.3") -> None:
    (host.fake / "tags.json").write_text(json.dumps(tags, indent=1))
    bundle = host.fake / "s3" / DEPLOYMENTS / f"app-v{version}.zip"
    bundle.parent.mkdir(parents=True)
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("package.json", json.dumps({"name": "wedsync", "version": version}))


def test_install_release_fetches_the_tagged_release(host: Host, cloud_config: dict[str, Any]) -> None:
    release(host, {"Name": "wedsync-production-app", "wedsync:version": "1.2.3"})
    result = host.run(cloud_config, "wedsync-install-release")
    assert result.returncode == 0, result.stderr
    assert host.calls("cloud-init") == [["query", "ds.meta_data.tags.instance"]]
    [copy] = host.calls("aws")
    assert copy[:2] == ["s3", "cp"]
    assert copy[-2] == f"s3://{DEPLOYMENTS}/app-v1.2.3.zip"
    home = host.root / "opt/wedsync"
    assert (home / "current").resolve() == home / "releases/1.2.3"
    assert json.loads((home / "current/package.json").read_text())["version"] == "1.2.3"
    assert host.calls("chown")[0][:2] == ["-R", "wedsync:wedsync"]
    assert host.calls("systemctl") == [["enable", "--now", "wedsync-app.service"]]
    assert [path.name for path in (home / "releases").iterdir()] == ["1.2.3"]


@pytest.mark.parametrize("version", ["1.2.3;reboot", "../1.2.3", "-1.2.3", "1" * 65, "1.2 3"])
def test_install_release_refuses_a_bad_version_string(host: Host, cloud_config: dict[str, Any], version: str) -> None:
    release(host, {"wedsync:version": version})
    result = host.run(cloud_config, "wedsync-install-release")
    assert result.returncode == 1
    assert "is not a release version string" in result.stdout
    assert host.calls("aws") == []
    assert host.calls("systemctl") == []


@pytest.mark.parametrize("tags", [{"Name": "wedsync-production-app"}, None], ids=["no version tag", "no tags"])
def test_install_release_without_a_tag_starts_nothing(
    host: Host, cloud_config: dict[str, Any], tags: dict[str, str] | None
) -> None:
    if tags is not None:
        (host.fake / "tags.json").write_text(json.dumps(tags))
    result = host.run(cloud_config, "wedsync-install-release")
    assert result.returncode == 0, result.stderr
    assert "no release to run" in result.stdout
    assert host.calls("aws") == []
    assert host.calls("systemctl") == []


def test_install_release_reports_a_missing_bundle(host: Host, cloud_config: dict[str, Any]) -> None:
    release(host, {"wedsync:version": "1.2.3"}, version="1.2.2")
    result = host.run(cloud_config, "wedsync-install-release")
    assert result.returncode != 0
    assert "app-v1.2.3.zip" in result.stderr
    assert host.calls("systemctl") == []
    assert list((host.root / "opt/wedsync/releases").iterdir()) == []


# -- wedsync-install-agent: the CloudWatch agent, or a warning -----------------------------------------------

AGENT_PACKAGE = f"s3://amazoncloudwatch-agent-{REGION}/debian/amd64/latest/amazon-cloudwatch-agent.deb"


def test_install_agent_warns_and_goes_on_without_the_agent(host: Host, cloud_config: dict[str, Any]) -> None:
    result = host.run(cloud_config, "wedsync-install-agent")
    assert result.returncode == 0, result.stderr
    [copy] = host.calls("aws")
    assert copy[:2] == ["s3", "cp"] and "--no-sign-request" in copy and copy[-2] == AGENT_PACKAGE
    assert host.calls("dpkg") == []
    [warning] = [call for call in host.calls("logger") if "user.warning" in call]
    assert warning[-1].startswith("WARNING: the CloudWatch agent could not be installed")
    assert "the app runs without it" in result.stderr


def test_install_agent_installs_and_configures_the_agent(host: Host, cloud_config: dict[str, Any]) -> None:
    deb = host.fake / "s3" / AGENT_PACKAGE.removeprefix("s3://")
    deb.parent.mkdir(parents=True)
    deb.write_text("a package")
    (host.fake / "agent-ctl").write_text(f'#!/bin/sh\necho "$@" > {host.fake / "ctl-args"}\n')
    (host.fake / "agent-ctl").chmod(0o755)
    result = host.run(cloud_config, "wedsync-install-agent")
    assert result.returncode == 0, result.stderr
    assert host.calls("dpkg")[0][0] == "-i"
    assert [call for call in host.calls("logger") if "user.warning" in call] == []
    config = host.root / "etc/wedsync/cloudwatch-agent.json"
    assert (host.fake / "ctl-args").read_text() == f"-a fetch-config -m ec2 -s -c file:{config}\n"


def test_the_agent_configuration_is_json(cloud_config: dict[str, Any]) -> None:
    config = json.loads(written(cloud_config, "/etc/wedsync/cloudwatch-agent.json"))
    [logs] = config["logs"]["logs_collected"]["files"]["collect_list"]
    assert logs["file_path"] == "/var/log/wedsync/*.log"


# -- wedsync-install-packages: apt, only for what is missing --------------------------------------------------


@pytest.mark.parametrize(
    ("installed", "missing"),
    [
        ("awscli jq unzip curl nodejs npm chrony unattended-upgrades", []),
        ("jq curl", ["awscli", "unzip", "nodejs", "npm", "chrony", "unattended-upgrades"]),
    ],
    ids=["golden image", "bare image"],
)
def test_install_packages_installs_only_what_is_missing(
    host: Host, cloud_config: dict[str, Any], installed: str, missing: list[str]
) -> None:
    (host.fake / "installed").write_text(installed)
    result = host.run(cloud_config, "wedsync-install-packages")
    assert result.returncode == 0, result.stderr
    apt = host.entries("apt-get")
    if not missing:
        assert apt == []
        return
    assert [entry["args"] for entry in apt] == [
        ["update", "-q"],
        # The baseline's configuration, written before its packages, is kept.
        ["install", "-y", "-q", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confold", *missing],
    ]
    assert {entry["env"]["DEBIAN_FRONTEND"] for entry in apt} == {"noninteractive"}


def test_the_app_log_directory_belongs_to_the_app(cloud_config: dict[str, Any]) -> None:
    tmpfiles = written(cloud_config, "/etc/tmpfiles.d/wedsync.conf")
    assert tmpfiles.split() == ["d", "/var/log/wedsync", "0750", "wedsync", "wedsync", "-"]
    runcmd = [command[0] if isinstance(command, list) else command for command in cloud_config["runcmd"]]
    assert runcmd.index("systemd-tmpfiles") < runcmd.index("/usr/local/sbin/wedsync-install-release")


def test_the_app_needs_nothing_under_the_root_only_run_directory(cloud_config: dict[str, Any]) -> None:
    unit = written(cloud_config, "/etc/systemd/system/wedsync-app.service")
    uses = [line for line in unit.splitlines() if "/run/wedsync" in line and not line.startswith("#")]
    assert uses and all(line.startswith("EnvironmentFile=") for line in uses)
    assert "/run/wedsync" not in written(cloud_config, "/usr/local/sbin/wedsync-app")
