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

__all__ = [
    "Asset",
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
]
