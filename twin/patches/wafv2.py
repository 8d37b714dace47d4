"""WAFv2: list the resources of a web ACL, and move a resource between web ACLs as AWS does.

moto 5.2.5 lacks ListResourcesForWebACL, which community.aws.wafv2_resources(_info) call to decide
whether an ALB is associated (the edge role associates its regional web ACL with the ALB); and
AssociateWebACL adds a resource to a second web ACL while it stays in the first, where AWS moves it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from moto.core.common_types import TYPE_RESPONSE
from moto.wafv2.exceptions import WAFNonexistentItemException
from moto.wafv2.models import WAFV2Backend
from moto.wafv2.responses import WAFV2Response

from twin.patching import patch_point

# What each ResourceType of ListResourcesForWebACL selects, by ARN; AWS defaults to ALBs.
RESOURCE_TYPES = {
    "APPLICATION_LOAD_BALANCER": r":elasticloadbalancing:[^:]*:[^:]*:loadbalancer/app/",
    "API_GATEWAY": r":apigateway:",
    "APPSYNC": r":appsync:",
    "COGNITO_USER_POOL": r":cognito-idp:",
    "APP_RUNNER_SERVICE": r":apprunner:",
    "VERIFIED_ACCESS_INSTANCE": r":ec2:[^:]*:[^:]*:verified-access-instance/",
    "AMPLIFY": r":amplify:",
}


def resources_for_web_acl(backend: WAFV2Backend, web_acl_arn: str, resource_type: str) -> list[str]:
    web_acl = backend.wacls.get(web_acl_arn)
    if web_acl is None:
        raise WAFNonexistentItemException
    pattern = re.compile(RESOURCE_TYPES[resource_type])
    return [arn for arn in web_acl.associated_resources if pattern.search(arn)]


@patch_point(
    "moto.wafv2.responses.WAFV2Response.list_resources_for_web_acl",
    kind="add",
    why="community.aws.wafv2_resources decides whether an ALB is associated with it",
)
def list_resources_for_web_acl(self: WAFV2Response) -> TYPE_RESPONSE:
    body = json.loads(self.body)
    arns = resources_for_web_acl(
        self.wafv2_backend, body["WebACLArn"], body.get("ResourceType") or "APPLICATION_LOAD_BALANCER"
    )
    return 200, {"Content-Type": "application/json"}, json.dumps({"ResourceArns": arns})


@patch_point(
    "moto.wafv2.models.WAFV2Backend.associate_web_acl",
    kind="wrap",
    params="self, web_acl_arn, resource_arn",
    why="associating a resource moves it from the web ACL it was in",
)
def _associate_web_acl(original: Callable[..., None], self: WAFV2Backend, web_acl_arn: str, resource_arn: str) -> None:
    if web_acl_arn not in self.wacls:
        raise WAFNonexistentItemException
    for web_acl in self.wacls.values():
        while resource_arn in web_acl.associated_resources:
            web_acl.associated_resources.remove(resource_arn)
    original(self, web_acl_arn, resource_arn)
