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
from licensing.models.catalog import (
    Asset,
    Contributor,
    ContributorConsentChange,
    IngestRejection,
    IngestRun,
    IngestStatus,
    TrainingSignal,
)
from licensing.models.collections import Collection, Rightsholder
from licensing.models.licences import (
    BillingPeriod,
    FundingStage,
    Licence,
    LicenceEvent,
    LicencePhase,
    LicenceState,
    MediaKind,
    ModelType,
    OfferCoverage,
    SentEmail,
)
from licensing.models.outbox import Job, JobState
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
    "AuditEvent",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceReason",
    "InvoiceStatus",
    "Payment",
    "PaymentMethod",
    "BillingPeriod",
    "Collection",
    "Contributor",
    "IngestRejection",
    "IngestRun",
    "IngestStatus",
    "OfferCoverage",
    "Rightsholder",
    "TrainingSignal",
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
