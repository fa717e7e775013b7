from licensing.models.audit import AuditEvent
from licensing.models.catalog import Asset, Contributor, ContributorConsentChange
from licensing.models.licences import (
    BillingPeriod,
    FundingStage,
    Licence,
    LicenceEvent,
    LicencePhase,
    LicenceState,
    MediaKind,
    ModelType,
    SentEmail,
)
from licensing.models.slices import Slice, SliceItem, SliceStatus

__all__ = [
    "Asset",
    "AuditEvent",
    "BillingPeriod",
    "Contributor",
    "ContributorConsentChange",
    "FundingStage",
    "Licence",
    "LicenceEvent",
    "LicencePhase",
    "LicenceState",
    "MediaKind",
    "ModelType",
    "SentEmail",
    "Slice",
    "SliceItem",
    "SliceStatus",
]
