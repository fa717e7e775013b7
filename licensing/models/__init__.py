from licensing.models.catalog import Asset, Contributor, ContributorConsentChange

__all__ = ["Asset", "Contributor", "ContributorConsentChange"]
