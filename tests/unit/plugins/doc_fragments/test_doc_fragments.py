# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The modules' documentation as ansible-doc shows it, with the doc fragments merged in.

Of two fragments that set the same attribute key the first listed wins, and
ansible.builtin.action_common_attributes.ACTIONGROUPS sets action_group membership to []: a module
that lists wedsync.platform.aws after it is documented outside its action group, and no sanity
test compares that with meta/runtime.yml.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[4]
MODULES = sorted(path.stem for path in (ROOT / "plugins" / "modules").glob("*.py"))
AWS_GROUP = {
    name
    for name in yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["action_groups"]["aws"]
    if isinstance(name, str)
}


@pytest.fixture(scope="module")
def docs() -> dict[str, dict[str, Any]]:
    """Every module's merged documentation, from one ansible-doc run (it loads the collection itself)."""
    result = subprocess.run(
        [Path(sys.executable).parent / "ansible-doc", "--json", *(f"wedsync.platform.{name}" for name in MODULES)],
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
        capture_output=True,
        text=True,
        check=True,
    )
    return {name.rsplit(".", 1)[1]: entry["doc"] for name, entry in json.loads(result.stdout).items()}


@pytest.mark.parametrize("module", MODULES)
def test_documented_action_group_is_the_one_in_runtime_yml(docs: dict[str, dict[str, Any]], module: str) -> None:
    action_group = docs[module].get("attributes", {}).get("action_group")
    if module in AWS_GROUP:
        assert action_group["membership"] == ["wedsync.platform.aws"]
    else:
        assert action_group is None


@pytest.mark.parametrize("module", sorted(AWS_GROUP))
def test_aws_modules_document_the_fragments_attributes(docs: dict[str, dict[str, Any]], module: str) -> None:
    attributes = docs[module]["attributes"]
    assert attributes["check_mode"]["support"] == "full"
    assert attributes["platform"]["platforms"] == "posix"
    assert attributes["diff_mode"]["support"] in {"full", "none"}
    assert docs[module]["author"] == ["WedSync SRE (@wedsync)"]


def calls_aws(module: str) -> bool:
    """A module on the AWS base class, or an action plugin that takes the AWS connection options."""
    source = (ROOT / "plugins" / "modules" / f"{module}.py").read_text()
    action = ROOT / "plugins" / "action" / f"{module}.py"
    return "WedSyncAWSModule(" in source or (action.exists() and "AWS_OPTIONS" in action.read_text())


@pytest.mark.parametrize("module", MODULES)
def test_every_module_that_calls_aws_is_in_the_aws_action_group(module: str) -> None:
    # Out of the group, a module ignores the region and endpoint a play's module_defaults set for
    # group/wedsync.platform.aws: on the twin it would reach real AWS.
    assert calls_aws(module) == (module in AWS_GROUP), (
        f"{module} {'calls AWS' if calls_aws(module) else 'does not call AWS'}: "
        f"{'add it to' if calls_aws(module) else 'remove it from'} action_groups.aws in meta/runtime.yml"
    )
