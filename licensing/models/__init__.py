from licensing.models.audit import AuditEvent
from licensing.models.billing import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceReason,
    InvoiceStatus,
    Payment,
    PaymentMethod,
)
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
from licensing.models.outbox import Job, JobState
from licensing.models.previews import AssetPreview, PreviewStatus
from licensing.models.royalties import (
    RoyaltyEntry,
    RoyaltyPayout,
    RoyaltyPeriod,
    RoyaltyPool,
)
from licensing.models.slices import Slice, SliceItem, SliceStatus

__all__ = [
    "Job",
    "JobState",
    "Asset",
    "AssetPreview",
    "PreviewStatus",
    "AuditEvent",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceReason",
    "InvoiceStatus",
    "Payment",
    "PaymentMethod",
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
    "RoyaltyEntry",
    "RoyaltyPayout",
    "RoyaltyPeriod",
    "RoyaltyPool",
    "SentEmail",
    "Slice",
    "SliceItem",
    "SliceStatus",
]
