"""Reads about contributors: their portal, the staff overview, and what the public may see.

The rule "a contributor sees only their own" lives in `contributor_of`; the rule "the
public sees no contributor who has not chosen a public profile" lives in the public
readers below, which return counts and licensee names only, never a contributor.
"""

from django.conf import settings
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format

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
from licensing.months import month_starts, next_month_start
from licensing.selectors.royalties import royalties_by_month


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
    return works.select_related("preview").annotate(
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


def opt_out_rate_by_month(*, months=12, now=None):
    """For each month, from the consent history: contributors at its end, how many of them had
    opted out by then, and the opt-outs and opt-ins recorded during it."""
    now = now or timezone.now()
    starts = month_starts(count=months, now=now)
    window_start = starts[0]
    changes = (
        ContributorConsentChange.objects.filter(changed_at__gte=window_start, changed_at__lt=next_month_start(starts[-1]))
        .annotate(month=TruncMonth("changed_at"))
        .values("month")
        .annotate(outs=Count("id", filter=Q(opted_out=True)), ins=Count("id", filter=Q(opted_out=False)))
        .order_by()
    )
    moves = {row["month"]: row for row in changes}
    rows = []
    for start in starts:
        end = min(next_month_start(start), now)
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


# What an opt-out withdraws, as one rule for the service that withdraws and every page that says so:
# grants to licences still in their research phase end at once; a licence that became commercial
# holds every work it was granted, in either phase, under the commercial agreement that was paid for.
WITHDRAWN_BY_OPT_OUT = ~Q(licence__phase=LicencePhase.COMMERCIAL)


def grants_an_opt_out_withdraws(*, contributor_id):
    return SliceItem.objects.filter(WITHDRAWN_BY_OPT_OUT, asset__contributor_id=contributor_id,
                                    withdrawn_at__isnull=True)


def opt_out_effect(*, contributor):
    """What an opt-out would change now: research grants withdrawn, commercial licences' grants kept."""
    live = SliceItem.objects.filter(asset__contributor_id=contributor.pk, withdrawn_at__isnull=True)
    return live.aggregate(
        research_items=Count("id", filter=WITHDRAWN_BY_OPT_OUT),
        research_licences=Count("licence_id", distinct=True, filter=WITHDRAWN_BY_OPT_OUT),
        commercial_items=Count("id", filter=~WITHDRAWN_BY_OPT_OUT),
        commercial_licences=Count("licence_id", distinct=True, filter=~WITHDRAWN_BY_OPT_OUT),
    )


def staff_overview(*, now=None):
    """Licensor staff's view of contributors: opt-out rate over the last year, royalties per month, balances."""
    from_royalties = royalties_by_month()
    rate = opt_out_rate_by_month(months=12, now=now)
    currencies = sorted({row["currency"] for row in from_royalties})
    months = [row["month"] for row in rate]
    by_key = {(row["month"], row["currency"]): row for row in from_royalties}
    chart = {
        "months": [date_format(m, "M Y") for m in months],
        "rate": [float(row["rate"]) for row in rate],
        "opt_outs": [row["opt_outs"] for row in rate],
        "opt_ins": [row["opt_ins"] for row in rate],
        "royalties": [
            {"currency": currency,
             "net": [float(by_key.get((m, currency), {}).get("net", 0)) for m in months],
             "paid": [float(by_key.get((m, currency), {}).get("paid", 0)) for m in months]}
            for currency in currencies
        ],
    }
    contributors = Contributor.objects.aggregate(
        total=Count("id"), opted_out=Count("id", filter=Q(opted_out=True)),
        public=Count("id", filter=Q(public_profile=True)), linked=Count("id", filter=Q(user__isnull=False)),
    )
    owed = RoyaltyEntry.objects.values("currency").annotate(total=Sum("amount")).order_by("currency")
    paid = dict(
        RoyaltyPayout.objects.filter(paid_at__isnull=False).values("currency").annotate(total=Sum("amount"))
        .order_by().values_list("currency", "total")
    )
    return {
        "contributors": contributors,
        "rate_now": round(100 * contributors["opted_out"] / contributors["total"], 2) if contributors["total"] else 0,
        "rate": rate[::-1],
        "royalties": from_royalties[:36],
        "balances": [{"currency": row["currency"], "credited": row["total"], "paid": paid.get(row["currency"], 0)}
                     for row in owed],
        "chart": chart,
        "recent_changes": ContributorConsentChange.objects.select_related("contributor")[:20],
    }


def earnings_per_work(*, contributor, work_ids):
    """{work id: {currency: amount}}: the contributor's royalties from each licence shared out over
    the works that licence holds, by the weights the pools split by (kind weight per granted item).
    An estimate (a pool is split between contributors, not works): the page says so."""
    weights = settings.ROYALTY_KIND_WEIGHTS
    items = list(SliceItem.objects.filter(asset_id__in=list(work_ids), withdrawn_at__isnull=True)
                 .values("asset_id", "asset__kind", "licence_id").annotate(n=Count("id")).order_by())
    licence_ids = {row["licence_id"] for row in items}
    if not licence_ids:
        return {}
    earned = {}
    for row in (RoyaltyEntry.objects.filter(contributor_id=contributor.pk, licence_id__in=licence_ids)
                .values("licence_id", "currency").annotate(total=Sum("amount")).order_by()):
        earned.setdefault(row["licence_id"], []).append((row["currency"], row["total"]))
    totals = {}
    for row in (SliceItem.objects.filter(licence_id__in=licence_ids, asset__contributor_id=contributor.pk,
                                         withdrawn_at__isnull=True)
                .values("licence_id", "asset__kind").annotate(n=Count("id")).order_by()):
        totals[row["licence_id"]] = totals.get(row["licence_id"], 0) + row["n"] * weights.get(row["asset__kind"], 1)
    per_work = {}
    for row in items:
        weight = row["n"] * weights.get(row["asset__kind"], 1)
        for currency, total in earned.get(row["licence_id"], []):
            share = total * weight / totals[row["licence_id"]] if totals.get(row["licence_id"]) else 0
            amounts = per_work.setdefault(row["asset_id"], {})
            amounts[currency] = amounts.get(currency, 0) + share
    return {work: {c: round(a, 2) for c, a in amounts.items()} for work, amounts in per_work.items()}
