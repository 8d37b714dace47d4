"""Auto Scaling groups and the launch templates they launch from, as AWS keeps them.

- moto answers DisableMetricsCollection with "not implemented", and its UpdateAutoScalingGroup
  drops DefaultCooldown, so a group's cooldown could be set only at creation. The app_tier role
  (through wedsync.platform.autoscaling_color_group) turns group metrics off where asked and
  changes the groups' cooldown with the inventory's.
- moto copies the tags of CreateLaunchTemplate's own TagSpecifications (resource type
  ``launch-template``) into version 1's LaunchTemplateData, where AWS never puts them. A template
  created with tags then differs from the same data sent again, and amazon.aws.ec2_launch_template
  makes a second version on the app_tier role's second run.
"""

from __future__ import annotations

from typing import Any

from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.models.launch_templates import LaunchTemplateVersion


def install() -> None:
    _patch_metrics_collection()
    _patch_default_cooldown()
    _patch_launch_template_data()


def _patch_metrics_collection() -> None:
    def disable_metrics_collection(self: AutoScalingResponse) -> ActionResult:
        group = self.autoscaling_backend.describe_auto_scaling_groups([self._get_param("AutoScalingGroupName")])[0]
        metrics = self._get_param("Metrics") or []
        # No metric named means every metric, as on AWS.
        group.metrics = [m for m in group.metrics if metrics and m not in metrics]
        return EmptyResult()

    AutoScalingResponse.disable_metrics_collection = disable_metrics_collection  # type: ignore[attr-defined]


def _patch_default_cooldown() -> None:
    original_update = AutoScalingResponse.update_auto_scaling_group

    def update_auto_scaling_group(self: AutoScalingResponse) -> ActionResult:
        result = original_update(self)
        cooldown = self._get_int_param("DefaultCooldown")
        if cooldown is not None:
            group = self.autoscaling_backend.autoscaling_groups[self._get_param("AutoScalingGroupName")]
            group.default_cooldown = cooldown
        return result

    AutoScalingResponse.update_auto_scaling_group = update_auto_scaling_group  # type: ignore[method-assign]


def _patch_launch_template_data() -> None:
    original_init = LaunchTemplateVersion.__init__

    def __init__(
        self: LaunchTemplateVersion, template: Any, number: int, data: dict[str, Any], description: str
    ) -> None:
        specs = data.get("TagSpecifications")
        if specs:
            data = {**data, "TagSpecifications": [s for s in specs if s.get("ResourceType") != "launch-template"]}
            if not data["TagSpecifications"]:
                del data["TagSpecifications"]
        original_init(self, template, number, data, description)

    LaunchTemplateVersion.__init__ = __init__  # type: ignore[method-assign]
