#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: autoscaling_color_group
version_added: 0.1.0
short_description: Manage one color of a blue/green pair of EC2 Auto Scaling groups
description:
  - Creates, updates or deletes an EC2 Auto Scaling group that runs from a launch template across
    VPC subnets, attached to Application Load Balancer target groups. It manages the launch template
    and version, subnets, target groups, health check, default cooldown, group metrics collection,
    tags and capacity.
  - How the capacity is managed is chosen with O(capacity_mode), so that provisioning can run again
    after a blue/green deploy without undoing it. V(enforce) sets O(min_size), O(max_size) and
    O(desired_capacity) exactly; V(baseline) sets the minimum and maximum and raises the desired
    capacity to O(desired_capacity) when it is lower, never lowering it, so a group the scaling
    policies or a deploy have grown keeps its instances; V(preserve) uses the sizes only to create the
    group and leaves an existing group's capacity as it is, for the idle color that a deploy may have
    scaled up or left running.
  - Unlike M(amazon.aws.autoscaling_group), check mode compares and predicts, so a converged group
    reports no change under C(--check), and diff mode shows what would change.
  - Does not wait for instances; use M(amazon.aws.autoscaling_group_info) or target health for that.
options:
  name:
    description:
      - The name of the Auto Scaling group.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the group, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  launch_template:
    description:
      - The launch template the group launches instances from.
      - Required to create a group. Without it an existing group keeps its launch template.
    type: dict
    suboptions:
      launch_template_name:
        description:
          - The launch template's name. Exactly one of this and O(launch_template.launch_template_id).
        type: str
      launch_template_id:
        description:
          - The launch template's ID.
        type: str
      version:
        description:
          - The version to launch, a number or V($Default) or V($Latest).
        type: str
        default: $Default
  subnets:
    description:
      - The VPC subnets the group launches instances in, one per Availability Zone.
      - Required to create a group. Without it an existing group keeps its subnets.
    type: list
    elements: str
    aliases: [vpc_zone_identifier]
  target_group_arns:
    description:
      - The ARNs of the target groups the group registers its instances with.
      - Target groups attached to the group and not listed are detached.
      - Without it an existing group's target groups are left alone.
    type: list
    elements: str
  min_size:
    description:
      - The minimum number of instances. Required to create a group.
    type: int
  max_size:
    description:
      - The maximum number of instances. Required to create a group.
    type: int
  desired_capacity:
    description:
      - The desired number of instances; O(min_size) when a group is created without it.
    type: int
  capacity_mode:
    description:
      - How O(min_size), O(max_size) and O(desired_capacity) apply to an existing group; a new group
        is always created with them.
      - V(enforce) sets each one given exactly.
      - V(baseline) sets O(min_size) and O(max_size) exactly and raises the desired capacity to
        O(desired_capacity) when it is lower; a higher desired capacity is kept, within the maximum.
      - V(preserve) leaves the minimum, maximum and desired capacity as they are.
      - In every mode a desired capacity outside the new minimum and maximum is brought within them,
        as Auto Scaling itself does.
    type: str
    choices: [enforce, baseline, preserve]
    default: enforce
  health_check_type:
    description:
      - V(ELB) replaces instances that the load balancer finds unhealthy as well as those EC2 does.
      - Without it, an existing group keeps its setting and a new group gets V(EC2).
    type: str
    choices: [EC2, ELB]
  health_check_grace_period:
    description:
      - Seconds after an instance comes into service before its health checks count.
      - Without it, an existing group keeps its setting and a new group gets 300.
    type: int
  default_cooldown:
    description:
      - Seconds after a scaling activity before a simple scaling policy may start another.
      - Without it, an existing group keeps its setting and a new group gets 300.
    type: int
  metrics_collection:
    description:
      - Whether the group publishes its group metrics (O(metrics)) to CloudWatch, every minute.
      - Without it, an existing group keeps the metrics it publishes and a new group publishes none.
    type: bool
  metrics:
    description:
      - The group metrics to publish when O(metrics_collection=true).
    type: list
    elements: str
    default:
      - GroupMinSize
      - GroupMaxSize
      - GroupDesiredCapacity
      - GroupInServiceInstances
      - GroupPendingInstances
      - GroupStandbyInstances
      - GroupTerminatingInstances
      - GroupTotalInstances
  propagate_tags_at_launch:
    description:
      - Whether the instances the group launches carry O(tags).
    type: bool
    default: true
  force_delete:
    description:
      - With O(state=absent), delete the group and terminate its instances; without it Auto Scaling
        refuses to delete a group that has instances.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Check mode compares the group with what is asked and returns the predicted group.
  diff_mode:
    support: full
    details: The group as RV(auto_scaling_group) shows it, without its ARN and instances.
notes:
  - A group being deleted (status C(Delete in progress)) counts as absent; asking for it present fails.
  - Group metrics are always collected at the one granularity Auto Scaling offers, C(1Minute).
seealso:
  - module: amazon.aws.autoscaling_group
  - module: amazon.aws.autoscaling_group_info
  - module: community.aws.autoscaling_policy
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules, amazon.aws.region.modules,
  amazon.aws.tags, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: The live color, sized per inventory; scaled-out instances are kept
  wedsync.platform.autoscaling_color_group:
    name: wedsync-production-app-blue
    launch_template:
      launch_template_name: wedsync-production-app
    subnets: [subnet-0a1b2c3d, subnet-1b2c3d4e, subnet-2c3d4e5f]
    target_group_arns:
      - arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/wedsync-production-blue/0123456789abcdef
    min_size: 3
    max_size: 12
    desired_capacity: 4
    capacity_mode: baseline
    health_check_type: ELB
    health_check_grace_period: 300
    metrics_collection: true
    tags:
      Name: wedsync-production-app-blue
      "wedsync:color": blue

- name: The idle color, created empty; a deploy that scaled it up keeps its capacity
  wedsync.platform.autoscaling_color_group:
    name: wedsync-production-app-green
    launch_template: {launch_template_name: wedsync-production-app}
    subnets: "{{ app_subnet_ids }}"
    target_group_arns: ["{{ green_target_group_arn }}"]
    min_size: 0
    max_size: 12
    desired_capacity: 0
    capacity_mode: preserve
    health_check_type: ELB

- name: Scale the old color to zero after a switch; its health check, cooldown and metrics stay as they are
  wedsync.platform.autoscaling_color_group:
    name: wedsync-production-app-blue
    min_size: 0
    desired_capacity: 0

- name: Remove a group and its instances
  wedsync.platform.autoscaling_color_group:
    name: wedsync-staging-app-green
    state: absent
    force_delete: true
"""

RETURN = r"""
auto_scaling_group:
  description:
    - The group after the change; in check mode, the group as it would be. Empty when absent.
  returned: always
  type: dict
  contains:
    auto_scaling_group_name:
      description: The group's name.
      type: str
      returned: when present
      sample: wedsync-production-app-blue
    auto_scaling_group_arn:
      description: The group's ARN; null for a group check mode would create.
      type: str
      returned: when present
      sample: arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:0d3c...:autoScalingGroupName/wedsync-production-app-blue
    launch_template:
      description: The launch template, by the name or ID the task gave (or both, when it gave neither), and version.
      type: dict
      returned: when present
      sample: {"launch_template_name": "wedsync-production-app", "version": "$Default"}
    subnets:
      description: The group's subnets, sorted.
      type: list
      elements: str
      returned: when present
      sample: [subnet-0a1b2c3d, subnet-1b2c3d4e]
    target_group_arns:
      description: The attached target groups, sorted.
      type: list
      elements: str
      returned: when present
    min_size:
      description: The minimum number of instances.
      type: int
      returned: when present
      sample: 3
    max_size:
      description: The maximum number of instances.
      type: int
      returned: when present
      sample: 12
    desired_capacity:
      description: The desired number of instances.
      type: int
      returned: when present
      sample: 4
    health_check_type:
      description: V(EC2) or V(ELB).
      type: str
      returned: when present
      sample: ELB
    health_check_grace_period:
      description: Seconds before an instance's health checks count.
      type: int
      returned: when present
      sample: 300
    default_cooldown:
      description: Seconds between simple scaling activities.
      type: int
      returned: when present
      sample: 300
    enabled_metrics:
      description: The group metrics published to CloudWatch, sorted.
      type: list
      elements: str
      returned: when present
      sample: [GroupDesiredCapacity, GroupInServiceInstances]
    tags:
      description: The group's tags, sorted by key.
      type: list
      elements: dict
      returned: when present
      contains:
        key:
          description: The tag's key.
          type: str
        value:
          description: The tag's value.
          type: str
        propagate_at_launch:
          description: Whether instances launched by the group carry the tag.
          type: bool
      sample: [{"key": "wedsync:color", "value": "blue", "propagate_at_launch": true}]
    instances:
      description: The group's instances, as Auto Scaling reports them when the module returned.
      type: list
      elements: dict
      returned: when present
      contains:
        instance_id:
          description: The instance's ID.
          type: str
        availability_zone:
          description: Its Availability Zone.
          type: str
        lifecycle_state:
          description: Its lifecycle state, C(InService) when it serves.
          type: str
        health_status:
          description: C(Healthy) or C(Unhealthy).
          type: str
"""

from dataclasses import dataclass
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils._autoscaling import (
    attach_target_groups,
    create_auto_scaling_group,
    create_or_update_tags,
    delete_auto_scaling_group,
    delete_tags,
    describe_auto_scaling_groups,
    detach_target_groups,
    disable_metrics_collection,
    enable_metrics_collection,
    update_auto_scaling_group,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule

DELETING = "Delete in progress"
DEFAULT_METRICS = [
    "GroupMinSize",
    "GroupMaxSize",
    "GroupDesiredCapacity",
    "GroupInServiceInstances",
    "GroupPendingInstances",
    "GroupStandbyInstances",
    "GroupTerminatingInstances",
    "GroupTotalInstances",
]


class CapacityError(Exception):
    """The sizes asked for contradict each other."""


# -- capacity ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capacity:
    min_size: int
    max_size: int
    desired_capacity: int


def plan_capacity(
    mode: str, current: Capacity | None, min_size: int | None, max_size: int | None, desired: int | None
) -> Capacity:
    """The capacity the group should have; raises CapacityError when the sizes asked contradict."""
    if current is None:
        if min_size is None or max_size is None:
            raise CapacityError("min_size and max_size are required to create a group")
        planned = Capacity(min_size, max_size, min_size if desired is None else desired)
    elif mode == "preserve":
        return current
    else:
        new_min = current.min_size if min_size is None else min_size
        new_max = current.max_size if max_size is None else max_size
        if desired is None:
            new_desired = current.desired_capacity
        elif mode == "baseline":
            new_desired = max(current.desired_capacity, desired)
        else:
            new_desired = desired
        if mode == "baseline" or desired is None:
            # What Auto Scaling does with a desired capacity the new limits leave outside.
            new_desired = min(max(new_desired, new_min), new_max)
        planned = Capacity(new_min, new_max, new_desired)
    if planned.min_size > planned.max_size:
        raise CapacityError(f"min_size {planned.min_size} is greater than max_size {planned.max_size}")
    if not planned.min_size <= planned.desired_capacity <= planned.max_size:
        raise CapacityError(
            f"desired_capacity {planned.desired_capacity} is outside min_size {planned.min_size}"
            f" and max_size {planned.max_size}"
        )
    return planned


# -- what exists, what is asked ----------------------------------------------------------------


def launch_template_key(params: dict[str, Any] | None) -> str | None:
    """Which field identifies the template the task names: its name or its ID."""
    if not params:
        return None
    return "launch_template_name" if params.get("launch_template_name") else "launch_template_id"


def view(group: dict[str, Any] | None, template_key: str | None) -> dict[str, Any]:
    """A DescribeAutoScalingGroups entry in the shape this module compares and returns."""
    if not group:
        return {}
    template = group.get("LaunchTemplate") or {}
    launch_template = {
        "launch_template_name": template.get("LaunchTemplateName"),
        "launch_template_id": template.get("LaunchTemplateId"),
    }
    if template_key:
        launch_template = {template_key: launch_template[template_key]}
    # A group created without a version launches $Default and reports none.
    launch_template["version"] = template.get("Version") or "$Default"
    return {
        "auto_scaling_group_name": group["AutoScalingGroupName"],
        "auto_scaling_group_arn": group.get("AutoScalingGroupARN"),
        "launch_template": launch_template,
        "subnets": sorted(filter(None, (group.get("VPCZoneIdentifier") or "").split(","))),
        "target_group_arns": sorted(group.get("TargetGroupARNs") or []),
        "min_size": group["MinSize"],
        "max_size": group["MaxSize"],
        "desired_capacity": group["DesiredCapacity"],
        "health_check_type": group.get("HealthCheckType"),
        "health_check_grace_period": group.get("HealthCheckGracePeriod"),
        "default_cooldown": group.get("DefaultCooldown"),
        "enabled_metrics": sorted({m["Metric"] for m in group.get("EnabledMetrics") or []}),
        "tags": sorted(
            (
                {"key": t["Key"], "value": t.get("Value", ""), "propagate_at_launch": bool(t.get("PropagateAtLaunch"))}
                for t in group.get("Tags") or []
            ),
            key=lambda t: t["key"],
        ),
        "instances": [
            {
                "instance_id": i["InstanceId"],
                "availability_zone": i.get("AvailabilityZone"),
                "lifecycle_state": i.get("LifecycleState"),
                "health_status": i.get("HealthStatus"),
            }
            for i in group.get("Instances") or []
        ],
    }


def wanted_tags(current: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    if params["tags"] is None:
        return current
    asked = {
        str(k): {"key": str(k), "value": str(v), "propagate_at_launch": params["propagate_tags_at_launch"]}
        for k, v in params["tags"].items()
    }
    kept = [] if params["purge_tags"] else [t for t in current if t["key"] not in asked]
    return sorted(kept + list(asked.values()), key=lambda t: t["key"])


def plan(current: dict[str, Any], params: dict[str, Any], capacity: Capacity) -> dict[str, Any]:
    """The group as it should be, in the shape of view()."""
    after = (
        dict(current)
        if current
        else {
            "auto_scaling_group_name": params["name"],
            "auto_scaling_group_arn": None,
            "target_group_arns": [],
            "enabled_metrics": [],
            "tags": [],
            "instances": [],
        }
    )
    if params["launch_template"]:
        key = launch_template_key(params["launch_template"])
        after["launch_template"] = {
            key: params["launch_template"][key],
            "version": params["launch_template"]["version"],
        }
    if params["subnets"]:
        after["subnets"] = sorted(set(params["subnets"]))
    if params["target_group_arns"] is not None:
        after["target_group_arns"] = sorted(set(params["target_group_arns"]))
    after.update(
        min_size=capacity.min_size,
        max_size=capacity.max_size,
        desired_capacity=capacity.desired_capacity,
        **{key: kept_or_asked(after.get(key), params[key], default) for key, default in NEW_GROUP_SETTINGS.items()},
        enabled_metrics=wanted_metrics(after["enabled_metrics"], params),
        tags=wanted_tags(after["tags"], params),
    )
    return after


# What a new group gets for each setting not given; an existing group keeps its own.
NEW_GROUP_SETTINGS = {"health_check_type": "EC2", "health_check_grace_period": 300, "default_cooldown": 300}


def kept_or_asked(kept: Any, asked: Any, new_group_default: Any) -> Any:
    if asked is not None:
        return asked
    return new_group_default if kept is None else kept


def wanted_metrics(current: list[str], params: dict[str, Any]) -> list[str]:
    if params["metrics_collection"] is None:
        return current
    return sorted(set(params["metrics"])) if params["metrics_collection"] else []


def launch_template_request(launch_template: dict[str, Any]) -> dict[str, str]:
    request = {"Version": launch_template["version"]}
    if "launch_template_name" in launch_template:
        request["LaunchTemplateName"] = launch_template["launch_template_name"]
    else:
        request["LaunchTemplateId"] = launch_template["launch_template_id"]
    return request


def tag_request(name: str, tag: dict[str, Any]) -> dict[str, Any]:
    return {
        "ResourceId": name,
        "ResourceType": "auto-scaling-group",
        "Key": tag["key"],
        "Value": tag["value"],
        "PropagateAtLaunch": tag["propagate_at_launch"],
    }


# The view's fields UpdateAutoScalingGroup sets, and their names in the request.
UPDATABLE = {
    "min_size": "MinSize",
    "max_size": "MaxSize",
    "desired_capacity": "DesiredCapacity",
    "health_check_type": "HealthCheckType",
    "health_check_grace_period": "HealthCheckGracePeriod",
    "default_cooldown": "DefaultCooldown",
}


def update_request(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The UpdateAutoScalingGroup parameters that change, or {} when none does."""
    request = {UPDATABLE[k]: after[k] for k in UPDATABLE if before.get(k) != after[k]}
    if before.get("launch_template") != after["launch_template"]:
        request["LaunchTemplate"] = launch_template_request(after["launch_template"])
    if before.get("subnets") != after["subnets"]:
        request["VPCZoneIdentifier"] = ",".join(after["subnets"])
    if request:
        request["AutoScalingGroupName"] = after["auto_scaling_group_name"]
    return request


def create_request(after: dict[str, Any]) -> dict[str, Any]:
    name = after["auto_scaling_group_name"]
    request = {
        "AutoScalingGroupName": name,
        "LaunchTemplate": launch_template_request(after["launch_template"]),
        "VPCZoneIdentifier": ",".join(after["subnets"]),
        "Tags": [tag_request(name, t) for t in after["tags"]],
    }
    request.update({UPDATABLE[k]: after[k] for k in UPDATABLE})
    if after["target_group_arns"]:
        request["TargetGroupARNs"] = after["target_group_arns"]
    return request


# -- changes -----------------------------------------------------------------------------------


def apply(client, before: dict[str, Any], after: dict[str, Any]) -> None:
    name = after["auto_scaling_group_name"]
    if not before:
        create_auto_scaling_group(client, create_request(after))
        if after["enabled_metrics"]:
            enable_metrics_collection(client, name, after["enabled_metrics"])
        return
    request = update_request(before, after)
    if request:
        update_auto_scaling_group(client, request)
    attached, wanted = set(before["target_group_arns"]), set(after["target_group_arns"])
    if wanted - attached:
        attach_target_groups(client, name, sorted(wanted - attached))
    if attached - wanted:
        detach_target_groups(client, name, sorted(attached - wanted))
    enabled, metrics = set(before["enabled_metrics"]), set(after["enabled_metrics"])
    if metrics - enabled:
        enable_metrics_collection(client, name, sorted(metrics - enabled))
    if enabled - metrics:
        disable_metrics_collection(client, name, sorted(enabled - metrics))
    old_tags = {t["key"]: t for t in before["tags"]}
    new_tags = {t["key"]: t for t in after["tags"]}
    changed_tags = [tag_request(name, t) for k, t in new_tags.items() if old_tags.get(k) != t]
    if changed_tags:
        create_or_update_tags(client, changed_tags)
    removed_tags = [tag_request(name, t) for k, t in old_tags.items() if k not in new_tags]
    if removed_tags:
        delete_tags(client, removed_tags)


def describe_group(client, name: str) -> dict[str, Any] | None:
    groups = describe_auto_scaling_groups(client, [name])
    return groups[0] if groups else None


def comparable(group: dict[str, Any]) -> dict[str, Any]:
    """What a change is judged on: everything but the ARN and the instances, which follow from it."""
    return {k: v for k, v in group.items() if k not in ("auto_scaling_group_arn", "instances")}


def ensure_present(module: WedSyncAWSModule, client, group: dict[str, Any] | None) -> dict[str, Any]:
    params = module.params
    if group and group.get("Status") == DELETING:
        module.fail_json(msg=f"Auto Scaling group {params['name']} is being deleted; try again once it is gone")
    template_key = launch_template_key(params["launch_template"])
    before = view(group, template_key)
    if not before:
        missing = [
            p for p in ("launch_template", "subnets", "min_size", "max_size") if not params[p] and params[p] != 0
        ]
        if missing:
            module.fail_json(msg=f"creating Auto Scaling group {params['name']} needs {', '.join(missing)}")
    current = Capacity(before["min_size"], before["max_size"], before["desired_capacity"]) if before else None
    try:
        capacity = plan_capacity(
            params["capacity_mode"], current, params["min_size"], params["max_size"], params["desired_capacity"]
        )
    except CapacityError as e:
        module.fail_json(msg=f"Auto Scaling group {params['name']}: {e}")
    after = plan(before, params, capacity)
    changed = comparable(before) != comparable(after)
    if changed and not module.check_mode:
        apply(client, before, after)
        after = view(describe_group(client, params["name"]), template_key)
    return dict(
        changed=changed, auto_scaling_group=after, diff=dict(before=comparable(before), after=comparable(after))
    )


def ensure_absent(module: WedSyncAWSModule, client, group: dict[str, Any] | None) -> dict[str, Any]:
    before = {} if not group or group.get("Status") == DELETING else view(group, None)
    if before and not module.check_mode:
        delete_auto_scaling_group(client, module.params["name"], module.params["force_delete"])
    return dict(changed=bool(before), auto_scaling_group={}, diff=dict(before=comparable(before), after={}))


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        launch_template=dict(
            type="dict",
            options=dict(
                launch_template_name=dict(type="str"),
                launch_template_id=dict(type="str"),
                version=dict(type="str", default="$Default"),
            ),
            mutually_exclusive=[["launch_template_name", "launch_template_id"]],
            required_one_of=[["launch_template_name", "launch_template_id"]],
        ),
        subnets=dict(type="list", elements="str", aliases=["vpc_zone_identifier"]),
        target_group_arns=dict(type="list", elements="str"),
        min_size=dict(type="int"),
        max_size=dict(type="int"),
        desired_capacity=dict(type="int"),
        capacity_mode=dict(type="str", choices=["enforce", "baseline", "preserve"], default="enforce"),
        health_check_type=dict(type="str", choices=["EC2", "ELB"]),
        health_check_grace_period=dict(type="int"),
        default_cooldown=dict(type="int"),
        metrics_collection=dict(type="bool"),
        metrics=dict(type="list", elements="str", default=DEFAULT_METRICS),
        tags=dict(type="dict", aliases=["resource_tags"]),
        propagate_tags_at_launch=dict(type="bool", default=True),
        purge_tags=dict(type="bool", default=True),
        force_delete=dict(type="bool", default=False),
    )
    module = WedSyncAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    for size in ("min_size", "max_size", "desired_capacity", "health_check_grace_period", "default_cooldown"):
        if (module.params[size] or 0) < 0:
            module.fail_json(msg=f"{size} must be zero or more, not {module.params[size]}")
    client = module.client("autoscaling")
    ensure = ensure_present if module.params["state"] == "present" else ensure_absent
    try:
        result = ensure(module, client, describe_group(client, module.params["name"]))
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
