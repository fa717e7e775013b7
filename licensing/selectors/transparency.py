"""What the public may see: counts and licensee names, never a contributor who did not choose a public profile."""

from django.db.models import Count, Exists, Max, Min, OuterRef, Q

from licensing.models import Asset, Contributor, LicencePhase, SliceItem


def grants_by_licensee(*, contributor=None):
    """Per licensee organisation and phase: how many works and contributors were granted, and when.
    Counts only: safe for the public page."""
    items = SliceItem.objects.all()
    if contributor is not None:
        items = items.filter(asset__contributor_id=contributor.pk)
    rows = (
        items.values("licence__organisation_id", "licence__organisation__name", "slice__phase")
        .annotate(
            licences=Count("licence_id", distinct=True),
            assets=Count("asset_id", distinct=True),
            contributors=Count("asset__contributor_id", distinct=True),
            withdrawn=Count("asset_id", distinct=True, filter=Q(withdrawn_at__isnull=False)),
            first_granted=Min("slice__finished_at"),
            last_granted=Max("slice__finished_at"),
        )
        .order_by("licence__organisation__name", "slice__phase")
    )
    return [
        {
            "licensee": row["licence__organisation__name"],
            "phase": row["slice__phase"],
            "phase_label": LicencePhase(row["slice__phase"]).label
            if row["slice__phase"] in LicencePhase.values else row["slice__phase"],
            "licences": row["licences"],
            "assets": row["assets"],
            "contributors": row["contributors"],
            "withdrawn": row["withdrawn"],
            "first_granted": row["first_granted"],
            "last_granted": row["last_granted"],
        }
        for row in rows
    ]


def public_contributors_used():
    """Contributors who chose a public profile and whose works were granted, with how many."""
    return (
        Contributor.objects.filter(public_profile=True)
        .annotate(granted=Count("assets__grants__asset_id", distinct=True))
        .filter(granted__gt=0)
        .order_by("display_name", "id")
    )


def tdm_reservations():
    """The paths TDMRep reserves: each opted-out contributor's public pages, and the download
    paths of their works that were granted to a licence (the only ones that can be served)."""
    contributor_ids = Contributor.objects.filter(opted_out=True).order_by("id").values_list("id", flat=True)
    for contributor_id in contributor_ids.iterator(chunk_size=2000):
        yield f"/contributors/{contributor_id}/*"
    granted = Asset.objects.filter(
        contributor__opted_out=True
    ).filter(Exists(SliceItem.objects.filter(asset_id=OuterRef("pk")))).order_by("id").values_list("id", flat=True)
    for asset_id in granted.iterator(chunk_size=5000):
        # `$` ends the pattern (robots.txt syntax), so asset 12 does not also reserve asset 123.
        yield f"/dl/*/assets/{asset_id}$"
