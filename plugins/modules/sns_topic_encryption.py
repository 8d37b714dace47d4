#!/usr/bin/python

# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: sns_topic_encryption
version_added: 0.1.0
short_description: Encrypt an SNS topic at rest with a KMS key
description:
  - Sets or removes the KMS key an Amazon SNS topic encrypts its messages with (server-side encryption, the topic's
    C(KmsMasterKeyId) attribute), which M(community.aws.sns_topic) does not manage. Run it after that module.
  - The key is compared as given (key ID, key ARN, alias name or alias ARN), as SNS stores it.
  - A service that publishes to an encrypted topic (CloudWatch alarms, AWS Budgets, EventBridge) needs
    C(kms:GenerateDataKey*) and C(kms:Decrypt) on the key, in the key's policy. The AWS-managed key C(alias/aws/sns)
    does not grant them and its policy cannot be changed, so such topics need a customer-managed key.
  - In check mode, a topic that does not exist yet (one a preceding task would create) is predicted as encrypted
    with the key; outside check mode it is an error.
options:
  topic:
    description: The topic, by name in the module's region or by ARN.
    type: str
    required: true
  kms_master_key_id:
    description:
      - The KMS key, as a key ID, key ARN, V(alias/<name>) or alias ARN. An empty string turns encryption off.
    type: str
    required: true
attributes:
  diff_mode:
    support: full
    details: The topic's key before and after; empty before for a topic only check mode predicts.
extends_documentation_fragment: [wedsync.platform.aws, amazon.aws.common.modules,
  amazon.aws.region.modules, amazon.aws.boto3]
"""

EXAMPLES = r"""
- name: Alerts topic
  community.aws.sns_topic:
    name: wedsync-production-alerts

- name: Encrypted with a key whose policy lets CloudWatch and Budgets use it
  wedsync.platform.sns_topic_encryption:
    topic: wedsync-production-alerts
    kms_master_key_id: alias/wedsync-production-sns

- name: Not encrypted
  wedsync.platform.sns_topic_encryption:
    topic: arn:aws:sns:us-east-1:123456789012:wedsync-staging-alerts
    kms_master_key_id: ""
"""

RETURN = r"""
topic_arn:
  description: The topic's ARN; empty for a topic check mode predicts.
  returned: always
  type: str
  sample: arn:aws:sns:us-east-1:123456789012:wedsync-production-alerts
kms_master_key_id:
  description: The key the topic is encrypted with after the task (would be, in check mode); empty when not encrypted.
  returned: always
  type: str
  sample: alias/wedsync-production-sns
"""

from ansible_collections.wedsync.platform.plugins.module_utils._sns import (
    get_topic_attributes,
    list_topic_arns,
    set_topic_attribute,
)
from ansible_collections.wedsync.platform.plugins.module_utils.errors import WedSyncAWSError
from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule


def find_topic(client, topic: str) -> str | None:
    if topic.startswith("arn:"):
        return topic if topic in list_topic_arns(client) else None
    # A topic name has no colon, so the ARN's last field is the whole name.
    return next((arn for arn in list_topic_arns(client) if arn.rsplit(":", 1)[-1] == topic), None)


def topic_key(client, arn: str) -> str | None:
    """The topic's KMS key ("" when unencrypted), or None when there is no such topic."""
    attributes = get_topic_attributes(client, arn)
    return None if attributes is None else attributes.get("KmsMasterKeyId", "")


def main() -> None:
    module = WedSyncAWSModule(
        argument_spec={
            "topic": {"type": "str", "required": True},
            "kms_master_key_id": {"type": "str", "required": True, "no_log": False},
        },
        supports_check_mode=True,
    )
    topic, wanted = module.params["topic"], module.params["kms_master_key_id"]
    client = module.client("sns")
    try:
        arn = find_topic(client, topic)
        current = topic_key(client, arn) if arn else None
        if current is None:
            if not module.check_mode:
                module.fail_json(msg=f"SNS topic {topic} does not exist: create it first (community.aws.sns_topic)")
            before: dict[str, str] = {}
        else:
            before = {"kms_master_key_id": current}
            if current != wanted and not module.check_mode:
                set_topic_attribute(client, arn, "KmsMasterKeyId", wanted)
    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)

    after = {"kms_master_key_id": wanted}
    module.exit_json(
        changed=before != after,
        topic_arn=arn or "",
        kms_master_key_id=wanted,
        diff={"before": before, "after": after},
    )


if __name__ == "__main__":
    main()
