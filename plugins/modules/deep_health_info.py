#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: deep_health_info
version_added: 0.1.0
short_description: Read the facts of a deep health check that the estate's description does not hold
description:
  - Reads, for one region, what the hourly deep health check needs beyond M(wedsync.platform.estate_info),
    that is the ACM certificates with their expiry and users; the Secrets Manager secrets of a name prefix
    with their replication status in each replica region; and the Redis replication group as a client
    reaches it, connecting to its primary endpoint with TLS, authenticating with its AUTH token, timing a
    C(PING) and reading C(INFO replication).
  - Returns facts, no verdicts; the runbook decides what is healthy.
  - A cache that cannot be reached (refused, timed out, TLS not verified, C(WRONGPASS), no such group,
    no readable AUTH token) is a fact in RV(cache.error), not a failure of the task. AWS errors other than
    a missing resource fail it.
  - Written because no amazon.aws or community.aws module reads the replication status of secrets
    (M(community.aws.secretsmanager_secret) manages one secret) or speaks to a Redis endpoint.
options:
  certificate_domains:
    description:
      - Only the certificates whose primary domain name matches one of these shell-style patterns
        (C(*), C(?), C([...]), not case-sensitive), e.g. C(*wedsync.com). Empty reads every certificate.
    type: list
    elements: str
    default: []
  secret_prefix:
    description:
      - Read the secrets whose name starts with this (case-sensitive), e.g. C(wedsync/production/).
      - Without it RV(secrets) is null. Only metadata is read, never a secret's value.
    type: str
  cache:
    description:
      - The Redis replication group to probe; without it RV(cache) is null.
    type: dict
    suboptions:
      replication_group_id:
        description: The replication group, e.g. C(wedsync-production-redis).
        type: str
        required: true
      auth_secret_id:
        description: The name or ARN of the Secrets Manager secret holding the AUTH token, a JSON object.
        type: str
        required: true
      auth_secret_key:
        description: The key of the AUTH token in that JSON object.
        type: str
        default: auth_token
      tls:
        description:
          - Connect with TLS, the server's certificate and host name verified, as a group with in-transit
            encryption requires; V(false) connects with plain TCP.
        type: bool
        default: true
      ca_bundle:
        description:
          - A PEM file of the certificates that may sign the server's; the system's trust store when omitted.
          - On the local twin, C($WEDSYNC_TWIN_CA_BUNDLE).
        type: path
      timeout:
        description: Seconds each network operation of the probe (connect, handshake, each command) may take.
        type: float
        default: 5.0
attributes:
  check_mode:
    support: full
    details: The module only reads; the cache probe sends C(AUTH), C(PING) and C(INFO) only.
notes:
  - The AUTH token is marked as a value no output may show; it is never returned.
  - Dates are ISO 8601 in UTC.
seealso:
  - module: wedsync.platform.estate_info
  - module: community.aws.acm_certificate_info
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules, amazon.aws.region.modules,
  amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Read the certificates, secrets and cache of the primary region
  wedsync.platform.deep_health_info:
    region: us-east-1
    certificate_domains: ["*wedsync.com"]
    secret_prefix: wedsync/production/
    cache:
      replication_group_id: wedsync-production-redis
      auth_secret_id: wedsync/production/redis
  register: deep

- name: The secrets with a replica not in sync
  ansible.builtin.debug:
    msg: "{{ deep.secrets | subelements('replication') | rejectattr('1.status', 'eq', 'InSync') | map(attribute='0.name') }}"

- name: The cache answered
  ansible.builtin.assert:
    that: deep.cache.reachable
    fail_msg: "Redis: {{ deep.cache.error }}"

- name: The cache on the local twin, verified against the twin's CA
  wedsync.platform.deep_health_info:
    region: us-east-1
    cache:
      replication_group_id: wedsync-local-redis
      auth_secret_id: wedsync/local/redis
      ca_bundle: "{{ lookup('ansible.builtin.env', 'WEDSYNC_TWIN_CA_BUNDLE') }}"
"""

RETURN = r"""
certificates:
  description: The region's ACM certificates of every status and key type (those O(certificate_domains)
    matches), sorted by domain name and ARN.
  returned: always
  type: list
  elements: dict
  contains:
    certificate_arn:
      description: Its ARN.
      type: str
      sample: arn:aws:acm:us-east-1:123456789012:certificate/0b7e3c55-7d0e-4a8e-9a43-2f4b1c6d8e90
    domain_name:
      description: Its primary domain name, which O(certificate_domains) matches.
      type: str
      sample: api.wedsync.com
    subject_alternative_names:
      description: Every name the certificate covers, sorted.
      type: list
      elements: str
      sample: ["*.wedsync.com", "wedsync.com"]
    status:
      description: The ACM status, such as C(ISSUED), C(PENDING_VALIDATION) or C(EXPIRED).
      type: str
      sample: ISSUED
    not_after:
      description: When the certificate expires; null for one not issued.
      type: str
      sample: "2027-03-01T23:59:59+00:00"
    in_use_by:
      description: The ARNs of the resources using the certificate.
      type: list
      elements: str
      sample: ["arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/wedsync-production-alb/50dc6c495c0c9188"]
    renewal_eligibility:
      description: Whether ACM can renew the certificate (C(ELIGIBLE), C(INELIGIBLE)).
      type: str
      sample: ELIGIBLE
    type:
      description: C(AMAZON_ISSUED), C(IMPORTED) or C(PRIVATE).
      type: str
      sample: AMAZON_ISSUED
secrets:
  description: The secrets whose name starts with O(secret_prefix), sorted by name; null without O(secret_prefix).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The secret's name.
      type: str
      sample: wedsync/production/database
    arn:
      description: The secret's ARN.
      type: str
      sample: arn:aws:secretsmanager:us-east-1:123456789012:secret:wedsync/production/database-AbCdEf
    last_changed_date:
      description: When the secret was last changed; null if never.
      type: str
      sample: "2026-11-30T02:00:00+00:00"
    rotation_enabled:
      description: Whether automatic rotation is on.
      type: bool
      sample: true
    replication:
      description: The secret's replicas, one per region, sorted by region; empty for a secret not replicated.
      type: list
      elements: dict
      contains:
        region:
          description: The replica's region.
          type: str
          sample: us-west-2
        status:
          description: C(InSync), C(Failed) or C(InProgress).
          type: str
          sample: InSync
        status_message:
          description: Why, when Secrets Manager says.
          type: str
          sample: Replication succeeded
        last_accessed_date:
          description: The day the replica was last read; null if never.
          type: str
          sample: "2026-12-07T00:00:00+00:00"
cache:
  description: What the probe of O(cache.replication_group_id) found; null without O(cache).
  returned: always
  type: dict
  contains:
    replication_group_id:
      description: The replication group probed.
      type: str
      sample: wedsync-production-redis
    address:
      description: Its primary endpoint's address; null when the group or its endpoint is not there.
      type: str
      sample: master.wedsync-production-redis.abc123.use1.cache.amazonaws.com
    port:
      description: Its primary endpoint's port; null when the group or its endpoint is not there.
      type: int
      sample: 6379
    reachable:
      description: Whether the endpoint answered C(PING) after C(AUTH).
      type: bool
      sample: true
    ping_seconds:
      description: The round trip of that C(PING), in seconds; null when not answered.
      type: float
      sample: 0.000412
    role:
      description: C(master) or C(slave), from C(INFO replication); null when not read.
      type: str
      sample: master
    connected_slaves:
      description: The replicas connected to it, from C(INFO replication); null when not read.
      type: int
      sample: 2
    error:
      description: The step that failed (C(connect), C(TLS handshake), C(AUTH), C(PING), C(INFO replication),
        or reading the group or token) and why; null when every step answered.
      type: str
      sample: "AUTH: WRONGPASS invalid username-password pair or user is disabled."
"""

import fnmatch
import json
import ssl
from datetime import UTC, datetime
from typing import Any

from ansible_collections.wedsync.platform.plugins.module_utils import _acm, _elasticache, _secretsmanager
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule
from ansible_collections.wedsync.platform.plugins.module_utils.redis_probe import probe, tls_context, unreachable


def iso_utc(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def domain_wanted(domain: str, patterns: list[str]) -> bool:
    # Domain names are not case-sensitive; fnmatch would follow the OS (it is on Windows only).
    return not patterns or any(fnmatch.fnmatchcase(domain.lower(), p.lower()) for p in patterns)


def certificate_facts(certificate: dict[str, Any]) -> dict[str, Any]:
    return {
        "certificate_arn": certificate["CertificateArn"],
        "domain_name": certificate["DomainName"],
        "subject_alternative_names": sorted(certificate.get("SubjectAlternativeNames") or []),
        "status": certificate["Status"],
        "not_after": iso_utc(certificate.get("NotAfter")),
        "in_use_by": list(certificate.get("InUseBy") or []),
        "renewal_eligibility": certificate.get("RenewalEligibility"),
        "type": certificate.get("Type"),
    }


def secret_facts(secret: dict[str, Any]) -> dict[str, Any]:
    replicas = sorted(secret.get("ReplicationStatus") or [], key=lambda r: r["Region"])
    return {
        "name": secret["Name"],
        "arn": secret["ARN"],
        "last_changed_date": iso_utc(secret.get("LastChangedDate")),
        "rotation_enabled": bool(secret.get("RotationEnabled")),
        "replication": [
            {
                "region": r["Region"],
                "status": r.get("Status"),
                "status_message": r.get("StatusMessage"),
                "last_accessed_date": iso_utc(r.get("LastAccessedDate")),
            }
            for r in replicas
        ],
    }


def read_certificates(client, patterns: list[str]) -> list[dict[str, Any]]:
    summaries = _acm.list_certificates(client, _acm.STATUSES)
    wanted = [s["CertificateArn"] for s in summaries if domain_wanted(s.get("DomainName", ""), patterns)]
    described = (_acm.describe_certificate(client, arn) for arn in wanted)
    # A certificate deleted between the list and its description is simply gone.
    facts = [certificate_facts(c) for c in described if c]
    return sorted(facts, key=lambda c: (c["domain_name"], c["certificate_arn"]))


def read_secrets(client, prefix: str) -> list[dict[str, Any]]:
    # ListSecrets' name filter is a case-sensitive prefix match, but a value starting with "!" negates it.
    names = sorted(s["Name"] for s in _secretsmanager.list_secrets(client, prefix) if s["Name"].startswith(prefix))
    described = (_secretsmanager.describe_secret(client, name) for name in names)
    return [secret_facts(s) for s in described if s]


class CacheUnreadable(Exception):
    """What the probe needs from AWS is not there: the check cannot reach the cache as a client would."""


def primary_endpoint(client, replication_group_id: str) -> dict[str, Any]:
    groups = _elasticache.describe_replication_groups(client, replication_group_id)
    if not groups:
        raise CacheUnreadable(f"no replication group {replication_group_id}")
    endpoint = next((g["PrimaryEndpoint"] for g in groups[0].get("NodeGroups") or [] if g.get("PrimaryEndpoint")), None)
    if not endpoint:
        raise CacheUnreadable(f"{replication_group_id} has no primary endpoint (status {groups[0].get('Status')})")
    return endpoint


def auth_token(module: WedSyncAWSModule, client, secret_id: str, key: str) -> str:
    """The token, marked no_log the moment it is read; errors never quote the secret."""
    secret = _secretsmanager.get_secret_value(client, secret_id)
    if secret is None:
        raise CacheUnreadable(f"no secret {secret_id}")
    try:
        value = json.loads(secret.get("SecretString") or "")
    except ValueError:
        value = None
    token = value.get(key) if isinstance(value, dict) else None
    if not isinstance(token, str) or not token:
        raise CacheUnreadable(f"the secret {secret_id} is not a JSON object with a string {key}")
    module.no_log_values.add(token)
    return token


def read_cache(module: WedSyncAWSModule, options: dict[str, Any], context: ssl.SSLContext | None) -> dict[str, Any]:
    group_id = options["replication_group_id"]
    facts: dict[str, Any] = {"replication_group_id": group_id, "address": None, "port": None}
    try:
        endpoint = primary_endpoint(module.client("elasticache"), group_id)
        facts.update(address=endpoint["Address"], port=endpoint["Port"])
        token = auth_token(
            module, module.client("secretsmanager"), options["auth_secret_id"], options["auth_secret_key"]
        )
    except CacheUnreadable as unreadable:
        return {**facts, **unreachable(str(unreadable))}
    return {**facts, **probe(facts["address"], facts["port"], token, options["timeout"], context)}


def probe_context(module: WedSyncAWSModule, options: dict[str, Any]) -> ssl.SSLContext | None:
    """The TLS context of the probe; an unreadable ca_bundle is the task's error, not the cache's."""
    if not options["tls"]:
        return None
    try:
        return tls_context(options["ca_bundle"])
    except (OSError, ssl.SSLError) as e:
        module.fail_json(msg=f"cannot use cache.ca_bundle {options['ca_bundle']}: {e}")


def main() -> None:
    module = WedSyncAWSModule(
        argument_spec={
            "certificate_domains": {"type": "list", "elements": "str", "default": []},
            "secret_prefix": {"type": "str", "no_log": False},
            "cache": {
                "type": "dict",
                "options": {
                    "replication_group_id": {"type": "str", "required": True},
                    "auth_secret_id": {"type": "str", "required": True, "no_log": False},
                    "auth_secret_key": {"type": "str", "default": "auth_token", "no_log": False},
                    "tls": {"type": "bool", "default": True},
                    "ca_bundle": {"type": "path"},
                    "timeout": {"type": "float", "default": 5.0},
                },
            },
        },
        supports_check_mode=True,
    )
    params = module.params
    context = probe_context(module, params["cache"]) if params["cache"] else None
    try:
        certificates = read_certificates(module.client("acm"), params["certificate_domains"])
        secrets = (
            read_secrets(module.client("secretsmanager"), params["secret_prefix"]) if params["secret_prefix"] else None
        )
        cache = read_cache(module, params["cache"], context) if params["cache"] else None
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
    module.exit_json(changed=False, certificates=certificates, secrets=secrets, cache=cache)


if __name__ == "__main__":
    main()
