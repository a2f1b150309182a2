"""How guard's commands read a failed AWS call: the error's code and one-line message, and the
codes that mean "denied" or "throttled" across the services they call.

``guard audit`` (:mod:`guard.audit_aws`) and ``guard siem reload`` (:mod:`guard.siem_reload`)
each turn these into their own one-line errors; the refresh scripts use :func:`describe_failure`.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

#: Refused for lack of permission, or for credentials AWS does not accept.
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
#: Still throttled once botocore's retries are spent (S3 says SlowDown, SQS RequestThrottled).
THROTTLED_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
    }
)


def error_parts(error: ClientError) -> tuple[str, str]:
    """The error's code and its message on one line (AWS messages may hold newlines)."""
    details = error.response.get("Error", {})
    return str(details.get("Code", "")), " ".join(str(details.get("Message", "")).split())


def describe_failure(error: BotoCoreError | ClientError) -> str:
    """One line for a call that failed: no credentials, refused by AWS, or not made at all."""
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found. Use --profile, or set AWS_PROFILE or AWS_ACCESS_KEY_ID."
    if isinstance(error, ClientError):
        code, message = error_parts(error)
        return f"AWS rejected {error.operation_name}: {code or '?'}: {message}."
    return f"could not call AWS: {error}."
