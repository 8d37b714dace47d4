"""ELBv2: load balancers and target groups report the default attributes AWS reports.

moto 5.2.5 leaves out attributes AWS always returns, and the AWS collections read them
unconditionally once the matching option is set, so they failed with a KeyError:

- an Application Load Balancer lacks ``access_logs.s3.enabled``, ``idle_timeout.timeout_seconds`` and
  the ``routing.http.*`` settings; ``amazon.aws.elb_application_lb`` with access logs or an idle timeout
  failed;
- an HTTP(S) target group lacks ``stickiness.lb_cookie.duration_seconds`` and
  ``stickiness.app_cookie.duration_seconds``; ``community.aws.elb_target_group`` given a cookie duration
  failed.

The load_balancer role needs both. Only missing keys are added, with AWS's defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup

from twin.patching import patch_point

ALB_DEFAULTS = {
    "access_logs.s3.enabled": "false",
    "client_keep_alive.seconds": "3600",
    "connection_logs.s3.enabled": "false",
    "connection_logs.s3.bucket": "",
    "connection_logs.s3.prefix": "",
    "idle_timeout.timeout_seconds": "60",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.preserve_host_header.enabled": "false",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "routing.http.xff_header_processing.mode": "append",
    "routing.http2.enabled": "true",
    "waf.fail_open.enabled": "false",
    "zonal_shift.config.enabled": "false",
}
HTTP_TARGET_GROUP_DEFAULTS = {
    "stickiness.lb_cookie.duration_seconds": "86400",
    "stickiness.app_cookie.duration_seconds": "86400",
}


@patch_point(
    "moto.elbv2.models.FakeLoadBalancer.__init__",
    kind="wrap",
    params="self, ...",
    why="an Application Load Balancer reports the attributes AWS always reports",
)
def _load_balancer_defaults(original: Callable[..., None], self: FakeLoadBalancer, *args: Any, **kwargs: Any) -> None:
    original(self, *args, **kwargs)
    if self.type == "application":
        for key, value in ALB_DEFAULTS.items():
            self.attrs.setdefault(key, value)


@patch_point(
    "moto.elbv2.models.FakeTargetGroup.__init__",
    kind="wrap",
    params="self, ...",
    why="an HTTP(S) target group reports the stickiness durations AWS always reports",
)
def _target_group_defaults(original: Callable[..., None], self: FakeTargetGroup, *args: Any, **kwargs: Any) -> None:
    original(self, *args, **kwargs)
    if self.protocol in ("HTTP", "HTTPS"):
        for key, value in HTTP_TARGET_GROUP_DEFAULTS.items():
            self.attributes.setdefault(key, value)
