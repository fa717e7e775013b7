"""Collections, rightsholders and the exclusive deals over them: what staff see, and what slice
selection and the offer check read.

An exclusive deal *stands* from the moment its offer is made until the offer lapses (declined,
revoked) or the commercial term it became is over. While it stands, the works it covers go to
no other licence.
"""
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone

from licensing.models import (
    Asset,
    Collection,
    Licence,
    LicenceState,
    OfferCoverage,
    RoyaltyEntry,
    SliceItem,
)

S = LicenceState
OFFER_STANDS = (S.UPGRADE_OFFERED, S.AWAITING_PAYMENT)
# States in which a licence holds its grants: another licence's exclusive offer cannot take them.
HOLDING = (S.RESEARCH_ACTIVE, S.UPGRADE_REQUESTED, S.UPGRADE_OFFERED, S.AWAITING_PAYMENT, S.COMMERCIAL_ACTIVE,
           S.SUSPENDED)


def collections_list():
    return Collection.objects.select_related("owner_contributor", "owner_organisation").annotate(
        work_count=Count("works"))


def collection_detail(*, pk):
    try:
        return collections_list().get(pk=pk)
    except (Collection.DoesNotExist, ValueError):
        raise Http404("No such collection.") from None


def standing_exclusive_deals(*, now=None):
    """Licences whose exclusive deal stands now."""
    now = now or timezone.now()
    running = Q(state=S.COMMERCIAL_ACTIVE) & (Q(commercial_ends_at__isnull=True) | Q(commercial_ends_at__gt=now))
    suspended = Q(state=S.SUSPENDED) & (Q(suspended_from__in=OFFER_STANDS) | (
        Q(suspended_from=S.COMMERCIAL_ACTIVE) & (Q(commercial_ends_at__isnull=True) | Q(commercial_ends_at__gt=now))))
    return (Licence.objects.select_related("organisation").prefetch_related("offer_collections")
            .filter(offer_exclusive=True, offer_made_at__isnull=False)
            .filter(Q(state__in=OFFER_STANDS) | running | suspended))


def coverage_sql(licence, *, alias="a", collection_ids=None):
    """A predicate on asset `alias`: the works the licence's offer covers. Ids are integers, inlined."""
    if licence.offer_coverage == OfferCoverage.CATALOGUE:
        return "1 = 1"
    if licence.offer_coverage == OfferCoverage.COLLECTIONS:
        ids = collection_ids if collection_ids is not None else [c.pk for c in licence.offer_collections.all()]
        if not ids:
            return "1 = 0"
        return f"{alias}.collection_id IN ({', '.join(str(int(i)) for i in ids)})"
    return (f"EXISTS (SELECT 1 FROM {SliceItem._meta.db_table} cov WHERE cov.licence_id = {int(licence.pk)} "
            f"AND cov.asset_id = {alias}.id AND cov.withdrawn_at IS NULL)")


def exclusive_exclusion_sql(*, licence_id, now=None, alias="a"):
    """A predicate on asset `alias`: not held exclusively by a licence other than `licence_id`."""
    deals = [deal for deal in standing_exclusive_deals(now=now) if deal.pk != licence_id]
    if not deals:
        return None
    if any(deal.offer_coverage == OfferCoverage.CATALOGUE for deal in deals):
        return "1 = 0"
    clauses = []
    collection_ids = sorted({c.pk for deal in deals if deal.offer_coverage == OfferCoverage.COLLECTIONS
                             for c in deal.offer_collections.all()})
    if collection_ids:
        clauses.append(f"({alias}.collection_id IS NULL OR {alias}.collection_id NOT IN "
                       f"({', '.join(str(i) for i in collection_ids)}))")
    slice_deals = sorted(deal.pk for deal in deals if deal.offer_coverage == OfferCoverage.SLICES)
    if slice_deals:
        clauses.append(f"NOT EXISTS (SELECT 1 FROM {SliceItem._meta.db_table} ex WHERE ex.licence_id IN "
                       f"({', '.join(str(i) for i in slice_deals)}) AND ex.asset_id = {alias}.id "
                       f"AND ex.withdrawn_at IS NULL)")
    return " AND ".join(clauses) if clauses else None


def exclusivity_table(*, now=None):
    """Collections × licences: for each collection, which licence (if any) holds it exclusively, and
    which licences cover it otherwise. Rows: collection, cells: {licence_id: "exclusive"|"covered"}."""
    now = now or timezone.now()
    deals = list(standing_exclusive_deals(now=now))
    covering = list(Licence.objects.select_related("organisation").prefetch_related("offer_collections").filter(
        Q(offer_coverage__in=[OfferCoverage.COLLECTIONS, OfferCoverage.CATALOGUE]) | Q(offer_exclusive=True),
        offer_made_at__isnull=False, state__in=HOLDING))
    licences = {licence.pk: licence for licence in [*deals, *covering]}
    standing = {deal.pk for deal in deals}
    collections = list(collections_list())
    rows = []
    for collection in collections:
        cells = {}
        for licence in licences.values():
            if licence.offer_coverage == OfferCoverage.CATALOGUE:
                covers = True
            elif licence.offer_coverage == OfferCoverage.COLLECTIONS:
                covers = collection in licence.offer_collections.all()
            else:
                covers = SliceItem.objects.filter(licence=licence, withdrawn_at__isnull=True,
                                                  asset__collection=collection).exists()
            if covers:
                cells[licence.pk] = "exclusive" if licence.pk in standing else "covered"
        rows.append({"collection": collection, "cells": [cells.get(pk, "") for pk in licences]})
    return {"licences": list(licences.values()), "rows": rows}


def works_of(*, collection):
    return Asset.objects.filter(collection=collection).select_related("contributor").order_by("id")


def organisation_royalties(*, organisation):
    """What an organisation was credited as a rightsholder, newest first."""
    return RoyaltyEntry.objects.filter(organisation=organisation).select_related("licence").order_by(
        "-created_at", "-id")
