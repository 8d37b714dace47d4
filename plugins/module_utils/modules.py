# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The base class of every wedsync.platform AWS module.

    from ansible_collections.wedsync.platform.plugins.module_utils.modules import WedSyncAWSModule
    module = WedSyncAWSModule(argument_spec=..., supports_check_mode=True)

It is amazon.aws's AnsibleAWSModule (common AWS options, module.client(), fail_json_aws())
with the collection identified in the botocore user agent, as community.aws does for its own,
and with every client of a run made from one boto3 session (see client()).
"""

from __future__ import annotations

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing boto3
    import boto3
    import botocore.config
    import botocore.exceptions

from ansible.module_utils.ansible_release import __version__ as ANSIBLE_VERSION
from ansible_collections.amazon.aws.plugins.module_utils.botocore import get_aws_connection_info
from ansible_collections.amazon.aws.plugins.module_utils.common import set_collection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import RetryingBotoClientWrapper
from ansible_collections.wedsync.platform.plugins.module_utils.version import COLLECTION_VERSION

WEDSYNC_PLATFORM_COLLECTION_NAME = "wedsync.platform"


def user_agent() -> str:
    """What botocore sends as the user agent: amazon.aws's format, naming this collection."""
    return f"APN/1.0 Ansible/{ANSIBLE_VERSION} {WEDSYNC_PLATFORM_COLLECTION_NAME}/{COLLECTION_VERSION}"


class WedSyncAWSModule(AnsibleAWSModule):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        set_collection_info(
            collection_name=WEDSYNC_PLATFORM_COLLECTION_NAME,
            collection_version=COLLECTION_VERSION,
        )
        self._sessions: dict[str | None, Any] = {}

    def client(self, service: str, retry_decorator=None, **extra_params):
        """A client as AnsibleAWSModule.client() makes it, from the run's one boto3 session per profile.

        amazon.aws opens a new session per client, and each new session parses botocore's service
        models again: for a module that needs several regions or services that costs more than
        its API calls.
        """
        region, endpoint_url, connect_kwargs = get_aws_connection_info(self)
        params = dict(region=region, endpoint=endpoint_url, **connect_kwargs)
        params.update(extra_params)
        profile = params.pop("profile_name", None)
        config = botocore.config.Config(user_agent=user_agent())
        for name in ("config", "aws_config"):
            extra = params.pop(name, None)
            if isinstance(extra, dict):
                extra = botocore.config.Config(**extra)
            if extra:
                config = config.merge(extra)
        try:
            if profile not in self._sessions:
                self._sessions[profile] = boto3.session.Session(profile_name=profile)
            conn = self._sessions[profile].client(
                service,
                config=config,
                region_name=params.pop("region"),
                endpoint_url=params.pop("endpoint"),
                **params,
            )
        except botocore.exceptions.NoRegionError:
            self.fail_json(msg=f"The {self._name} module requires a region: set the region parameter or AWS_REGION")
        except (ValueError, botocore.exceptions.BotoCoreError) as e:
            self.fail_json_aws(e, msg="Couldn't connect to AWS")
        return conn if retry_decorator is None else RetryingBotoClientWrapper(conn, retry_decorator)
