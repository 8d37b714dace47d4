# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The error every AWS call of the collection raises, and the handlers that raise it.

A private _<service> API layer defines one error class per service and one handler per kind of
resource, whose _MISSING_CODES are the error codes that mean "not there":

    class ElastiCacheError(WedSyncAWSError): ...

    class ReplicationGroupErrorHandler(WedSyncErrorHandler):
        _CUSTOM_EXCEPTION = ElastiCacheError
        _MISSING_CODES = ("ReplicationGroupNotFoundFault",)

and a module's main() catches the base class once:

    except WedSyncAWSError as e:
        module.fail_json_aws_error(e)
"""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError


class WedSyncAWSError(AnsibleAWSError):
    """An AWS call of the collection failed (message: what it tried; exception: botocore's error)."""


class WedSyncErrorHandler(AWSErrorHandler):
    """amazon.aws's common/list/deletion error handlers, raising WedSyncAWSError subclasses."""

    _CUSTOM_EXCEPTION = WedSyncAWSError
    _MISSING_CODES: tuple[str, ...] = ()

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(list(cls._MISSING_CODES)) if cls._MISSING_CODES else super()._is_missing()
