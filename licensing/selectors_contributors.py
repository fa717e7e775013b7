"""Reads about contributors: their portal, the staff overview, and what the public may see.

The rule "a contributor sees only their own" lives in `contributor_of`; the rule "the
public sees no contributor who has not chosen a public profile" lives in the public
readers below, which return counts and licensee names only, never a contributor.
"""
from datetime import datetime

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from licensing.models import (
    Asset,
    Contributor,
    ContributorConsentChange,
    Licence,
    LicencePhase,
    RoyaltyEntry,
    RoyaltyPayout,
    SliceItem,
)


def contributor_of(*, user):
    """The contributor the user is, or 404: the portal does not exist for anyone else."""
    if not user.is_authenticated:
        raise Http404("No contributor account.")
    contributor = Contributor.objects.filter(user_id=user.pk).first()
    if contributor is None:
        raise Http404("No contributor account.")
    return contributor


def public_contributor(*, pk):
    """A contributor who chose a public profile, or 404 (whether or not the id exists)."""
    contributor = Contributor.objects.filter(pk=pk, public_profile=True).first()
    if contributor is None:
        raise Http404("No such public contributor.")
    return contributor


def contributor_works(*, contributor, kind=None, title=None):
    works = Asset.objects.filter(contributor=contributor)
    if kind:
        works = works.filter(kind=kind)
    if title:
        works = works.filter(title__icontains=title)
    return works.annotate(
        licences=Count("grants__licence_id", distinct=True),
    ).order_by("-id")


def work_counts(*, contributor):
    """{"image": n, "video": m} for the contributor's catalogue."""
    rows = Asset.objects.filter(contributor=contributor).values("kind").annotate(n=Count("id")).order_by()
    counts = {kind: 0 for kind in Asset.Kind.values}
    counts.update({row["kind"]: row["n"] for row in rows})
    return counts


def licence_purpose(licence, phase):
    """What the licensee may use the works for in that phase, in the licence's own words."""
    if phase == LicencePhase.COMMERCIAL and licence.offer_scope:
        return licence.offer_scope
    return licence.intended_use


def works_used(*, contributor):
    """Every licence granted any of the contributor's works, one row per licence and phase:
    the licensee, the purpose, how many works, how many withdrawn since, first and last grant."""
    rows = list(
        SliceItem.objects.filter(asset__contributor_id=contributor.pk)
        .values("licence_id", "slice__phase")
        .annotate(
            assets=Count("asset_id", distinct=True),
            withdrawn=Count("asset_id", distinct=True, filter=Q(withdrawn_at__isnull=False)),
            first_granted=Min("slice__finished_at"),
            last_granted=Max("slice__finished_at"),
        )
        .order_by("-last_granted", "licence_id")
    )
    licences = Licence.objects.select_related("organisation").in_bulk({row["licence_id"] for row in rows})
    used = []
    for row in rows:
        licence = licences[row["licence_id"]]
        phase = row["slice__phase"]
        used.append({
            "licence": licence,
            "licensee": licence.organisation.name,
            "phase": phase,
            "phase_label": LicencePhase(phase).label if phase in LicencePhase.values else phase,
            "purpose": licence_purpose(licence, phase),
            "assets": row["assets"],
            "withdrawn": row["withdrawn"],
            "first_granted": row["first_granted"],
            "last_granted": row["last_granted"],
        })
    return used


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


def earnings_by_month(*, contributor):
    """The contributor's ledger per month and currency: shares of payments, reversals, net."""
    return list(
        RoyaltyEntry.objects.filter(contributor=contributor)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "currency")
        .annotate(
            earned=Sum("amount", filter=Q(reason=RoyaltyEntry.Reason.PAYMENT)),
            reversed=Sum("amount", filter=Q(reason=RoyaltyEntry.Reason.CREDIT_NOTE)),
            net=Sum("amount"),
            entries=Count("id"),
        )
        .order_by("-month", "currency")
    )


def earnings_totals(*, contributor):
    """Everything credited and everything paid out, per currency."""
    credited = dict(
        RoyaltyEntry.objects.filter(contributor=contributor).values("currency")
        .annotate(total=Sum("amount")).order_by().values_list("currency", "total")
    )
    paid = dict(
        RoyaltyPayout.objects.filter(contributor=contributor, paid_at__isnull=False).values("currency")
        .annotate(total=Sum("amount")).order_by().values_list("currency", "total")
    )
    return [
        {"currency": currency, "credited": credited.get(currency) or 0, "paid": paid.get(currency) or 0}
        for currency in sorted(set(credited) | set(paid))
    ]


def royalties_by_month():
    """For every month: royalties credited to contributors (net of reversals) and paid out, per currency."""
    credited = (
        RoyaltyEntry.objects.annotate(month=TruncMonth("created_at"))
        .values("month", "currency")
        .annotate(
            earned=Sum("amount", filter=Q(reason=RoyaltyEntry.Reason.PAYMENT)),
            reversed=Sum("amount", filter=Q(reason=RoyaltyEntry.Reason.CREDIT_NOTE)),
            net=Sum("amount"),
            contributors=Count("contributor_id", distinct=True),
        )
        .order_by()
    )
    paid = (
        RoyaltyPayout.objects.filter(paid_at__isnull=False)
        .annotate(month=TruncMonth("paid_at"))
        .values("month", "currency")
        .annotate(paid=Sum("amount"), payees=Count("contributor_id", distinct=True))
        .order_by()
    )
    months = {}
    for row in credited:
        months[(row["month"], row["currency"])] = {
            "month": row["month"], "currency": row["currency"], "earned": row["earned"] or 0,
            "reversed": row["reversed"] or 0, "net": row["net"] or 0, "contributors": row["contributors"],
            "paid": 0, "payees": 0,
        }
    for row in paid:
        entry = months.setdefault((row["month"], row["currency"]), {
            "month": row["month"], "currency": row["currency"], "earned": 0, "reversed": 0, "net": 0,
            "contributors": 0,
        })
        entry.update(paid=row["paid"], payees=row["payees"])
    return sorted(months.values(), key=lambda row: (row["month"], row["currency"]), reverse=True)


def month_starts(*, count, now=None):
    """The first instants of the last `count` months, oldest first, ending with the current month."""
    now = timezone.localtime(now or timezone.now())
    year, month = now.year, now.month
    starts = []
    for _ in range(count):
        starts.append(timezone.make_aware(datetime(year, month, 1)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def _next_month(start):
    return timezone.make_aware(datetime(start.year + (start.month == 12), start.month % 12 + 1, 1))


def opt_out_rate_by_month(*, months=12, now=None):
    """For each month, from the consent history: contributors at its end, how many of them had
    opted out by then, and the opt-outs and opt-ins recorded during it."""
    now = now or timezone.now()
    starts = month_starts(count=months, now=now)
    window_start = starts[0]
    changes = (
        ContributorConsentChange.objects.filter(changed_at__gte=window_start, changed_at__lt=_next_month(starts[-1]))
        .annotate(month=TruncMonth("changed_at"))
        .values("month")
        .annotate(outs=Count("id", filter=Q(opted_out=True)), ins=Count("id", filter=Q(opted_out=False)))
        .order_by()
    )
    moves = {row["month"]: row for row in changes}
    rows = []
    for start in starts:
        end = min(_next_month(start), now)
        total = Contributor.objects.filter(created_at__lt=end).count()
        later = ContributorConsentChange.objects.filter(
            contributor_id=OuterRef("contributor_id"), changed_at__lt=end
        ).filter(Q(changed_at__gt=OuterRef("changed_at")) | Q(changed_at=OuterRef("changed_at"), id__gt=OuterRef("id")))
        opted_out = (
            ContributorConsentChange.objects.filter(changed_at__lt=end, opted_out=True)
            .exclude(Exists(later))
            .count()
        )
        move = moves.get(start, {})
        rows.append({
            "month": start,
            "contributors": total,
            "opted_out": opted_out,
            "rate": round(100 * opted_out / total, 2) if total else 0,
            "opt_outs": move.get("outs", 0),
            "opt_ins": move.get("ins", 0),
        })
    return rows


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
