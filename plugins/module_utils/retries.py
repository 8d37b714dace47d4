# Copyright: WedSync SRE <ops@wedsync.com>
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one retry policy of the collection's AWS calls (the private _<service> API layers use it).

@SomeErrorHandler.common_error_handler("describe the thing")
@aws_retry
def describe_thing(client, ...): ...
"""

from __future__ import annotations

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# AWSRetry retries "Throttling" by default but not the "ThrottlingException" that CloudWatch,
# Secrets Manager and the twin's fault layer answer with, nor S3's "SlowDown".
THROTTLING_ERROR_CODES = ["ThrottlingException", "Throttling", "SlowDown"]
# S3 answers "RequestTimeout" when it stopped waiting for a request's body: nothing was done.
RETRYABLE_ERROR_CODES = [*THROTTLING_ERROR_CODES, "RequestTimeout"]

aws_retry = AWSRetry.jittered_backoff(catch_extra_error_codes=RETRYABLE_ERROR_CODES)
