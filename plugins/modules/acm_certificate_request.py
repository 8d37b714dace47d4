#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: acm_certificate_request
version_added: 0.1.0
short_description: Request an ACM public certificate, find it again by name, and wait for its validation
description:
  - Requests a public certificate from AWS Certificate Manager for a domain name and its
    alternative names, with DNS (or email) validation, and tags it with O(name).
  - A certificate is never changed in ACM, so the one to use is found by its C(Name) tag and its names;
    a pending or issued certificate tagged O(name) for exactly O(domain_name) and
    O(subject_alternative_names), with O(key_algorithm) and O(validation_method), is reused (an issued
    one before a pending one, the newest first); when none is, a new one is requested. Certificates
    tagged O(name) for other names are left alone, since a listener or distribution may still use them.
  - Returns the DNS records that validate the certificate, for a task that writes them to DNS, and can
    wait until ACM has issued it.
  - M(community.aws.acm_certificate) imports certificates; this module requests them.
  - With O(wait=true), waits until ACM has issued the certificate, which for DNS validation means its
    validation records are in DNS, and fails if ACM reports validation failed or timed out.
    O(wait_timeout) also bounds the wait for ACM to publish the validation records of a new certificate.
  - The certificate's C(Name) tag is always O(name); O(tags) gives the others.
options:
  wait_timeout:
    default: 900
  name:
    description:
      - The certificate's C(Name) tag, which identifies it to this module.
    type: str
    required: true
  domain_name:
    description:
      - The certificate's primary domain name, for example C(wedsync.com). A wildcard such as
        C(*.wedsync.com) is allowed.
      - Required with O(state=present).
    type: str
  subject_alternative_names:
    description:
      - Further names the certificate covers, for example C(*.wedsync.com).
      - O(domain_name) may be listed again; it is covered either way.
    type: list
    elements: str
    default: []
  validation_method:
    description:
      - How ACM validates that the domains are yours.
    type: str
    choices: [DNS, EMAIL]
    default: DNS
  key_algorithm:
    description:
      - The algorithm of the certificate's key pair.
    type: str
    choices: [RSA_2048, EC_prime256v1, EC_secp384r1]
    default: RSA_2048
  state:
    description:
      - V(present) makes sure a matching certificate exists.
      - V(absent) deletes every certificate tagged O(name), whatever its names; ACM refuses to delete
        one that is in use.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    details:
      - Returns the certificate that would be used; one that would be requested has a null ARN,
        status C(PENDING_VALIDATION) and no validation records yet.
  diff_mode:
    support: full
    details: C(before) and C(after) describe the certificate's ARN, names, status and tags.
notes:
  - A certificate for CloudFront must be requested in us-east-1; one for a load balancer, in the load
    balancer's region.
extends_documentation_fragment: [wedsync.platform.aws, wedsync.platform.wait,
  amazon.aws.common.modules, amazon.aws.region.modules, amazon.aws.tags, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Request the load balancer's certificate
  wedsync.platform.acm_certificate_request:
    name: wedsync-production-alb
    domain_name: wedsync.com
    subject_alternative_names:
      - "*.wedsync.com"
    tags:
      Project: wedsync
  register: certificate

- name: Write its validation records to Route 53
  amazon.aws.route53:
    zone: wedsync.com
    record: "{{ item.name }}"
    type: "{{ item.type }}"
    value: "{{ item.value }}"
    ttl: 300
    overwrite: true
    state: present
  loop: "{{ certificate.validation_records }}"

- name: Wait for ACM to issue it
  wedsync.platform.acm_certificate_request:
    name: wedsync-production-alb
    domain_name: wedsync.com
    subject_alternative_names:
      - "*.wedsync.com"
    wait: true
    wait_timeout: 1800
  when: certificate.certificate.status != 'ISSUED'

- name: Delete every certificate named wedsync-staging-alb
  wedsync.platform.acm_certificate_request:
    name: wedsync-staging-alb
    state: absent
"""

RETURN = r"""
certificate:
  description: The certificate after the task (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    certificate_arn:
      description: The certificate's ARN; null for one that check mode would request.
      type: str
      sample: arn:aws:acm:us-east-1:123456789012:certificate/5f2a9a51-0c6e-4cc4-9a6c-3f6f0e9e1a2b
    domain_name:
      description: The primary domain name.
      type: str
      sample: wedsync.com
    subject_alternative_names:
      description: Every name the certificate covers, the primary one included, sorted.
      type: list
      elements: str
      sample: ["*.wedsync.com", "wedsync.com"]
    status:
      description: The ACM status, such as C(PENDING_VALIDATION) or C(ISSUED).
      type: str
      sample: ISSUED
    key_algorithm:
      description: The key algorithm.
      type: str
      sample: RSA_2048
    validation_method:
      description: How the domains are validated.
      type: str
      sample: DNS
    in_use_by:
      description: ARNs of the resources that use the certificate.
      type: list
      elements: str
      sample: []
    not_after:
      description: When the certificate expires (ISO 8601), once issued.
      type: str
      sample: "2026-12-24T23:59:59+00:00"
    domain_validation_options:
      description: Per domain name, its validation status and DNS record, as ACM reports them, snake_cased.
      type: list
      elements: dict
    tags:
      description: The certificate's tags.
      type: dict
      sample: {"Name": "wedsync-production-alb", "Project": "wedsync"}
validation_records:
  description:
    - The DNS records that validate the certificate, each once (a name and its wildcard share one).
    - Empty for email validation and before ACM has published them.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The record name.
      type: str
      sample: _3639ac514e785e898d2646601fa951d5.wedsync.com.
    type:
      description: The record type.
      type: str
      sample: CNAME
    value:
      description: The record value.
      type: str
      sample: _98d2646601fa951d53639ac514e785e8.acm-validations.aws.
deleted_certificate_arns:
  description: With O(state=absent), the certificates deleted (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: []
"""

import time
from typing import Any

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list, compare_aws_tags
from ansible_collections.wedsync.platform.plugins.module_utils._acm import (
    add_tags,
    delete_certificate,
    describe_certificate,
    list_certificates,
    list_tags,
    remove_tags,
    request_certificate,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule

# Certificates that can still serve, or will once validated; anything else is never reused.
REUSABLE_STATUSES = ["ISSUED", "PENDING_VALIDATION"]
FAILED_STATUSES = ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED")
POLL_SECONDS = 10.0
RECORDS_POLL_SECONDS = 2.0


class CertificateError(Exception):
    """State that stops the module with a message."""


# -- matching ----------------------------------------------------------------------------------


def wanted_names(domain_name: str, alternative_names: list[str]) -> list[str]:
    """Every name the certificate must cover, as ACM reports them: lower case, primary included."""
    return sorted({name.lower() for name in [domain_name, *alternative_names]})


def key_algorithm_of(certificate: dict[str, Any]) -> str:
    # ACM has reported RSA-2048 as well as RSA_2048.
    return str(certificate.get("KeyAlgorithm", "")).replace("-", "_")


def validation_method_of(certificate: dict[str, Any]) -> str | None:
    methods = {o.get("ValidationMethod") for o in certificate.get("DomainValidationOptions") or []}
    methods.discard(None)
    return methods.pop() if len(methods) == 1 else None


def matches(certificate: dict[str, Any], params: dict[str, Any]) -> bool:
    names = certificate.get("SubjectAlternativeNames") or [certificate.get("DomainName", "")]
    return (
        str(certificate.get("DomainName", "")).lower() == params["domain_name"].lower()
        and wanted_names(certificate.get("DomainName", ""), names)
        == wanted_names(params["domain_name"], params["subject_alternative_names"])
        and key_algorithm_of(certificate) == params["key_algorithm"]
        and validation_method_of(certificate) in (None, params["validation_method"])
    )


def preference(certificate: dict[str, Any]) -> tuple[bool, float]:
    """Issued before pending, then the newest."""
    created = certificate.get("CreatedAt")
    return (certificate.get("Status") == "ISSUED", created.timestamp() if created else 0.0)


def validation_records(certificate: dict[str, Any]) -> list[dict[str, str]]:
    records: dict[tuple[str, str], dict[str, str]] = {}
    for option in certificate.get("DomainValidationOptions") or []:
        record = option.get("ResourceRecord")
        if record:
            records[(record["Name"], record["Type"])] = {
                "name": record["Name"],
                "type": record["Type"],
                "value": record["Value"],
            }
    return [records[key] for key in sorted(records)]


def records_pending(certificate: dict[str, Any]) -> bool:
    options = certificate.get("DomainValidationOptions") or []
    dns = [o for o in options if o.get("ValidationMethod", "DNS") == "DNS"]
    return not options or any(not o.get("ResourceRecord") for o in dns)


def described(certificate: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
    if not certificate:
        return {}
    not_after = certificate.get("NotAfter")
    return {
        "certificate_arn": certificate.get("CertificateArn"),
        "domain_name": certificate.get("DomainName"),
        "subject_alternative_names": wanted_names(
            certificate.get("DomainName", ""), certificate.get("SubjectAlternativeNames") or []
        ),
        "status": certificate.get("Status"),
        "key_algorithm": key_algorithm_of(certificate),
        "validation_method": validation_method_of(certificate),
        "in_use_by": list(certificate.get("InUseBy") or []),
        "not_after": not_after.isoformat() if not_after else None,
        "domain_validation_options": [
            camel_dict_to_snake_dict(o) for o in certificate.get("DomainValidationOptions") or []
        ],
        "tags": dict(tags),
    }


def diff_view(shown: dict[str, Any]) -> dict[str, Any]:
    keys = ("certificate_arn", "domain_name", "subject_alternative_names", "status", "tags")
    return {key: shown[key] for key in keys} if shown else {}


# -- the module --------------------------------------------------------------------------------


class CertificateManager:
    def __init__(self, module: WedSyncAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.client = module.client("acm")
        self.check_mode = module.check_mode

    def named(self, statuses: list[str] | None, domain_name: str | None) -> list[tuple[dict[str, Any], dict[str, str]]]:
        """The certificates tagged with this name (and for this primary domain, if given), with their tags."""
        found = []
        for summary in list_certificates(self.client, statuses):
            if domain_name and str(summary.get("DomainName", "")).lower() != domain_name.lower():
                continue
            tags = list_tags(self.client, summary["CertificateArn"])
            if tags.get("Name") != self.params["name"]:
                continue
            certificate = describe_certificate(self.client, summary["CertificateArn"])
            if certificate:
                found.append((certificate, tags))
        return found

    def desired_tags(self) -> dict[str, str] | None:
        if self.params["tags"] is None:
            return None
        return {**self.params["tags"], "Name": self.params["name"]}

    def absent(self) -> dict[str, Any]:
        found = self.named(None, None)
        arns = [certificate["CertificateArn"] for certificate, _ in found]
        if not self.check_mode:
            for arn in arns:
                delete_certificate(self.client, arn)
        before = diff_view(described(*found[0])) if len(found) == 1 else {"certificate_arns": arns}
        return {
            "changed": bool(arns),
            "certificate": {},
            "validation_records": [],
            "deleted_certificate_arns": arns,
            "diff": {"before": before if arns else {}, "after": {}},
        }

    def present(self) -> dict[str, Any]:
        candidates = [
            pair for pair in self.named(REUSABLE_STATUSES, self.params["domain_name"]) if matches(pair[0], self.params)
        ]
        if candidates:
            certificate, tags = max(candidates, key=lambda pair: preference(pair[0]))
            before = described(certificate, tags)
            tags, changed = self.update_tags(certificate["CertificateArn"], tags)
        else:
            before = {}
            certificate, tags = self.request()
            changed = True
        if certificate.get("CertificateArn") and not self.check_mode:
            certificate = self.wait_for(certificate)
        after = described(certificate, tags)
        return {
            "changed": changed,
            "certificate": after,
            "validation_records": validation_records(certificate),
            "deleted_certificate_arns": [],
            "diff": {"before": diff_view(before), "after": diff_view(after)},
        }

    def update_tags(self, arn: str, current: dict[str, str]) -> tuple[dict[str, str], bool]:
        desired = self.desired_tags()
        if desired is None:
            return current, False
        to_set, to_remove = compare_aws_tags(current, desired, self.params["purge_tags"])
        if not (to_set or to_remove):
            return current, False
        if not self.check_mode:
            if to_remove:
                remove_tags(self.client, arn, {key: current[key] for key in to_remove})
            if to_set:
                add_tags(self.client, arn, to_set)
            return list_tags(self.client, arn), True
        return {k: v for k, v in {**current, **to_set}.items() if k not in to_remove}, True

    def request(self) -> tuple[dict[str, Any], dict[str, str]]:
        names = wanted_names(self.params["domain_name"], self.params["subject_alternative_names"])
        tags = self.desired_tags() or {"Name": self.params["name"]}
        predicted = {
            "CertificateArn": None,
            "DomainName": self.params["domain_name"].lower(),
            "SubjectAlternativeNames": names,
            "Status": "PENDING_VALIDATION",
            "KeyAlgorithm": self.params["key_algorithm"],
            "DomainValidationOptions": [],
        }
        if self.check_mode:
            return predicted, tags
        params: dict[str, Any] = {
            "DomainName": self.params["domain_name"],
            "ValidationMethod": self.params["validation_method"],
            "KeyAlgorithm": self.params["key_algorithm"],
            "Tags": ansible_dict_to_boto3_tag_list(tags),
        }
        others = [n for n in names if n != self.params["domain_name"].lower()]
        if others:
            params["SubjectAlternativeNames"] = [self.params["domain_name"], *others]
        arn = request_certificate(self.client, params)
        return {**predicted, "CertificateArn": arn}, list_tags(self.client, arn) or tags

    def wait_for(self, certificate: dict[str, Any]) -> dict[str, Any]:
        """The certificate once its validation records are published and, with wait, once it is issued."""
        arn = certificate["CertificateArn"]
        deadline = time.monotonic() + self.params["wait_timeout"]
        dns = self.params["validation_method"] == "DNS"
        while True:
            current = describe_certificate(self.client, arn) or certificate
            status = current.get("Status")
            if status in FAILED_STATUSES:
                raise CertificateError(
                    f"certificate {arn} is {status}: {current.get('FailureReason', 'no reason given')}"
                )
            records_ready = not dns or status == "ISSUED" or not records_pending(current)
            if records_ready and (status == "ISSUED" or not self.params["wait"]):
                return current
            if time.monotonic() >= deadline:
                raise CertificateError(self.timeout_message(current, records_ready))
            time.sleep(POLL_SECONDS if records_ready else RECORDS_POLL_SECONDS)

    def timeout_message(self, certificate: dict[str, Any], records_ready: bool) -> str:
        arn, timeout = certificate["CertificateArn"], self.params["wait_timeout"]
        if not records_ready:
            return f"ACM published no validation records for certificate {arn} within {timeout} s"
        records = "; ".join(f"{r['name']} {r['type']} {r['value']}" for r in validation_records(certificate))
        how = f"create these DNS records: {records}" if records else "confirm the validation emails"
        return f"certificate {arn} is still {certificate.get('Status')} after {timeout} s: {how}"


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        domain_name=dict(type="str"),
        subject_alternative_names=dict(type="list", elements="str", default=[]),
        validation_method=dict(type="str", choices=["DNS", "EMAIL"], default="DNS"),
        key_algorithm=dict(type="str", choices=["RSA_2048", "EC_prime256v1", "EC_secp384r1"], default="RSA_2048"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=900),
    )
    module = WedSyncAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ("domain_name",))],
        supports_check_mode=True,
    )
    manager = CertificateManager(module)
    try:
        result = manager.present() if module.params["state"] == "present" else manager.absent()
    except CertificateError as e:
        module.fail_json(msg=str(e))
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
