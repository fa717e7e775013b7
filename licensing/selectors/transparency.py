"""What the public may see: counts and licensee names, never a contributor who did not choose a public profile."""

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, Max, Min, OuterRef, Q

from licensing.models import Asset, Contributor, LicencePhase, SliceItem
from licensing.selectors.ai_models import model_page_path, public_models
from licensing.selectors.royalties import royalties_by_month

# The public page aggregates every grant ever made; a visitor should not be able to make it run per
# request. Whatever changes its figures (a grant, a withdrawal, a licence changing phase, a royalty)
# forgets the cached copy, so the page is never staler than the next request after a change.
CACHE_KEY = "transparency:v2"


def grants_by_licensee(*, contributor=None):
    """Per licensee organisation and phase: how many works and contributors were granted, and when.
    Counts only: safe for the public page."""
    items = SliceItem.objects.all()
    if contributor is not None:
        items = items.filter(asset__contributor_id=contributor.pk)
    # The phase is the licence's own, now: a research licence that became commercial reads commercial
    # for every work it holds, since they are held under the commercial agreement.
    rows = (
        items.values("licence__organisation_id", "licence__organisation__name", "licence__phase")
        .annotate(
            licences=Count("licence_id", distinct=True),
            assets=Count("asset_id", distinct=True),
            contributors=Count("asset__contributor_id", distinct=True),
            withdrawn=Count("asset_id", distinct=True, filter=Q(withdrawn_at__isnull=False)),
            first_granted=Min("slice__finished_at"),
            last_granted=Max("slice__finished_at"),
        )
        .order_by("licence__organisation__name", "licence__phase")
    )
    return [
        {
            "licensee": row["licence__organisation__name"],
            "phase": row["licence__phase"],
            "phase_label": LicencePhase(row["licence__phase"]).label
            if row["licence__phase"] in LicencePhase.values else row["licence__phase"],
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


def transparency_report():
    """The public page's figures, cached until something changes them (see CACHE_KEY)."""
    report = cache.get(CACHE_KEY)
    if report is None:
        report = {
            "grants": grants_by_licensee(),
            "royalties": royalties_by_month()[:24],
            "contributor_count": Contributor.objects.count(),
            "opted_out_count": Contributor.objects.filter(opted_out=True).count(),
            "public_contributors": list(public_contributors_used().values("pk", "display_name", "granted")[:200]),
            "public_models": [{"name": model.name, "licensee": model.organisation.name, "url": model_page_path(model),
                               "versions": model.released_versions} for model in public_models()[:200]],
        }
        cache.set(CACHE_KEY, report, settings.TRANSPARENCY_CACHE_SECONDS)
    return report


def transparency_changed():
    """Forget the cached public figures; called by the services after a change commits."""
    cache.delete(CACHE_KEY)
