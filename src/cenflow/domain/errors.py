"""Business-rule errors of Cbn, as Alibaba's API metadata documents them (code, status, message)."""

from __future__ import annotations

from cenflow.errors import ErrorSpec

INVALID_PARAMETER = ErrorSpec("InvalidParameter", "Invalid parameter.")
DRY_RUN = ErrorSpec("DryRunOperation", "Request validation has been passed with DryRun flag set.")
ILLEGAL_REGION = ErrorSpec("IllegalParam.Region", "The specified region is invalid.")

# --- CEN instances ---------------------------------------------------------------------------
CEN_NOT_FOUND = ErrorSpec("InvalidCenId.NotFound", "CenId is not found.")
CEN_STATUS = ErrorSpec(
    "InvalidOperation.CenInstanceStatus", "The CEN instance is not in a valid state for the operation."
)
CEN_HAS_ATTACHMENTS = ErrorSpec(
    "OperationFailed.DeleteCenWithRouteEntry",
    "Operation failed because you are not allowed to delete the CEN with the transit router route entry.",
)

# --- transit routers -------------------------------------------------------------------------
TR_NOT_FOUND = ErrorSpec("InvalidTransitRouterId.NotFound", "TransitRouterId is not found.")
TR_EXISTS = ErrorSpec("InstanceExist.TransitRouterInstance", "The instance already exists.")
TR_STATUS = ErrorSpec("IncorrectStatus.TransitRouter", "The status of TransitRouter is incorrect.")
TR_INSTANCE_STATUS = ErrorSpec("IncorrectStatus.TransitRouterInstance", "The status of TransitRouter is incorrect.")
TR_HAS_ATTACHMENTS = ErrorSpec(
    "OperationFailed.DeleteTransitRouter",
    "Operation failed because TransitRouterRouteTable or TransitRouterRouteEntry or BandwidthTransitRegion exists.",
)
FLOWLOG_EXISTS_ON_RESOURCE = ErrorSpec(
    "OperationFailed.FlowLogExistOrNisOpened", "Operation failed because FlowLog exists or Nis opened."
)
ILLEGAL_CIDR = ErrorSpec("IllegalParam.Cidr", "Cidr is illegal.")
OVERLAPPING_CIDR = ErrorSpec("OverLappingExist.Cidr", "The cidr overlapping exist.")
LIST_TR_NEEDS_SCOPE = ErrorSpec(
    "InvalidParameterCombination.TransitRouter", "Region ID is required if no TransitRouterId or CenId specified."
)

# --- attachments -----------------------------------------------------------------------------
ATTACHMENT_NOT_FOUND = ErrorSpec("InvalidTransitRouterAttachmentId.NotFound", "TransitRouterAttachmentId is not found.")
ATTACHMENT_STATUS = ErrorSpec(
    "IncorrectStatus.TransitRouterAttachment", "The status of TransitRouterAttachment is incorrect."
)
DUPLICATED_ZONE = ErrorSpec("Duplicated.ZoneMapping", "The parameter ZoneMapping is duplicated.")
ILLEGAL_ZONE = ErrorSpec("IllegalParam.ZoneId", "The specified ZoneId is illegal.")
ILLEGAL_VSWITCH = ErrorSpec("IllegalParam.VSwitchId", "VSwitchId is illegal.")
NEED_CEN_OR_REGION = ErrorSpec("MissingParam.CenIdOrRegionId", "Either CenId or RegionId must be specified.")
PEER_NOT_FOUND = ErrorSpec("InvalidPeerTransitRouterId.NotFound", "The specified PeerTransitRouterId is not found.")
ILLEGAL_PEER = ErrorSpec("IllegalParam.PeerTransitRouterId", "PeerTransitRouterId is illegal.")
ILLEGAL_PEER_REGION = ErrorSpec("IllegalParam.PeerRegionId", "PeerRegionId is illegal.")
ILLEGAL_NEXT_TOKEN = ErrorSpec("IllegalParam.NextToken", "The specified NextToken is invalid.")
ILLEGAL_MAX_RESULTS = ErrorSpec("IllegalParam.MaxResults", "The specified MaxResults is invalid.")
LINK_TYPE = ErrorSpec(
    "ParameterIllegal.CdtDefaultLinkTypeOnlySupportPlatinumOrGold", "DataTransfer only support Platinum and Gold."
)
BANDWIDTH_PACKAGE_LINK_TYPE = ErrorSpec(
    "ParameterIllegal.BandwidthPackageDefaultLinkTypeOnlySupportGold", "Cen bandwidthPackage only support Gold."
)

# --- flow logs -------------------------------------------------------------------------------
FLOWLOG_NOT_FOUND = ErrorSpec(
    "InvalidFlowlogId.NotFound", "The specified flowlog id does not exist or does not match the cen Id."
)
FLOWLOG_NOT_FOUND_ON_MODIFY = ErrorSpec(
    "InvalidParameter.FlowLogId", "The specified flowlog id does not exist or does not match the cen Id."
)
FLOWLOG_STATUS = ErrorSpec("IncorrectStatus.flowlog", "Invalid flowlog status.")
TR_FLOWLOG_STATUS = ErrorSpec(
    "IncorrectStatus.TrFlowlog", "Flowlog status for specified TransitRouter is invalid for this operation."
)
PROJECT_OR_LOGSTORE_MISSING = ErrorSpec(
    "ProjectOrLogstoreNotExist", "The specified project or logstore does not exist."
)
INVALID_PROJECT_NAME = ErrorSpec(
    "InvalidParameter.ProjectName", "Project name is invalid or does not belong to specified region."
)
INVALID_LOG_FORMAT = ErrorSpec("InvalidParameter.LogFormatString", "LogFormatString is invalid.")
INVALID_INTERVAL = ErrorSpec("InvalidParameter.Interval", "Interval is invalid.")
INVALID_FLOWLOG_VERSION = ErrorSpec("InvalidParameter.FlowLogVersion", "Flowlog version is invalid.")
TR_NOT_EXIST_FOR_FLOWLOG = ErrorSpec(
    "InvalidOperation.TransitRouterNotExist", "Operation is invalid because the transit router not exist."
)
ILLEGAL_ATTACHMENT_ID = ErrorSpec("IllegalParam.TransitRouterAttachmentId", "TransitRouterAttachmentId is illegal.")
ATTACHMENT_STATUS_FOR_FLOWLOG = ErrorSpec(
    "IncorrectStatus.TransitRouterAttachmentId",
    "The resource is not in a valid state for the attachment operation.",
)
TR_FLOWLOG_EXISTS = ErrorSpec("InvalidFlowlogId.exist", "This cenId already has flowlog instance existed.")
ATTACHMENT_FLOWLOG_EXISTS = ErrorSpec("Flowlog.AlreayExist", "This attachment already has existed flowlog instance.")
INCOMPATIBLE_FLOWLOG = ErrorSpec(
    "OperationInvalid.IncompatibleFlowlogExist", "Operation is invalid because incompatible flowlog config exists."
)
FLOWLOG_QUOTA = ErrorSpec("QuotaExceeded.FlowlogCount", "This user has reached the maximum instance number of flowlog.")

# --- tags ------------------------------------------------------------------------------------
INVALID_TAG_KEY = ErrorSpec("InvalidTagKey", "The tag keys are not valid.")
INVALID_TAG_VALUE = ErrorSpec("InvalidTagValue", "The tag values are not valid.")
ILLEGAL_TAG_KEY = ErrorSpec("IllegalParam.TagKey", "The tag keys are not valid.")
ILLEGAL_TAG_VALUE = ErrorSpec("IllegalParam.TagValue", "The tag values are not valid.")
TAG_LENGTH = ErrorSpec("IllegalParamLength.Tag", "The specified length of Tag is invalid.")
TAG_QUOTA = ErrorSpec("QuotaExceeded.TagNum", "Custom Tags quota exceeded")
TAG_KEY_DUPLICATED = ErrorSpec("DuplicatedParam.TagKey", "The parameter TagKey is duplicated.")
TAG_KEY_MISSING = ErrorSpec("MissingParameter.TagKey", "TagKey must be specified.")
TAG_VALUE_MISSING = ErrorSpec("MissingParameter.TagValue", "The specified parameter TagValue is missing")
RESOURCE_TYPE_NOT_FOUND = ErrorSpec("InvalidInstanceType.NotFound", "The instance type is not found")
RESOURCE_IDS_NOT_FOUND = ErrorSpec("InvalidInstanceIds.NotFound", "The instanceIds are not found")
RESOURCE_ID_LIMIT = ErrorSpec(
    "SizeLimitExceeded.ResourceIdNum", "The ResourceIds parameter's number is exceed , Valid : 20"
)
TAGS_AND_RESOURCES_EMPTY = ErrorSpec("BothEmpty.TagsAndResources", "Both of Tags and ResourceIds is empty.")
MISSING_PARAM = ErrorSpec("MissingParam", "{detail}")
