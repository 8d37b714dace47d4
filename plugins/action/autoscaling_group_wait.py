# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Wait for an Auto Scaling group's instances, saying how far along the wait is at every poll.

An action rather than a module: a module cannot print while it runs, and an ``until`` loop prints
only "FAILED - RETRYING". Each poll runs amazon.aws.autoscaling_group_info (and, with a target
group, community.aws.elb_target_group_info) with this task's AWS options, so the group's
module_defaults reach them as they reach any module of the ``aws`` action group.
"""

from __future__ import annotations

import time
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.wedsync.platform.plugins.module_utils.blue_green import blue_green_unhealthy

display = Display()

AWS_OPTIONS = (
    "region",
    "endpoint_url",
    "profile",
    "access_key",
    "secret_key",
    "session_token",
    "aws_ca_bundle",
    "validate_certs",
    "aws_config",
    "debug_botocore_endpoint_logs",
)
# Progress is printed when it changes, and at least this often while it does not.
QUIET_SECONDS = 30

ARGUMENT_SPEC = {
    "name": {"type": "str", "required": True},
    "count": {"type": "int", "required": True},
    "launch_template_version": {"type": "str"},
    "target_group": {"type": "str"},
    "timeout": {"type": "int", "default": 900},
    "poll_interval": {"type": "int", "default": 10},
    **{option: {"type": "raw"} for option in AWS_OPTIONS},
}


def instance_line(instance: dict[str, Any]) -> str:
    version = (instance.get("launch_template") or {}).get("version")
    return f"{instance.get('instance_id')} {instance.get('lifecycle_state')} (launch template version {version})"


def progress(args: dict[str, Any], instances: list[dict[str, Any]], healthy: int | None) -> tuple[bool, str]:
    """Whether the group has reached what ``args`` asks for, and a line saying how far it is."""
    count, version = args["count"], args["launch_template_version"]
    if count == 0:
        return not instances, f"{len(instances)} instances left"
    ready = [
        i
        for i in instances
        if i.get("lifecycle_state") == "InService"
        and (version is None or str((i.get("launch_template") or {}).get("version")) == version)
    ]
    on_version = f" on launch template version {version}" if version else ""
    line = f"{len(ready)}/{count} instances in service{on_version}"
    done = len(ready) == count and len(instances) == count
    if healthy is not None:
        line += f", {healthy}/{count} healthy in {args['target_group']}"
        done = done and healthy == count
    return done, line


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        what = self._what(args)
        if self._task.check_mode:
            return {**result, "changed": False, "skipped": True, "msg": f"check mode: would wait until {what}"}
        if args["count"] < 0 or args["timeout"] < 1 or args["poll_interval"] < 1:
            raise AnsibleActionFail("count must be 0 or more, timeout and poll_interval 1 or more")
        return {**result, **self._wait(args, what, task_vars or {})}

    @staticmethod
    def _what(args: dict[str, Any]) -> str:
        if args["count"] == 0:
            return f"{args['name']} has no instance left"
        version = args["launch_template_version"]
        version = f" on launch template version {version}" if version else ""
        healthy = f", healthy in {args['target_group']}" if args["target_group"] else ""
        return f"{args['name']} has {args['count']} instances in service{version}{healthy}"

    def _wait(self, args: dict[str, Any], what: str, task_vars: dict[str, Any]) -> dict[str, Any]:
        started = time.monotonic()
        deadline = started + args["timeout"]
        said, said_at = "", 0.0
        display.display(f"Waiting until {what} (up to {args['timeout']} s)")
        while True:
            instances, target_group = self._read(args, task_vars)
            ids = [i["instance_id"] for i in instances]
            unhealthy = blue_green_unhealthy(target_group, ids) if target_group is not None else None
            healthy = None if unhealthy is None else len(ids) - len(unhealthy)
            done, line = progress(args, instances, healthy)
            now = time.monotonic()
            left = max(0, round(deadline - now))
            if done or line != said or now - said_at >= QUIET_SECONDS:
                display.display(f"  {args['name']}: {line}; {round(now - started)} s waited, {left} s left")
                said, said_at = line, now
            if done:
                elapsed = round(now - started, 1)
                return {"changed": False, "msg": line, "instances": instances, "elapsed_seconds": elapsed}
            if now >= deadline:
                return self._timed_out(args, instances, unhealthy, line)
            time.sleep(min(args["poll_interval"], max(1.0, deadline - now)))

    @staticmethod
    def _timed_out(
        args: dict[str, Any], instances: list[dict[str, Any]], unhealthy: list[str] | None, line: str
    ) -> dict[str, Any]:
        if unhealthy:
            reason = f"{args['target_group']} is not healthy after {args['timeout']} s: {'; '.join(unhealthy)}"
        else:
            found = ", ".join(instance_line(i) for i in instances) or "no instances"
            reason = f"{args['name']} did not reach it within {args['timeout']} s ({line}): {found}"
        return {"failed": True, "msg": reason, "instances": instances, "unhealthy_targets": unhealthy or []}

    def _read(self, args: dict[str, Any], task_vars: dict[str, Any]) -> tuple[list[dict[str, Any]], dict | None]:
        aws = {option: args[option] for option in AWS_OPTIONS if args.get(option) is not None}
        groups = self._module("amazon.aws.autoscaling_group_info", {**aws, "name": f"^{args['name']}$"}, task_vars)
        found = [g for g in groups.get("results") or [] if g.get("auto_scaling_group_name") == args["name"]]
        if not found:
            raise AnsibleActionFail(f"the Auto Scaling group {args['name']} does not exist")
        instances = found[0].get("instances") or []
        if not args["target_group"]:
            return instances, None
        target_groups = self._module(
            "community.aws.elb_target_group_info",
            {**aws, "names": [args["target_group"]], "collect_targets_health": True},
            task_vars,
        )
        return instances, (target_groups.get("target_groups") or [{}])[0]

    def _module(self, name: str, module_args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        result = self._execute_module(module_name=name, module_args=module_args, task_vars=task_vars)
        if result.get("failed"):
            raise AnsibleActionFail(f"{name}: {result.get('msg', 'failed')}")
        return result
