"""CloudFront: a distribution's configuration reads back as CloudFront returns it.

moto 5.2.5 returns fields CloudFront leaves out when they are unset (empty CachePolicyId,
OriginRequestPolicyId and RealtimeLogConfigArn on every cache behaviour, empty Items beside a zero
Quantity of trusted signers and key groups, an empty IAMCertificateId), and reports an ACM viewer
certificate as CloudFront's default one (CertificateSource "cloudfront", no Certificate).
community.aws.cloudfront_distribution compares the configuration it wants with the one it reads,
so these made the edge role's distribution look changed on every run, and the certificate checks of
its verification read the wrong source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.cloudfront.models import (
    DefaultCacheBehaviour,
    TrustedKeyGroups,
    TrustedSigners,
    ViewerCertificate,
)

from twin.patching import patch_point

# Cache behaviour fields CloudFront omits unless they are set.
OPTIONAL_BEHAVIOUR_FIELDS = (
    "cache_policy_id",
    "origin_request_policy_id",
    "response_headers_policy_id",
    "realtime_log_config_arn",
)


@patch_point(
    "moto.cloudfront.models.DefaultCacheBehaviour.__init__",
    kind="wrap",
    params="self, ...",
    why="unset policy and log fields are left out, as CloudFront leaves them",
)
@patch_point(
    "moto.cloudfront.models.CacheBehaviour.__init__",
    kind="wrap",
    params="self, ...",
    why="unset policy and log fields are left out, as CloudFront leaves them",
)
def _omit_unset_behaviour_fields(
    original: Callable[..., None], self: DefaultCacheBehaviour, *args: Any, **kwargs: Any
) -> None:
    original(self, *args, **kwargs)
    for name in OPTIONAL_BEHAVIOUR_FIELDS:
        if not getattr(self, name, None):
            setattr(self, name, None)


@patch_point(
    "moto.cloudfront.models.TrustedSigners.__init__",
    kind="wrap",
    params="self, ...",
    why="no empty Items beside a zero Quantity",
)
@patch_point(
    "moto.cloudfront.models.TrustedKeyGroups.__init__",
    kind="wrap",
    params="self, ...",
    why="no empty Items beside a zero Quantity",
)
def _omit_empty_items(
    original: Callable[..., None], self: TrustedSigners | TrustedKeyGroups, *args: Any, **kwargs: Any
) -> None:
    original(self, *args, **kwargs)
    if not self.items:
        self.items = None  # type: ignore[assignment]


def viewer_certificate_source(config: dict[str, Any]) -> tuple[str, str | None]:
    """CertificateSource and Certificate, as CloudFront derives them from the certificate given."""
    if config.get("ACMCertificateArn"):
        return "acm", config["ACMCertificateArn"]
    if config.get("IAMCertificateId"):
        return "iam", config["IAMCertificateId"]
    return "cloudfront", None


@patch_point(
    "moto.cloudfront.models.ViewerCertificate.__init__",
    kind="wrap",
    params="self, config",
    why="an ACM or IAM certificate is reported as the distribution's certificate source",
)
def _viewer_certificate(original: Callable[..., None], self: ViewerCertificate, config: dict[str, Any]) -> None:
    original(self, config)
    self.certificate_source, self.certificate = viewer_certificate_source(config)
    if self.certificate_source != "cloudfront":
        self.cloud_front_default_certificate = False
    self.acm_certificate_arn = config.get("ACMCertificateArn") or None
    self.iam_certificate_id = config.get("IAMCertificateId") or None
