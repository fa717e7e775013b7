"""Collections, rightsholders, and the one lock under which exclusivity is decided.

Exclusive deals are decided under a PostgreSQL advisory lock: an offer check, or a commercial
licence's activation, takes it exclusively; every slice build takes it shared. So two
conflicting offers, or an offer and a build of the same works, happen one after the other, and
the second sees what the first committed (each statement of a READ COMMITTED transaction reads
the newest committed rows): exactly one of them gets the works.
"""
import zlib

import structlog
from django.db import connection, transaction
from django.utils.translation import gettext

from licensing import formats
from licensing.db import advisory_xact_lock
from licensing.models import (
    Asset,
    Collection,
    Licence,
    OfferCoverage,
    Rightsholder,
    SliceItem,
)
from licensing.selectors.collections import (
    HOLDING,
    coverage_sql,
    standing_exclusive_deals,
)
from licensing.services.audit import audit

log = structlog.get_logger(__name__)

EXCLUSIVITY_LOCK = zlib.crc32(b"tessera-exclusivity")
WHOLE = 10_000


class CollectionRefused(Exception):
    """A change to collections or rightsholders that cannot be made; the message says why."""


class OfferConflict(Exception):
    """An offer that would give works another licence holds; the message names that licence."""


def lock_exclusivity(*, shared=False):
    """Within the current transaction."""
    advisory_xact_lock(EXCLUSIVITY_LOCK, shared=shared)


def _describe(licence):
    return f"licence #{licence.pk} ({licence.project_title}, {licence.organisation.name})"


def check_offer_conflicts(*, licence, exclusive, coverage, collection_ids):
    """Raise OfferConflict when the offer would take works another licence holds. Call under lock_exclusivity()."""
    probe = Licence(pk=licence.pk, offer_coverage=coverage)
    covered = coverage_sql(probe, alias="a", collection_ids=collection_ids)
    asset, item, licence_table = Asset._meta.db_table, SliceItem._meta.db_table, Licence._meta.db_table
    for deal in standing_exclusive_deals():
        if deal.pk == licence.pk:
            continue
        if not exclusive and coverage != OfferCoverage.COLLECTIONS:
            continue  # its slices simply leave the exclusive works out
        theirs = coverage_sql(deal, alias="a")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {asset} a WHERE {covered} AND {theirs})")
            overlaps = cursor.fetchone()[0]
        if overlaps:
            if deal.commercial_ends_at:
                raise OfferConflict(gettext("Cannot make the offer: it conflicts with %(deal)s, which holds some of "
                                            "these works exclusively until %(date)s.")
                                    % {"deal": _describe(deal), "date": formats.day(deal.commercial_ends_at)})
            raise OfferConflict(gettext("Cannot make the offer: it conflicts with %(deal)s, which holds some of these "
                                        "works exclusively (offered, not yet paid).") % {"deal": _describe(deal)})
    if not exclusive:
        return
    states = ", ".join(f"'{state}'" for state in HOLDING)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT g.licence_id FROM {item} g JOIN {licence_table} m ON m.id = g.licence_id
            JOIN {asset} a ON a.id = g.asset_id
            WHERE g.licence_id <> %s AND g.withdrawn_at IS NULL AND m.state IN ({states}) AND {covered}
            LIMIT 1
        """, [licence.pk])
        row = cursor.fetchone()
    if row:
        holder = Licence.objects.select_related("organisation").get(pk=row[0])
        raise OfferConflict(gettext("Cannot make the offer exclusive: it conflicts with %(deal)s, which was already "
                                    "granted some of these works.")
                            % {"deal": _describe(holder)})


# --- Collections -----------------------------------------------------------------------

def _owner_fields(owner_contributor, owner_organisation):
    if (owner_contributor is None) == (owner_organisation is None):
        raise CollectionRefused(gettext("A collection has one owner: a contributor or an organisation."))
    return {"owner_contributor": owner_contributor, "owner_organisation": owner_organisation}


def _works_by_external_id(external_ids):
    wanted = [e.strip() for e in external_ids if e and e.strip()]
    found = dict(Asset.objects.filter(external_id__in=wanted).values_list("external_id", "pk"))
    missing = [e for e in wanted if e not in found]
    if missing:
        raise CollectionRefused(gettext("No works with the external ids %(ids)s%(more)s: nothing was changed.")
                                % {"ids": ", ".join(missing[:10]), "more": " …" if len(missing) > 10 else ""})
    return [found[e] for e in wanted]


@transaction.atomic
def collection_create(*, name, by, owner_contributor=None, owner_organisation=None, description="",
                      work_external_ids=()):
    name = (name or "").strip()
    if not name:
        raise CollectionRefused(gettext("Give the collection a name."))
    if Collection.objects.filter(name=name).exists():
        raise CollectionRefused(gettext("There is already a collection called “%(name)s”.") % {"name": name})
    owner = _owner_fields(owner_contributor, owner_organisation)
    work_ids = _works_by_external_id(work_external_ids)
    collection = Collection.objects.create(name=name, description=description, **owner)
    moved = Asset.objects.filter(pk__in=work_ids).update(collection=collection)
    audit(actor=by, organisation=owner_organisation, action="collection.create", target=collection,
          payload={"name": name, "works": moved})
    return collection


@transaction.atomic
def collection_add_works(*, collection, by, work_external_ids):
    """Put works into the collection (a work is in one collection at most: it moves)."""
    work_ids = _works_by_external_id(work_external_ids)
    moved = Asset.objects.filter(pk__in=work_ids).exclude(collection=collection).update(collection=collection)
    audit(actor=by, organisation=collection.owner_organisation, action="collection.add_works", target=collection,
          payload={"works": moved})
    return moved


# --- Rightsholders ----------------------------------------------------------------------

@transaction.atomic
def rightsholders_set(*, asset, by, shares):
    """Replace the work's rightsholders. `shares`: [(contributor or organisation, share in basis points)]
    adding to 100% (10,000); an empty list gives the work back wholly to its contributor."""
    locked = Asset.objects.select_for_update().get(pk=asset.pk)
    label = locked.external_id or f"#{locked.pk}"
    total = sum(bp for _, bp in shares)
    if shares and total != WHOLE:
        percent = f"{total / 100:g}"
        raise CollectionRefused(gettext("The rightsholders' shares of work %(label)s add to %(percent)s%%, not 100%%.")
                                % {"label": label, "percent": percent})
    if any(bp <= 0 for _, bp in shares):
        raise CollectionRefused(gettext("Every rightsholder of work %(label)s needs a share above 0%%.")
                                % {"label": label})
    rows = []
    for party, bp in shares:
        is_contributor = party._meta.model_name == "contributor"
        rows.append(Rightsholder(asset=locked, share_bp=bp, contributor=party if is_contributor else None,
                                 organisation=None if is_contributor else party))
    if len({(r.contributor_id, r.organisation_id) for r in rows}) != len(rows):
        raise CollectionRefused(gettext("A rightsholder of work %(label)s is listed twice.") % {"label": label})
    Rightsholder.objects.filter(asset=locked).delete()
    Rightsholder.objects.bulk_create(rows)
    audit(actor=by, organisation=None, action="asset.rightsholders", target=locked,
          payload={"shares": [{"contributor": r.contributor_id, "organisation": r.organisation_id,
                               "share_bp": r.share_bp} for r in rows]})
    return rows
