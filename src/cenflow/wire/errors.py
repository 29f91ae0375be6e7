"""Gateway errors: the ones Alibaba's API gateway answers before an operation runs."""

from __future__ import annotations

from cenflow.errors import ErrorSpec

MISSING_PARAMETER = ErrorSpec(
    "MissingParameter",
    'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
)
# An operation parameter marked required in the API metadata: the gateway answers with the
# parameter's own code, e.g. ``MissingFlowLogId``.
MISSING_OPERATION_PARAMETER = ErrorSpec("Missing{name}", "{name} is mandatory for this action.")
INVALID_PARAMETER = ErrorSpec("InvalidParameter", 'The specified parameter "{name}" is not valid.')
INVALID_ACTION = ErrorSpec(
    "InvalidAction.NotFound",
    'Specified api "{action}" is not found, please check your url and method.',
    404,
)
INVALID_VERSION = ErrorSpec(
    "InvalidVersion",
    'Specified parameter Version "{version}" is not valid.',
)
MISSING_ACTION = ErrorSpec("MissingParameter", 'The input parameter "Action" is not supplied.')
MISSING_VERSION = ErrorSpec("MissingParameter", 'The input parameter "Version" is not supplied.')
SIGNATURE_DOES_NOT_MATCH = ErrorSpec(
    "SignatureDoesNotMatch",
    "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}",
)
INCOMPLETE_SIGNATURE = ErrorSpec("IncompleteSignature", "The request signature does not conform to Aliyun standards.")
UNSUPPORTED_SIGNATURE = ErrorSpec(
    "InvalidParameter.SignatureMethod",
    'The signature method "{method}" is not supported; use HMAC-SHA1 (RPC) or ACS3-HMAC-SHA256 (V3).',
)
ACCESS_KEY_NOT_FOUND = ErrorSpec("InvalidAccessKeyId.NotFound", "Specified access key is not found.", 404)
ACCESS_KEY_INACTIVE = ErrorSpec("InvalidAccessKeyId.Inactive", "Specified access key is disabled.", 400)
SECURITY_TOKEN_INVALID = ErrorSpec(
    "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed or was not issued here."
)
SECURITY_TOKEN_EXPIRED = ErrorSpec("InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
SECURITY_TOKEN_MISMATCH = ErrorSpec(
    "InvalidSecurityToken.MismatchWithAccessKey",
    "Specified SecurityToken mismatch with the AccessKey.",
)
TIMESTAMP_FORMAT = ErrorSpec(
    "InvalidTimeStamp.Format",
    'Specified time stamp "{value}" is not in the format YYYY-MM-DDThh:mm:ssZ (UTC).',
)
TIMESTAMP_EXPIRED = ErrorSpec(
    "InvalidTimeStamp.Expired",
    "Specified time stamp or date value is expired: {value} is more than {window} minutes from the server time {now}.",
)
NONCE_USED = ErrorSpec("SignatureNonceUsed", "Specified signature nonce was used already.")
CONTENT_SHA256_MISMATCH = ErrorSpec(
    "InvalidParameter.ContentSHA256",
    "The x-acs-content-sha256 header does not match the SHA-256 of the request body.",
)
REQUEST_TOO_LARGE = ErrorSpec("InvalidParameter.RequestTooLarge", "The request body exceeds {limit} bytes.", 413)
UNSUPPORTED_MEDIA = ErrorSpec(
    "InvalidParameter.ContentType",
    'The request body must be "application/x-www-form-urlencoded" (got "{content_type}").',
    415,
)
METHOD_NOT_ALLOWED = ErrorSpec(
    "UnsupportedHTTPMethod", 'HTTP method "{method}" is not supported; use GET or POST.', 405
)
INTERNAL_ERROR = ErrorSpec("InternalError", "The request processing has failed due to some unknown error.", 500)
SERVICE_UNAVAILABLE = ErrorSpec(
    "ServiceUnavailable", "The request has failed due to a temporary failure of the server.", 503
)
