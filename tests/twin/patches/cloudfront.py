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
    CacheBehaviour,
    DefaultCacheBehaviour,
    TrustedKeyGroups,
    TrustedSigners,
    ViewerCertificate,
)

# Cache behaviour fields CloudFront omits unless they are set.
OPTIONAL_BEHAVIOUR_FIELDS = (
    "cache_policy_id",
    "origin_request_policy_id",
    "response_headers_policy_id",
    "realtime_log_config_arn",
)


def _after_init(cls: type, fix: Callable[[Any], None]) -> None:
    original = cls.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        fix(self)

    cls.__init__ = __init__  # type: ignore[misc]


def _omit_unset_behaviour_fields(behaviour: DefaultCacheBehaviour) -> None:
    for name in OPTIONAL_BEHAVIOUR_FIELDS:
        if not getattr(behaviour, name, None):
            setattr(behaviour, name, None)


def _omit_empty_items(signers: TrustedSigners | TrustedKeyGroups) -> None:
    if not signers.items:
        signers.items = None  # type: ignore[assignment]


def viewer_certificate_source(config: dict[str, Any]) -> tuple[str, str | None]:
    """CertificateSource and Certificate, as CloudFront derives them from the certificate given."""
    if config.get("ACMCertificateArn"):
        return "acm", config["ACMCertificateArn"]
    if config.get("IAMCertificateId"):
        return "iam", config["IAMCertificateId"]
    return "cloudfront", None


def _viewer_certificate(original: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: ViewerCertificate, config: dict[str, Any]) -> None:
        original(self, config)
        self.certificate_source, self.certificate = viewer_certificate_source(config)
        if self.certificate_source != "cloudfront":
            self.cloud_front_default_certificate = False
        self.acm_certificate_arn = config.get("ACMCertificateArn") or None
        self.iam_certificate_id = config.get("IAMCertificateId") or None

    return __init__


def install() -> None:
    _after_init(DefaultCacheBehaviour, _omit_unset_behaviour_fields)
    _after_init(CacheBehaviour, _omit_unset_behaviour_fields)
    _after_init(TrustedSigners, _omit_empty_items)
    _after_init(TrustedKeyGroups, _omit_empty_items)
    ViewerCertificate.__init__ = _viewer_certificate(ViewerCertificate.__init__)  # type: ignore[method-assign]
