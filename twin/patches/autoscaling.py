"""Auto Scaling groups and the launch templates they launch from, as AWS keeps them.

- moto answers DisableMetricsCollection with "not implemented", and its UpdateAutoScalingGroup
  drops DefaultCooldown, so a group's cooldown could be set only at creation. The app_tier role
  (through wedsync.platform.autoscaling_color_group) turns group metrics off where asked and
  changes the groups' cooldown with the inventory's.
- moto copies the tags of CreateLaunchTemplate's own TagSpecifications (resource type
  ``launch-template``) into version 1's LaunchTemplateData, where AWS never puts them. A template
  created with tags then differs from the same data sent again, and amazon.aws.ec2_launch_template
  makes a second version on the app_tier role's second run.
- moto's CreateLaunchTemplateVersion ignores ``SourceVersion`` and keeps a new version's UserData
  as sent, which its launches then reject. AWS starts from the source version's data and replaces
  the top-level keys given, so the blue/green runbook's new version (tags and version only) keeps
  the source's image and user data; an unknown source version is refused as on AWS.
- moto launches a group's instances from the template's default version, whatever version the group
  names: their ``aws:ec2launchtemplate:version`` tag and ``LaunchTemplate.Version`` say the default,
  and settings absent from the group's version leak from the default one. AWS launches from the
  group's version (``$Latest`` and ``$Default`` resolved at launch), and running instances keep the
  version they were launched from when the group moves to another. The runbook deploys a color by
  moving its group to a new version and reads back which version each instance runs.
- moto leaves the instances a group terminates or detaches registered, and healthy, in the group's
  target groups; AWS deregisters them, so a color scaled in stops receiving traffic.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from typing import Any

from moto.autoscaling.models import ASG_NAME_TAG, AutoScalingBackend, FakeAutoScalingGroup, InstanceState
from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.ec2.exceptions import InvalidLaunchTemplateVersionNotFound
from moto.ec2.models.launch_templates import LaunchTemplate, LaunchTemplateVersion
from moto.ec2.responses.launch_templates import LaunchTemplates
from moto.ec2.utils import parse_user_data

from twin.patching import patch_point

TEMPLATE_ID_TAG = "aws:ec2launchtemplate:id"
TEMPLATE_VERSION_TAG = "aws:ec2launchtemplate:version"


@patch_point(
    "moto.autoscaling.responses.AutoScalingResponse.disable_metrics_collection",
    kind="add",
    why="DisableMetricsCollection: the app_tier role turns group metrics off where asked",
)
def _disable_metrics_collection(self: AutoScalingResponse) -> ActionResult:
    group = self.autoscaling_backend.describe_auto_scaling_groups([self._get_param("AutoScalingGroupName")])[0]
    metrics = self._get_param("Metrics") or []
    # No metric named means every metric, as on AWS.
    group.metrics = [m for m in group.metrics if metrics and m not in metrics]
    return EmptyResult()


@patch_point(
    "moto.autoscaling.responses.AutoScalingResponse.update_auto_scaling_group",
    kind="wrap",
    params="self",
    why="UpdateAutoScalingGroup keeps DefaultCooldown",
)
def _update_auto_scaling_group(original: Callable[..., ActionResult], self: AutoScalingResponse) -> ActionResult:
    result = original(self)
    cooldown = self._get_int_param("DefaultCooldown")
    if cooldown is not None:
        group = self.autoscaling_backend.autoscaling_groups[self._get_param("AutoScalingGroupName")]
        group.default_cooldown = cooldown
    return result


@patch_point(
    "moto.ec2.models.launch_templates.LaunchTemplateVersion.__init__",
    kind="wrap",
    params="self, template, number, data, description",
    why="the template's own tags stay out of its versions' data, so a second run makes no new version",
)
def _launch_template_version_init(original: Callable[..., None], self: LaunchTemplateVersion, *args: Any) -> None:
    template, number, data, description = args
    specs = data.get("TagSpecifications")
    if specs:
        data = {**data, "TagSpecifications": [s for s in specs if s.get("ResourceType") != "launch-template"]}
        if not data["TagSpecifications"]:
            del data["TagSpecifications"]
    original(self, template, number, data, description)


@patch_point(
    "moto.ec2.responses.launch_templates.LaunchTemplates.create_launch_template_version",
    kind="replace",
    params="self",
    why="a version created with SourceVersion starts from that version's data",
)
def _create_launch_template_version(self: LaunchTemplates) -> ActionResult:
    template_id = self._get_param("LaunchTemplateId")
    if template_id:
        template = self.ec2_backend.get_launch_template(template_id)
    else:
        template = self.ec2_backend.get_launch_template_by_name(self._get_param("LaunchTemplateName"))
    data = self._get_param("LaunchTemplateData", {})
    if "UserData" in data:
        data["UserData"] = parse_user_data(data["UserData"])
    source = self._get_param("SourceVersion")
    if source is not None:
        data = {**copy.deepcopy(_source_version(template, str(source)).data), **data}
    self.error_on_dryrun()
    version = template.create_version(data, self._get_param("VersionDescription"))
    return ActionResult(
        {
            "LaunchTemplateVersion": {
                "CreateTime": version.create_time,
                "CreatedBy": f"arn:{self.partition}:iam::{self.current_account}:root",
                "DefaultVersion": template.is_default(version),
                "LaunchTemplateData": version.data,
                "LaunchTemplateId": template.id,
                "LaunchTemplateName": template.name,
                "VersionDescription": version.description,
                "VersionNumber": version.number,
            }
        }
    )


def _source_version(template: LaunchTemplate, source: str) -> LaunchTemplateVersion:
    if source.lower() in ("$latest", "$default"):
        return template.get_version(source)
    if not source.isdigit() or not 1 <= int(source) <= len(template.versions):
        raise InvalidLaunchTemplateVersionNotFound(version=source, template_id=template.id)
    return template.get_version(source)


@patch_point(
    "moto.autoscaling.models.FakeAutoScalingGroup.replace_autoscaling_group_instances",
    kind="wrap",
    params="self, count_needed, propagated_tags",
    why="a group launches from its own launch template version, not the template's default",
)
def _replace_autoscaling_group_instances(
    original: Callable[..., None], self: FakeAutoScalingGroup, count_needed: int, propagated_tags: dict[str, str]
) -> None:
    template = self.ec2_launch_template
    if template is None:
        original(self, count_needed, propagated_tags)
        return
    # One version for the whole launch, even if $Latest moves meanwhile.
    version = template.get_version(self.launch_template_version)
    tags = {**propagated_tags, ASG_NAME_TAG: self.name, **version.instance_tags}
    reservation = self.autoscaling_backend.ec2_backend.run_instances(
        version.image_id,
        count_needed,
        version.user_data,
        version.security_groups,
        instance_type=version.instance_type,
        tags={"instance": tags},
        placement=random.choice(self.availability_zones),
        launch_config=None,
        launch_template={"LaunchTemplateId": template.id, "Version": str(version.number)},
        is_instance_type_default=False,
        associate_public_ip=None,
        subnet_id=self.vpc_zone_identifier.split(",")[0] if self.vpc_zone_identifier else None,
    )
    for instance in reservation.instances:
        instance.autoscaling_group = self
        self.instance_states.append(
            InstanceState(instance, protected_from_scale_in=self.new_instances_protected_from_scale_in)
        )


@patch_point(
    "moto.autoscaling.models.InstanceState.launch_template",
    kind="wrap",
    params="self",
    why="each instance reports the template version it was launched from",
    getter=True,
)
def _launch_template(original: Callable[..., dict[str, Any] | None], self: InstanceState) -> dict[str, Any] | None:
    spec = original(self)
    tags = self.instance.ec2_backend.tags.get(self.instance.id, {})
    if spec and tags.get(TEMPLATE_ID_TAG) == spec["LaunchTemplateId"]:
        spec["Version"] = tags[TEMPLATE_VERSION_TAG]
    return spec


@patch_point(
    "moto.autoscaling.models.AutoScalingBackend.update_attached_target_groups",
    kind="wrap",
    params="self, group_name",
    why="instances a group scales in or detaches leave its target groups",
)
def _update_attached_target_groups(original: Callable[..., None], self: AutoScalingBackend, group_name: str) -> None:
    original(self, group_name)
    group = self.autoscaling_groups[group_name]
    members = {state.instance.id for state in group.instance_states}
    for arn in group.target_group_arns:
        target_group = self.elbv2_backend.target_groups.get(arn)
        if target_group is None:
            continue
        leavers = [t for t in target_group.targets if t not in members and _launched_by(self, group, t)]
        if leavers:
            target_group.deregister([{"Id": t} for t in leavers])


def _launched_by(backend: AutoScalingBackend, group: FakeAutoScalingGroup, instance_id: str) -> bool:
    instance = backend.ec2_backend.get_instance_by_id(instance_id)
    return getattr(instance, "autoscaling_group", None) is group
