"""What `ansible-galaxy collection build` makes is the collection alone; installed, it documents every
module from where it was installed; and it goes into an execution environment with its requirements."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
# The tools of the interpreter running the tests: the project's virtualenv.
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
COLLECTION = f"{GALAXY['namespace']}.{GALAXY['name']}"
ARTIFACT = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
MODULES = sorted(path.stem for path in (ROOT / "plugins" / "modules").glob("*.py") if path.stem != "__init__")

# The artifact's top level, exactly: anything else must stay out of it.
SHIPPED = {
    "COPYING",
    "FILES.json",
    "MANIFEST.json",
    "README.md",
    "bindep.txt",
    "changelogs",
    "awx",
    "docs",
    "meta",
    "playbooks",
    "plugins",
    "requirements.txt",
    "roles",
} | ({"CHANGELOG.rst"} if (ROOT / "CHANGELOG.rst").exists() else set())

RUNTIME_PYTHON = {"boto3", "botocore", "netaddr", "psycopg2-binary"}


def user_env(**extra: str) -> dict[str, str]:
    """A user's environment: none of the checkout's Ansible settings (ANSIBLE_CONFIG names its
    ansible.cfg, whose collections path links the checkout) and no PYTHONPATH."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_") and key != "PYTHONPATH"}
    env["ANSIBLE_NOCOLOR"] = "1"
    env.update(extra)
    return env


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Callers pass a cwd outside the checkout, so that its ansible.cfg is not read either."""
    return subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env or user_env(), capture_output=True, text=True, check=False
    )


def install(artifact: Path, collections: Path) -> Path:
    result = run(
        BIN / "ansible-galaxy",
        "collection",
        "install",
        "--no-deps",
        "-p",
        collections,
        artifact,
        cwd=collections.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return collections / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build")
    result = run(BIN / "ansible-galaxy", "collection", "build", ROOT, "--output-path", out, cwd=out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out / ARTIFACT


def test_artifact_is_the_collection_alone_and_documents_every_module(artifact: Path, tmp_path: Path) -> None:
    with tarfile.open(artifact) as tar:
        names = {name.rstrip("/") for name in tar.getnames()}
    assert {name.split("/")[0] for name in names} == SHIPPED
    assert {name for name in names if name.startswith("changelogs/")} == {"changelogs/changelog.yaml"}
    assert {
        "meta/runtime.yml",
        "meta/execution-environment.yml",
        "playbooks/vars/aws.yml",
        *(f"playbooks/{path.name}" for path in (ROOT / "playbooks").glob("*.yml")),
        *(f"roles/{path.name}" for path in (ROOT / "roles").iterdir() if path.is_dir()),
        *(f"plugins/modules/{module}.py" for module in MODULES),
    } <= names

    installed = install(artifact, tmp_path / "collections")
    # Ours from the install only; amazon.aws, whose doc fragments the modules use, from the default
    # paths and the ansible package.
    env = user_env(
        ANSIBLE_COLLECTIONS_PATH=f"{tmp_path / 'collections'}:~/.ansible/collections:/usr/share/ansible/collections"
    )

    # One ansible-doc process for every module: the same pages as one process each, in far less time.
    result = run(
        BIN / "ansible-doc", "-t", "module", *(f"{COLLECTION}.{module}" for module in MODULES), cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    documented = dict(re.findall(rf"^> MODULE {re.escape(COLLECTION)}\.(\w+) \((.+)\)$", result.stdout, re.MULTILINE))
    failures = []
    for module in MODULES:
        if module not in documented:
            failures.append(f"{module}: not documented")
        elif Path(documented[module]) != installed / "plugins" / "modules" / f"{module}.py":
            failures.append(f"{module}: documented from {documented[module]}, not from the installed artifact")
    assert not failures, "\n".join(failures) + "\n" + result.stderr


def test_execution_environment_context_carries_the_collection_and_its_requirements(
    artifact: Path, tmp_path: Path
) -> None:
    """`ansible-builder create` writes the build context without pulling an image or reaching Galaxy,
    so it runs offline; a copy of the definition gets the artifact where the definition expects it."""
    project = tmp_path / "project"
    project.mkdir()
    definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    for name in ("galaxy", "python", "system"):
        shutil.copy(ROOT / definition["dependencies"][name], project)
    shutil.copy(ROOT / "execution-environment.yml", project)
    (entry,) = definition["additional_build_files"]
    assert Path(entry["src"]).name == ARTIFACT, "execution-environment.yml names another version's artifact"
    (project / entry["src"]).parent.mkdir(parents=True)
    shutil.copy(artifact, project / entry["src"])

    result = run(BIN / "ansible-builder", "create", "-f", "execution-environment.yml", "-c", "context", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    build = project / "context" / "_build"

    python = {
        Requirement(line).name
        for line in (build / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert python >= RUNTIME_PYTHON

    galaxy = yaml.safe_load((build / "requirements.yml").read_text())["collections"]
    (ours,) = [collection for collection in galaxy if collection.get("type") == "file"]
    # The image build installs requirements.yml from _build, where the artifact was copied.
    assert (build / ours["name"]).read_bytes() == artifact.read_bytes()
    assert {collection["name"]: collection["version"] for collection in galaxy if collection is not ours} == (
        GALAXY["dependencies"]
    )
    assert "ansible-galaxy collection install" in (project / "context" / "Containerfile").read_text()

    # What the image build's introspection finds in the installed artifact: the collection's own
    # requirements, through meta/execution-environment.yml.
    install(build / ours["name"], tmp_path / "image-collections")
    pip = tmp_path / "pip.txt"
    result = run(
        sys.executable,
        build / "scripts" / "introspect.py",
        "introspect",
        tmp_path / "image-collections",
        "--write-pip",
        pip,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    from_us = {
        Requirement(line.split("#")[0]).name
        for line in pip.read_text().splitlines()
        if line.endswith(f"# from collection {COLLECTION}")
    }
    assert from_us == RUNTIME_PYTHON


def test_execution_environment_files_follow_the_collection() -> None:
    definition = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    assert definition["version"] == 3
    assert definition["dependencies"]["ansible_core"]["package_pip"] == f"ansible-core{runtime['requires_ansible']}"
    navigator = yaml.safe_load((ROOT / "ansible-navigator.yml").read_text())["ansible-navigator"]
    assert (
        navigator["execution-environment"]["image"] == f"{GALAXY['namespace']}-{GALAXY['name']}-ee:{GALAXY['version']}"
    )
    meta = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
