#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: alb_listener
version_added: 0.1.0
short_description: Manage one listener of an Application Load Balancer, leaving its traffic split alone if asked
description:
  - Creates, updates or deletes the listener on one port of an Application Load Balancer, with its
    protocol, TLS security policy, default certificate, default actions and tags.
  - Unlike M(amazon.aws.elb_application_lb), which rewrites every listener of a load balancer and
    compares forward actions without their C(ForwardConfig), this module touches one listener and
    compares default actions in full, weighted target groups and group stickiness included.
  - With O(keep_default_actions=true) the default actions are used only to create the listener; an
    existing listener keeps the actions it has, so re-provisioning never moves traffic that a
    blue/green deploy has switched or split. Its certificate, security policy and tags are still
    enforced.
options:
  load_balancer_name:
    description:
      - The name of the load balancer.
      - Exactly one of O(load_balancer_name) and O(load_balancer_arn) is required.
    type: str
  load_balancer_arn:
    description:
      - The ARN of the load balancer.
    type: str
  port:
    description:
      - The port the listener listens on; it identifies the listener on its load balancer.
    type: int
    required: true
  protocol:
    description:
      - The protocol for connections from clients to the load balancer.
      - Required with O(state=present).
    type: str
    choices: [HTTP, HTTPS]
  ssl_policy:
    description:
      - The security policy that says which TLS versions and ciphers the listener accepts, for example
        C(ELBSecurityPolicy-TLS13-1-2-2021-06).
      - Only with O(protocol=HTTPS). Without it a new listener gets the ELB default and an existing
        one keeps its policy.
    type: str
  certificate_arn:
    description:
      - The ARN of the listener's default certificate, from ACM or IAM.
      - Only with O(protocol=HTTPS); required to create an HTTPS listener. Without it an existing
        listener keeps its certificate.
      - Only the default certificate is managed; certificates added to the listener's list for SNI
        are left alone.
    type: str
  default_actions:
    description:
      - The listener's default actions, in the shape of the ELBv2 API (C(Type), C(TargetGroupArn),
        C(ForwardConfig), C(RedirectConfig), C(FixedResponseConfig), C(Order)).
      - C(TargetGroupName) may stand for C(TargetGroupArn), in an action and in each
        C(ForwardConfig.TargetGroups) entry; the target group must exist, except in check mode,
        where a missing one is predicted by name.
      - Required with O(state=present).
    type: list
    elements: dict
  keep_default_actions:
    description:
      - With V(true), O(default_actions) only set up a new listener; an existing listener's default
        actions are never compared or changed, whatever they forward to and with which weights.
      - With V(false), the listener's default actions are made to match O(default_actions).
    type: bool
    default: false
  state:
    description:
      - Whether the listener should exist.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    details: Returns the listener as it would be, with a null ARN for one that would be created.
  diff_mode:
    support: full
    details: C(before) and C(after) are the listener as RV(listener) describes it, empty when absent.
notes:
  - The listener is found by O(port) on its load balancer. Changing a listener's port means deleting
    the listener on the old port and creating one on the new port.
  - Listener rules are not managed here.
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules, amazon.aws.region.modules,
  amazon.aws.tags, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: HTTPS listener forwarding to the blue target group when it is created, never reset afterwards
  wedsync.platform.alb_listener:
    load_balancer_name: wedsync-production-alb
    port: 443
    protocol: HTTPS
    ssl_policy: ELBSecurityPolicy-TLS13-1-2-2021-06
    certificate_arn: "{{ certificate.certificate.certificate_arn }}"
    default_actions:
      - Type: forward
        TargetGroupName: wedsync-production-blue
    keep_default_actions: true
    tags:
      Name: wedsync-production-alb-https

- name: HTTP listener that redirects every request to HTTPS, enforced on every run
  wedsync.platform.alb_listener:
    load_balancer_name: wedsync-production-alb
    port: 80
    protocol: HTTP
    default_actions:
      - Type: redirect
        RedirectConfig:
          Protocol: HTTPS
          Port: "443"
          StatusCode: HTTP_301

- name: A weighted split, enforced (a canary step of a deploy, for example)
  wedsync.platform.alb_listener:
    load_balancer_name: wedsync-production-alb
    port: 443
    protocol: HTTPS
    default_actions:
      - Type: forward
        ForwardConfig:
          TargetGroups:
            - TargetGroupName: wedsync-production-blue
              Weight: 90
            - TargetGroupName: wedsync-production-green
              Weight: 10

- name: Remove the listener on port 8080
  wedsync.platform.alb_listener:
    load_balancer_name: wedsync-production-alb
    port: 8080
    state: absent
"""

RETURN = r"""
listener:
  description:
    - The listener after the task (as it would be, in check mode); empty when it is absent.
    - Keys are snake_cased from the ELBv2 API, the default actions' included.
  returned: always
  type: dict
  contains:
    listener_arn:
      description: The listener's ARN; null for a listener check mode would create.
      type: str
      sample: arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/wedsync-production-alb/50dc6c495c0c9188/f2f7dc8efc522ab2
    load_balancer_arn:
      description: The load balancer's ARN; null when check mode predicts a listener for a load balancer that does not exist yet.
      type: str
      sample: arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/wedsync-production-alb/50dc6c495c0c9188
    port:
      description: The listener's port.
      type: int
      sample: 443
    protocol:
      description: The listener's protocol.
      type: str
      sample: HTTPS
    ssl_policy:
      description: The listener's TLS security policy.
      type: str
      sample: ELBSecurityPolicy-TLS13-1-2-2021-06
    certificates:
      description: The listener's default certificate, as C(certificate_arn).
      type: list
      elements: dict
      sample: [{"certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/5f2a9a51-0c6e-4cc4-9a6c-3f6f0e9e1a2b"}]
    default_actions:
      type: list
      elements: dict
      description: The listener's default actions.
      sample:
        - type: forward
          forward_config:
            target_groups:
              - {weight: 90, target_group_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/wedsync-production-blue/0f2b1c4d5e6f7a8b"}
              - {weight: 10, target_group_arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/wedsync-production-green/1a2b3c4d5e6f7a8b"}
            target_group_stickiness_config: {enabled: false}
    tags:
      description: The listener's tags.
      type: dict
      sample: {"Name": "wedsync-production-alb-https"}
default_actions_kept:
  description:
    - Whether the listener existed and O(keep_default_actions=true) left its default actions as they were.
  returned: always
  type: bool
  sample: true
"""

import copy
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list, compare_aws_tags
from ansible_collections.wedsync.platform.plugins.module_utils._elbv2 import (
    add_tags,
    create_listener,
    delete_listener,
    describe_listeners,
    describe_load_balancer,
    describe_tags,
    describe_target_group,
    modify_listener,
    remove_tags,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule

# What ELB fills in for a redirect's unset fields: a redirect given without them compares equal.
REDIRECT_DEFAULTS = {
    "Protocol": "#{protocol}",
    "Host": "#{host}",
    "Port": "#{port}",
    "Path": "/#{path}",
    "Query": "#{query}",
}
TLS_PROTOCOLS = ("HTTPS",)


class ListenerError(Exception):
    """Input or state that stops the module with a message."""


# -- actions -----------------------------------------------------------------------------------


def canonical_action(action: dict[str, Any]) -> dict[str, Any]:
    """An action reduced to what it means, so that equal actions compare equal however written.

    A forward to one group may come back as TargetGroupArn, as a one-entry ForwardConfig, or both;
    a lone group's weight does not matter; a redirect's unset fields take ELB's defaults.
    """
    kind = action.get("Type")
    if kind == "forward":
        config = action.get("ForwardConfig") or {}
        groups = config.get("TargetGroups") or [{"TargetGroupArn": action.get("TargetGroupArn")}]
        lone = len(groups) == 1
        targets = sorted(
            (str(g.get("TargetGroupArn") or g.get("TargetGroupName")), 1 if lone else int(g.get("Weight", 1)))
            for g in groups
        )
        sticky = config.get("TargetGroupStickinessConfig") or {}
        stickiness = [True, sticky.get("DurationSeconds")] if sticky.get("Enabled") else [False, None]
        return {"Type": kind, "TargetGroups": targets, "Stickiness": stickiness}
    if kind == "redirect":
        return {"Type": kind, "RedirectConfig": {**REDIRECT_DEFAULTS, **(action.get("RedirectConfig") or {})}}
    return {key: value for key, value in action.items() if key != "Order"}


def canonical_actions(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ordered = sorted(enumerate(actions), key=lambda pair: (pair[1].get("Order", pair[0] + 1), pair[0]))
    return [canonical_action(action) for _, action in ordered]


def _stringify(config: dict[str, Any] | None, keys: tuple[str, ...]) -> None:
    """The API takes ports and status codes as strings; YAML easily makes them numbers."""
    for key in keys:
        if config and config.get(key) is not None:
            config[key] = str(config[key])


def resolve_actions(client, actions: list[dict[str, Any]], check_mode: bool) -> list[dict[str, Any]]:
    """The actions with TargetGroupName replaced by its ARN (kept by name when check mode cannot resolve it)."""
    resolved = copy.deepcopy(actions)
    cache: dict[str, str | None] = {}

    def resolve(holder: dict[str, Any]) -> None:
        name = holder.get("TargetGroupName")
        if not name:
            return
        if name not in cache:
            group = describe_target_group(client, name=name)
            cache[name] = group["TargetGroupArn"] if group else None
        if cache[name]:
            holder.pop("TargetGroupName")
            holder["TargetGroupArn"] = cache[name]
        elif not check_mode:
            raise ListenerError(f"target group {name} not found")

    for action in resolved:
        if "Type" not in action:
            raise ListenerError(f"every default action needs a Type: {action}")
        resolve(action)
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
            resolve(group)
        _stringify(action.get("RedirectConfig"), ("Port",))
        _stringify(action.get("FixedResponseConfig"), ("StatusCode",))
    return resolved


# -- the listener ------------------------------------------------------------------------------


def default_certificate(listener: dict[str, Any]) -> str | None:
    certificates = listener.get("Certificates") or []
    default = next((c for c in certificates if c.get("IsDefault")), certificates[0] if certificates else {})
    return default.get("CertificateArn")


def listener_changes(
    current: dict[str, Any], params: dict[str, Any], actions: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """The ModifyListener arguments that bring the listener to what is asked."""
    changes: dict[str, Any] = {}
    if current.get("Protocol") != params["protocol"]:
        changes["Protocol"] = params["protocol"]
    if params["protocol"] in TLS_PROTOCOLS:
        if params["ssl_policy"] and current.get("SslPolicy") != params["ssl_policy"]:
            changes["SslPolicy"] = params["ssl_policy"]
        if params["certificate_arn"] and default_certificate(current) != params["certificate_arn"]:
            changes["Certificates"] = [{"CertificateArn": params["certificate_arn"]}]
    if actions is not None and canonical_actions(current.get("DefaultActions") or []) != canonical_actions(actions):
        changes["DefaultActions"] = actions
    return changes


def create_params(
    load_balancer_arn: str | None, params: dict[str, Any], actions: list[dict[str, Any]]
) -> dict[str, Any]:
    created: dict[str, Any] = {
        "LoadBalancerArn": load_balancer_arn,
        "Port": params["port"],
        "Protocol": params["protocol"],
        "DefaultActions": actions,
    }
    if params["ssl_policy"]:
        created["SslPolicy"] = params["ssl_policy"]
    if params["certificate_arn"]:
        created["Certificates"] = [{"CertificateArn": params["certificate_arn"]}]
    if params["tags"]:
        created["Tags"] = ansible_dict_to_boto3_tag_list(params["tags"])
    return created


def described(listener: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
    """A listener as the module returns it: snake_cased, tags as a dict."""
    if not listener:
        return {}
    shown = camel_dict_to_snake_dict({k: v for k, v in listener.items() if k != "Tags"})
    shown.setdefault("listener_arn", None)
    shown["tags"] = dict(tags)
    return shown


def check_params(params: dict[str, Any]) -> None:
    if params["state"] == "absent":
        return
    if params["protocol"] not in TLS_PROTOCOLS:
        for name in ("ssl_policy", "certificate_arn"):
            if params[name]:
                raise ListenerError(f"{name} applies to HTTPS listeners only, not to protocol {params['protocol']}")
    if not params["default_actions"]:
        raise ListenerError("default_actions must list at least one action")


class ListenerManager:
    def __init__(self, module: WedSyncAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.client = module.client("elbv2")
        self.check_mode = module.check_mode

    def load_balancer_arn(self) -> str | None:
        if self.params["load_balancer_arn"]:
            return self.params["load_balancer_arn"]
        balancer = describe_load_balancer(self.client, self.params["load_balancer_name"])
        if balancer is None and not self.check_mode:
            raise ListenerError(f"load balancer {self.params['load_balancer_name']} not found")
        return balancer["LoadBalancerArn"] if balancer else None

    def current(self, load_balancer_arn: str | None) -> dict[str, Any] | None:
        if load_balancer_arn is None:
            return None
        listeners = describe_listeners(self.client, load_balancer_arn)
        if listeners is None:
            raise ListenerError(f"load balancer {load_balancer_arn} not found")
        return next((listener for listener in listeners if listener["Port"] == self.params["port"]), None)

    def run(self) -> dict[str, Any]:
        check_params(self.params)
        load_balancer_arn = self.load_balancer_arn()
        current = self.current(load_balancer_arn)
        before_tags = describe_tags(self.client, current["ListenerArn"]) if current else {}
        before = described(current, before_tags)
        if self.params["state"] == "absent":
            if current and not self.check_mode:
                delete_listener(self.client, current["ListenerArn"])
            return {
                "changed": bool(current),
                "listener": {},
                "default_actions_kept": False,
                "diff": {"before": before, "after": {}},
            }
        if current is None:
            after = self.create(load_balancer_arn)
            return {
                "changed": True,
                "listener": after,
                "default_actions_kept": False,
                "diff": {"before": {}, "after": after},
            }
        after, changed = self.update(current, before_tags)
        kept = bool(self.params["keep_default_actions"])
        return {
            "changed": changed,
            "listener": after,
            "default_actions_kept": kept,
            "diff": {"before": before, "after": after},
        }

    def create(self, load_balancer_arn: str | None) -> dict[str, Any]:
        actions = resolve_actions(self.client, self.params["default_actions"], self.check_mode)
        if self.params["protocol"] in TLS_PROTOCOLS and not self.params["certificate_arn"] and not self.check_mode:
            raise ListenerError(f"certificate_arn is required to create an {self.params['protocol']} listener")
        params = create_params(load_balancer_arn, self.params, actions)
        tags = self.params["tags"] or {}
        if self.check_mode:
            return described({"ListenerArn": None, **params}, tags)
        created = create_listener(self.client, params)
        return described(created, describe_tags(self.client, created["ListenerArn"]))

    def update(self, current: dict[str, Any], current_tags: dict[str, str]) -> tuple[dict[str, Any], bool]:
        actions = None
        if not self.params["keep_default_actions"]:
            actions = resolve_actions(self.client, self.params["default_actions"], self.check_mode)
        changes = listener_changes(current, self.params, actions)
        to_set, to_remove = {}, []
        if self.params["tags"] is not None:
            to_set, to_remove = compare_aws_tags(current_tags, self.params["tags"], self.params["purge_tags"])
        if not (changes or to_set or to_remove):
            return described(current, current_tags), False
        tags = {k: v for k, v in {**current_tags, **to_set}.items() if k not in to_remove}
        if self.check_mode:
            return described({**current, **changes}, tags), True
        arn = current["ListenerArn"]
        updated = modify_listener(self.client, arn, changes) if changes else current
        if to_remove:
            remove_tags(self.client, arn, to_remove)
        if to_set:
            add_tags(self.client, arn, to_set)
        return described(updated, describe_tags(self.client, arn)), True


def main() -> None:
    argument_spec = dict(
        load_balancer_name=dict(type="str"),
        load_balancer_arn=dict(type="str"),
        port=dict(type="int", required=True),
        protocol=dict(type="str", choices=["HTTP", "HTTPS"]),
        ssl_policy=dict(type="str"),
        certificate_arn=dict(type="str"),
        default_actions=dict(type="list", elements="dict"),
        keep_default_actions=dict(type="bool", default=False),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = WedSyncAWSModule(
        argument_spec=argument_spec,
        required_one_of=[("load_balancer_name", "load_balancer_arn")],
        mutually_exclusive=[("load_balancer_name", "load_balancer_arn")],
        required_if=[("state", "present", ("protocol", "default_actions"))],
        supports_check_mode=True,
    )
    try:
        result = ListenerManager(module).run()
    except ListenerError as e:
        module.fail_json(msg=str(e))
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
