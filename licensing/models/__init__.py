from licensing.models.ai_models import (
    AIModel,
    DeclaredItem,
    Disclosure,
    Modality,
    ModelVersion,
    TrainingDeclaration,
)
from licensing.models.attribution import (
    UsageReport,
    UsageReportFormat,
    UsageReportStatus,
    UsageShare,
)
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
    MediaKind,
)
from licensing.models.licences import (
    BillingPeriod,
    FundingStage,
    Licence,
    LicenceEvent,
    LicencePhase,
    LicenceState,
    ModelType,
    ReportingPeriod,
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
    "UsageReport",
    "UsageReportFormat",
    "UsageReportStatus",
    "UsageShare",
    "Job",
    "JobState",
    "AIModel",
    "DeclaredItem",
    "Disclosure",
    "Modality",
    "ModelVersion",
    "TrainingDeclaration",
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
    "Contributor",
    "ContributorConsentChange",
    "FundingStage",
    "Licence",
    "LicenceEvent",
    "LicencePhase",
    "LicenceState",
    "MediaKind",
    "ModelType",
    "ReportingPeriod",
    "RoyaltyEntry",
    "RoyaltyPayout",
    "RoyaltyPeriod",
    "RoyaltyPool",
    "SentEmail",
    "Slice",
    "SliceItem",
    "SliceStatus",
]
