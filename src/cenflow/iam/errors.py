"""RAM's and STS's error catalogue, as Alibaba documents it (codes, statuses, messages).

Source: RAM's "Error messages" reference (HTTP 400/403/404/409 tables) and the per-operation pages
of RAM 2015-05-01; STS's codes come from the AssumeRole metadata.  Where Alibaba documents no code
for a case that cenflow has (a policy still attached to a role, a role name in an AssumeRole ARN
that does not exist), the code is formed the way Alibaba forms its siblings and says so in a
comment.  Messages keep Alibaba's wording, capitals included, so that clients matching on them work.
"""

from __future__ import annotations

from cenflow.errors import ErrorSpec

# -- 400: parameters --------------------------------------------------------------------------
INVALID_CHARS = ErrorSpec("InvalidParameter.{name}.InvalidChars", 'The parameter - "{name}" contains invalid chars.')
BEYOND_LENGTH = ErrorSpec("InvalidParameter.{name}.Length", 'The parameter - "{name}" beyond the length limit.')
BAD_FORMAT = ErrorSpec("InvalidParameter.{name}.Format", 'The format of the parameter - "{name}" is incorrect.')
INVALID_POLICY_TYPE = ErrorSpec("InvalidParameter.PolicyType", 'The parameter - "PolicyType" is incorrect.')
INVALID_VERSION_ID = ErrorSpec(
    "InvalidParameter.VersionId.Format", 'The format of the parameter - "VersionId" is incorrect.'
)
INVALID_STATUS = ErrorSpec("InvalidParameter.Status", 'The parameter - "Status" must be "Active" or "Inactive".')
INVALID_MAX_SESSION = ErrorSpec(
    "InvalidParameter.MaxSessionDuration",
    'The parameter - "MaxSessionDuration" must be between 3600 and 43200 seconds.',
)
INVALID_ROTATE_STRATEGY = ErrorSpec(
    "InvalidParameter.RotateStrategy",
    'The parameter - "RotateStrategy" must be "None" or "DeleteOldestNonDefaultVersionWhenLimitExceeded".',
)
# Resource groups are not modelled; a policy scoped to one cannot be attached faithfully.
UNSUPPORTED_RESOURCE_GROUP = ErrorSpec(
    "InvalidParameter.ResourceGroupId",
    "Policies scoped to a resource group are not supported by this server; omit ResourceGroupId.",
)
INVALID_DIAGNOSTIC = ErrorSpec(
    "InvalidParameter.EncodedDiagnosticMessage",
    'The parameter - "EncodedDiagnosticMessage" is not a diagnostic message issued by this server.',
)

# -- 403 ------------------------------------------------------------------------------------
NO_PERMISSION = ErrorSpec("NoPermission", "You are not authorized to do this action.", 403)

# -- 404 ------------------------------------------------------------------------------------
USER_NOT_FOUND = ErrorSpec("EntityNotExist.User", "The user does not exist.", 404)
ACCESS_KEY_NOT_FOUND = ErrorSpec("EntityNotExist.User.AccessKey", "The user access key does not exist.", 404)
USER_POLICY_NOT_FOUND = ErrorSpec("EntityNotExist.User.Policy", "The indicate policy of the user does not exist.", 404)
USER_NOT_IN_GROUP = ErrorSpec("EntityNotExist.User.Group", "The user has not joined the group.", 404)
GROUP_NOT_FOUND = ErrorSpec("EntityNotExist.Group", "The group does not exist.", 404)
GROUP_POLICY_NOT_FOUND = ErrorSpec(
    "EntityNotExist.Group.Policy", "The indicate policy attached to the group does not exist.", 404
)
ROLE_NOT_FOUND = ErrorSpec("EntityNotExist.Role", "The role does not exist.", 404)
# By analogy with EntityNotExist.User.Policy / .Group.Policy (no Role row in the table).
ROLE_POLICY_NOT_FOUND = ErrorSpec(
    "EntityNotExist.Role.Policy", "The indicate policy attached to the role does not exist.", 404
)
POLICY_NOT_FOUND = ErrorSpec("EntityNotExist.Policy", "The policy does not exist.", 404)
POLICY_VERSION_NOT_FOUND = ErrorSpec("EntityNotExist.Policy.Version", "The policy version does not exist.", 404)

# -- 409: already exists ----------------------------------------------------------------------
USER_EXISTS = ErrorSpec("EntityAlreadyExists.User", "The user does already EXIST.", 409)
USER_IN_GROUP = ErrorSpec("EntityAlreadyExists.User.Group", "The user has already joined the group.", 409)
USER_HAS_POLICY = ErrorSpec("EntityAlreadyExists.User.Policy", "The user has already been attached this policy.", 409)
GROUP_EXISTS = ErrorSpec("EntityAlreadyExists.Group", "The group does already EXIST.", 409)
GROUP_HAS_POLICY = ErrorSpec(
    "EntityAlreadyExists.Group.Policy", "The group has already been attached this policy.", 409
)
ROLE_EXISTS = ErrorSpec("EntityAlreadyExists.Role", "The role does already EXIST.", 409)
ROLE_HAS_POLICY = ErrorSpec("EntityAlreadyExists.Role.Policy", "The role has already been attached this policy.", 409)
# Alibaba's table prints "The group does already EXIST." for this code, evidently a slip.
POLICY_EXISTS = ErrorSpec("EntityAlreadyExists.Policy", "The policy does already EXIST.", 409)

# -- 409: delete conflicts --------------------------------------------------------------------
USER_HAS_GROUPS = ErrorSpec(
    "DeleteConflict.User.Group", "The user CAN NOT be in any group while deleting the user.", 409
)
USER_HAS_KEYS = ErrorSpec(
    "DeleteConflict.User.AccessKey", "The user CAN NOT has any access key while deleting the user.", 409
)
USER_HAS_POLICIES = ErrorSpec(
    "DeleteConflict.User.Policy", "The user CAN NOT has any attached policy while deleting the user.", 409
)
GROUP_HAS_USERS = ErrorSpec(
    "DeleteConflict.Group.User", "The group CAN NOT has any user member while deleting the group.", 409
)
GROUP_HAS_POLICIES = ErrorSpec(
    "DeleteConflict.Group.Policy", "The entity CAN NOT has any attached policy while deleting the group.", 409
)
ROLE_HAS_POLICIES = ErrorSpec(
    "DeleteConflict.Role.Policy", "The role CAN NOT has any attached policy while deleting the role.", 409
)
POLICY_ON_USER = ErrorSpec(
    "DeleteConflict.Policy.User", "The policy CAN NOT been attached to any user while deleting the policy.", 409
)
POLICY_ON_GROUP = ErrorSpec(
    "DeleteConflict.Policy.Group", "The policy CAN NOT been attached to any group while deleting the policy.", 409
)
# By analogy with .Policy.User / .Policy.Group.
POLICY_ON_ROLE = ErrorSpec(
    "DeleteConflict.Policy.Role", "The policy CAN NOT been attached to any role while deleting the policy.", 409
)
POLICY_HAS_VERSIONS = ErrorSpec(
    "DeleteConflict.Policy.Version", "The policy CAN NOT has any version except the default version.", 409
)
DEFAULT_VERSION = ErrorSpec(
    "DeleteConflict.Policy.Version.Default", "The default policy version CAN NOT been deleted directly.", 409
)

# -- 409: limits ------------------------------------------------------------------------------
TOO_MANY_USERS = ErrorSpec("LimitExceeded.User", "The count of users beyond the current limits.", 409)
TOO_MANY_KEYS = ErrorSpec(
    "LimitExceeded.User.AccessKey", "The access key count of the user access keys beyond the current limits.", 409
)
TOO_MANY_GROUPS_FOR_USER = ErrorSpec(
    "LimitExceeded.User.Group", "The count of groups the target user joined beyond the current limits.", 409
)
TOO_MANY_USER_POLICIES = ErrorSpec(
    "LimitExceeded.User.Policy", "The policy count of the user attached policies beyond the current limits.", 409
)
TOO_MANY_GROUPS = ErrorSpec("LimitExceeded.Group", "The count of groups beyond the current limits.", 409)
TOO_MANY_GROUP_POLICIES = ErrorSpec(
    "LimitExceeded.Group.Policy", "The policy count of the group beyond the current limits.", 409
)
TOO_MANY_POLICIES = ErrorSpec("LimitExceeded.Policy", "The count of policy beyond the current limits.", 409)
TOO_MANY_VERSIONS = ErrorSpec(
    "LimitExceeded.Policy.Version", "The count of policy version beyond the current limits.", 409
)
TOO_MANY_ROLES = ErrorSpec("LimitExceeded.Role", "The count of roles beyond the current limits.", 409)
TOO_MANY_ROLE_POLICIES = ErrorSpec(
    "LimitExceeded.Role.Policy", "The count of policies attached to the role beyond the current limits.", 409
)

# -- STS --------------------------------------------------------------------------------------
STS_NO_PERMISSION = ErrorSpec(
    "NoPermission", "You are not authorized to do this action. You should be authorized by RAM.", 403
)
STS_ROLE_NOT_FOUND = ErrorSpec("EntityNotExist.Role", "The specified Role not exists .", 404)
STS_INVALID_DURATION = ErrorSpec(
    "InvalidParameter.DurationSeconds", "The Min/Max value of DurationSeconds is 15min/1hr."
)
STS_INVALID_ROLE_ARN = ErrorSpec("InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")
STS_INVALID_SESSION_NAME = ErrorSpec(
    "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed."
)
STS_INVALID_EXTERNAL_ID = ErrorSpec("InvalidParameter.ExternalId", "The parameter ExternalId is wrongly formed.")
# SourceIdentity has no documented code; formed like its siblings.
STS_INVALID_SOURCE_IDENTITY = ErrorSpec(
    "InvalidParameter.SourceIdentity", "The parameter SourceIdentity is wrongly formed."
)

# -- limits Alibaba documents (see docs/iam.md) -------------------------------------------------
MAX_USERS = 1000
MAX_GROUPS = 50
MAX_ROLES = 1000
MAX_CUSTOM_POLICIES = 1500
MAX_KEYS_PER_USER = 2
MAX_GROUPS_PER_USER = 5
MAX_VERSIONS = 5
MAX_SYSTEM_POLICIES_PER_ENTITY = 20
MAX_CUSTOM_POLICIES_PER_ENTITY = 5
