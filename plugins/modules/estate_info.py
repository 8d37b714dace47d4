#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: estate_info
version_added: 0.1.0
short_description: Read one region of a WedSync estate by the names and tags the roles give it
description:
  - Returns, for one region and name prefix, what the roles and runbooks need to find, that is the VPC,
    its subnets and security groups; the load balancer, its listeners and the blue and green target
    groups with their targets' health; the launch template with its versions, the instance profile
    and the two Auto Scaling groups; the database and its replicas; the Redis replication group;
    the buckets; the SNS topics and the alarms.
  - Names and tags are those of the collection's docs/roles.md ("Names and tags"). What is not found
    is C(null) or absent from its section, and RV(missing) names what the network, load balancer, app
    and alerting sections lack. The database, cache and buckets differ between a primary region and
    a pilot-light DR region, so the caller judges them.
  - One call instead of a dozen C(*_info) tasks, so each runbook reads the estate in about a second.
    Written because the amazon.aws and community.aws info modules each read one kind of resource,
    and several of them fail rather than return nothing for a name that does not exist.
options:
  name_prefix:
    description: The estate's name prefix, e.g. C(wedsync-production).
    type: str
    required: true
  sections:
    description: The sections to read; the others are not in RV(estate).
    type: list
    elements: str
    choices: [network, load_balancer, app, database, cache, storage, alerting]
    default: [network, load_balancer, app, database, cache, storage, alerting]
attributes:
  check_mode:
    support: full
    details: The module only reads.
notes:
  - Resources are returned as the AWS API describes them, in snake_case, as the amazon.aws info
    modules return them; a resource's own tags become a C(tags) dictionary.
seealso:
  - module: amazon.aws.ec2_vpc_net_info
  - module: amazon.aws.elb_application_lb_info
  - module: amazon.aws.autoscaling_group_info
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules, amazon.aws.region.modules,
  amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Read the application tier of the primary region
  wedsync.platform.estate_info:
    region: us-east-1
    name_prefix: wedsync-production
    sections: [load_balancer, app]
  register: estate

- name: Refuse to go on if something is missing
  ansible.builtin.assert:
    that: estate.missing | length == 0
    fail_msg: "wedsync-production in us-east-1 is missing {{ estate.missing | join(', ') }}"

- name: The DR replica's state
  wedsync.platform.estate_info:
    region: us-west-2
    name_prefix: wedsync-production
    sections: [database]
  register: dr

- ansible.builtin.debug:
    msg: "{{ dr.estate.database.replicas | map(attribute='db_instance_status') }}"
"""

RETURN = r"""
names:
  description: The names looked for, derived from O(name_prefix) and the region.
  returned: always
  type: dict
  sample:
    vpc: wedsync-production-vpc
    load_balancer: wedsync-production-alb
    target_groups: {blue: wedsync-production-blue, green: wedsync-production-green}
missing:
  description: What the sections read lack of what every region has, one phrase each.
  returned: always
  type: list
  elements: str
  sample: [the Auto Scaling group wedsync-production-app-green]
estate:
  description: One key per section read.
  returned: always
  type: dict
  contains:
    network:
      description: C(vpc) (or null); C(subnets), lists by their C(wedsync:tier) tag (C(public), C(private))
        sorted by zone; C(security_groups), by tier (C(alb), C(app), C(db), C(cache)).
      type: dict
      returned: when O(sections) has it
    load_balancer:
      description: C(load_balancer) (or null) with its C(listeners); C(target_groups) by color, each with
        C(targets_health_description).
      type: dict
      returned: when O(sections) has it
    app:
      description: C(launch_template) (or null) with its C(versions); C(instance_profile) (or null);
        C(auto_scaling_groups) by color.
      type: dict
      returned: when O(sections) has it
    database:
      description: C(primary) (or null) and C(replicas), the instances replicating it (in this region, or
        the DR replica in another); each carries C(role) (C(primary), C(replica), C(other)).
      type: dict
      returned: when O(sections) has it
    cache:
      description: C(replication_group), the Redis group, or null.
      type: dict
      returned: when O(sections) has it
    storage:
      description: C(buckets), the region's bucket names by purpose (C(uploads), C(deployments), ...).
      type: dict
      returned: when O(sections) has it
    alerting:
      description: C(topics), topic ARNs by name (C(alerts), C(paging)); C(alarms), every alarm named with
        the prefix, with C(alarm_name), C(alarm_arn), C(alarm_type) and C(state_value).
      type: dict
      returned: when O(sections) has it
"""

from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.wedsync.platform.plugins.module_utils import (
    _autoscaling,
    _cloudwatch,
    _ec2,
    _elasticache,
    _elbv2,
    _iam,
    _rds,
    _s3,
    _sns,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.estate import (
    SECTIONS,
    database_role,
    estate_missing,
    estate_names,
)
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule


def _snake(resource: dict[str, Any]) -> dict[str, Any]:
    """snake_case, with the resource's own tags as a dictionary (tags inside its data stay lists)."""
    tags = resource.get("Tags", resource.get("TagList"))
    snake = camel_dict_to_snake_dict({k: v for k, v in resource.items() if k not in ("Tags", "TagList")})
    if tags is not None:
        snake["tags"] = boto3_tag_list_to_ansible_dict(tags)
    return snake


def _tag(resource: dict[str, Any], key: str) -> str:
    return next((t["Value"] for t in resource.get("Tags") or [] if t["Key"] == key), "")


class Estate:
    def __init__(self, module: WedSyncAWSModule, names: dict[str, Any]) -> None:
        self.module = module
        self.names = names
        self._clients: dict[str, Any] = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.module.client(service)
        return self._clients[service]

    def network(self) -> dict[str, Any]:
        ec2 = self.client("ec2")
        vpcs = _ec2.describe_vpcs(ec2, [{"Name": "tag:Name", "Values": [self.names["vpc"]]}])
        if len(vpcs) != 1:
            return {"vpc": None, "subnets": {}, "security_groups": {}}
        in_vpc = [{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]}]
        subnets: dict[str, list[dict[str, Any]]] = {}
        for subnet in sorted(_ec2.describe_subnets(ec2, in_vpc), key=lambda s: s["AvailabilityZone"]):
            subnets.setdefault(_tag(subnet, "wedsync:tier") or "untiered", []).append(_snake(subnet))
        tiers = {name: tier for tier, name in self.names["security_groups"].items()}
        groups = _ec2.describe_security_groups(ec2, [*in_vpc, {"Name": "group-name", "Values": list(tiers)}])
        return {
            "vpc": _snake(vpcs[0]),
            "subnets": subnets,
            "security_groups": {tiers[g["GroupName"]]: _snake(g) for g in groups},
        }

    def load_balancer(self) -> dict[str, Any]:
        elb = self.client("elbv2")
        balancer = _elbv2.describe_load_balancer(elb, self.names["load_balancer"])
        if balancer is not None:
            listeners = _elbv2.describe_listeners(elb, balancer["LoadBalancerArn"]) or []
            balancer = {
                **_snake(balancer),
                "listeners": [_snake(li) for li in sorted(listeners, key=lambda li: li["Port"])],
            }
        target_groups = {}
        for color, name in self.names["target_groups"].items():
            group = _elbv2.describe_target_group(elb, name=name)
            if group is None:
                continue
            health = _elbv2.describe_target_health(elb, group["TargetGroupArn"])
            target_groups[color] = {**_snake(group), "targets_health_description": [_snake(t) for t in health]}
        return {"load_balancer": balancer, "target_groups": target_groups}

    def app(self) -> dict[str, Any]:
        ec2 = self.client("ec2")
        template = _ec2.describe_launch_template(ec2, self.names["launch_template"])
        if template is not None:
            versions = _ec2.describe_launch_template_versions(ec2, template["LaunchTemplateId"])
            template = {**_snake(template), "versions": [_snake(v) for v in versions]}
        profile = _iam.get_instance_profile(self.client("iam"), self.names["instance_profile"])
        colors = {name: color for color, name in self.names["auto_scaling_groups"].items()}
        groups = _autoscaling.describe_auto_scaling_groups(self.client("autoscaling"), list(colors))
        return {
            "launch_template": template,
            "instance_profile": _snake(profile) if profile else None,
            "auto_scaling_groups": {colors[g["AutoScalingGroupName"]]: _snake(g) for g in groups},
        }

    def database(self) -> dict[str, Any]:
        primary = self.names["database"]
        instances = [_snake(i) for i in _rds.describe_db_instances(self.client("rds"))]
        ours = [
            {**i, "role": database_role(i, primary)}
            for i in instances
            if i["db_instance_identifier"].startswith(primary)
        ]
        return {
            "primary": next((i for i in ours if i["role"] == "primary"), None),
            "replicas": sorted((i for i in ours if i["role"] == "replica"), key=lambda i: i["db_instance_identifier"]),
        }

    def cache(self) -> dict[str, Any]:
        found = _elasticache.describe_replication_groups(self.client("elasticache"), self.names["cache"])
        return {"replication_group": _snake(found[0]) if found else None}

    def storage(self) -> dict[str, Any]:
        start, end = f"{self.names['prefix']}-", self.names["bucket_suffix"]
        names = [b["Name"] for b in _s3.list_buckets(self.client("s3"))]
        return {
            "buckets": {n[len(start) : -len(end)]: n for n in sorted(names) if n.startswith(start) and n.endswith(end)}
        }

    def alerting(self) -> dict[str, Any]:
        wanted = {name: topic for topic, name in self.names["topics"].items()}
        arns = _sns.list_topic_arns(self.client("sns"))
        found = _cloudwatch.describe_alarms(self.client("cloudwatch"), prefix=f"{self.names['prefix']}-")
        alarms = [
            {
                "alarm_name": a["AlarmName"],
                "alarm_arn": a["AlarmArn"],
                "alarm_type": kind,
                "state_value": a["StateValue"],
            }
            for kind in ("MetricAlarm", "CompositeAlarm")
            for a in found[f"{kind}s"]
        ]
        return {
            "topics": {wanted[arn.rsplit(":", 1)[1]]: arn for arn in arns if arn.rsplit(":", 1)[1] in wanted},
            "alarms": sorted(alarms, key=lambda a: a["alarm_name"]),
        }


def main() -> None:
    module = WedSyncAWSModule(
        argument_spec={
            "name_prefix": {"type": "str", "required": True},
            "sections": {"type": "list", "elements": "str", "choices": list(SECTIONS), "default": list(SECTIONS)},
        },
        supports_check_mode=True,
    )
    names = estate_names(module.params["name_prefix"], module.region)
    reader = Estate(module, names)
    try:
        estate = {section: getattr(reader, section)() for section in SECTIONS if section in module.params["sections"]}
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, names=names, missing=estate_missing(names, estate), estate=estate)


if __name__ == "__main__":
    main()
