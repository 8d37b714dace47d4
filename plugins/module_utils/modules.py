# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base class of every wedsync.platform AWS module.

    from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule
    module = WedSyncAWSModule(argument_spec=..., supports_check_mode=True)

It is amazon.aws's AnsibleAWSModule (common AWS options, module.client(), fail_json_aws())
with the collection identified in the botocore user agent, as community.aws does for its own.
"""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.common import set_collection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

WEDSYNC_PLATFORM_COLLECTION_NAME = "wedsync.platform"
WEDSYNC_PLATFORM_COLLECTION_VERSION = "0.1.0"

# AWSRetry retries "Throttling" by default but not the "ThrottlingException" that CloudWatch,
# Secrets Manager and the twin's fault layer answer with: pass these to jittered_backoff().
THROTTLING_ERROR_CODES = ["ThrottlingException", "Throttling"]


class WedSyncAWSModule(AnsibleAWSModule):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        set_collection_info(
            collection_name=WEDSYNC_PLATFORM_COLLECTION_NAME,
            collection_version=WEDSYNC_PLATFORM_COLLECTION_VERSION,
        )
