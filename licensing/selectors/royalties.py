"""Royalty reads: a contributor's earnings, statements, and the months finance closes."""
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone
from django.utils.translation import pgettext

from licensing.models import Licence, RoyaltyEntry, RoyaltyPayout, RoyaltyPeriod
from licensing.models.billing import round_money
from licensing.months import add_months, current_month, month_bounds, parse_month
from licensing.selectors.attribution import contributor_report_lines
from licensing.spreadsheets import header


def earnings_by_month(*, contributor):
    """The contributor's ledger per month and currency: shares of payments, reversals, net."""
    return list(
        RoyaltyEntry.objects.filter(contributor=contributor)
        .annotate(month=TruncMonth("created_at"))
        .values("month", "currency")
        .annotate(
            earned=Sum("amount", filter=Q(reason__in=[RoyaltyEntry.Reason.PAYMENT, RoyaltyEntry.Reason.ATTRIBUTION])),
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
            earned=Sum("amount", filter=Q(reason__in=[RoyaltyEntry.Reason.PAYMENT, RoyaltyEntry.Reason.ATTRIBUTION])),
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


ZERO = Decimal("0.00")


@dataclass
class LicenceLine:
    licence_id: int
    licensee: str
    phase: str
    earned: Decimal
    reversed: Decimal
    net: Decimal
    entries: int


@dataclass
class CurrencyStatement:
    currency: str
    opening: Decimal = ZERO
    lines: list = field(default_factory=list)
    payouts: list = field(default_factory=list)

    @property
    def earned(self):
        return sum((line.net for line in self.lines), ZERO)

    @property
    def paid_out(self):
        return sum((payout.amount for payout in self.payouts), ZERO)

    @property
    def closing(self):
        return self.opening + self.earned - self.paid_out


@dataclass
class Statement:
    contributor: object
    month: date
    starts_at: datetime
    ends_at: datetime
    is_final: bool
    currencies: list
    usage_reports: list = field(default_factory=list)  # per usage report processed in the month: their part


def _money(value):
    # SQLite (the embedded runtime) sums decimals as floats: bring them back to cents.
    return round_money(value or 0)


def _sums_by_currency(queryset, amount="amount"):
    return {
        row["currency"]: _money(row["total"])
        for row in queryset.values("currency").annotate(total=Sum(amount)).order_by()
    }


def contributor_statement(*, contributor, month):
    start, end = month_bounds(month)
    entries = RoyaltyEntry.objects.filter(contributor=contributor)
    paid = RoyaltyPayout.objects.filter(contributor=contributor, paid_at__isnull=False)
    opening_credit = _sums_by_currency(entries.filter(created_at__lt=start))
    opening_paid = _sums_by_currency(paid.filter(paid_at__lt=start))
    rows = list(
        entries.filter(created_at__gte=start, created_at__lt=end)
        .values("licence_id", "currency")
        .annotate(
            earned=Sum("amount", filter=Q(reason__in=[RoyaltyEntry.Reason.PAYMENT, RoyaltyEntry.Reason.ATTRIBUTION])),
            reversed=Sum("amount", filter=Q(reason=RoyaltyEntry.Reason.CREDIT_NOTE)),
            net=Sum("amount"),
            entries=Count("id"),
        )
        .order_by("licence_id")
    )
    payouts = list(paid.filter(paid_at__gte=start, paid_at__lt=end).select_related("period").order_by("paid_at", "id"))
    licences = Licence.objects.select_related("organisation").in_bulk({row["licence_id"] for row in rows})

    by_currency = {}
    for currency in set(opening_credit) | set(opening_paid):
        by_currency[currency] = CurrencyStatement(
            currency=currency, opening=opening_credit.get(currency, ZERO) - opening_paid.get(currency, ZERO)
        )
    for row in rows:
        licence = licences[row["licence_id"]]
        by_currency.setdefault(row["currency"], CurrencyStatement(currency=row["currency"])).lines.append(LicenceLine(
            licence_id=licence.pk, licensee=licence.organisation.name, phase=licence.get_phase_display(),
            earned=_money(row["earned"]), reversed=_money(row["reversed"]), net=_money(row["net"]),
            entries=row["entries"],
        ))
    for payout in payouts:
        by_currency.setdefault(payout.currency, CurrencyStatement(currency=payout.currency)).payouts.append(payout)
    return Statement(
        contributor=contributor, month=month, starts_at=start, ends_at=end,
        # A closed later month covers this one too: months are closed in order.
        is_final=RoyaltyPeriod.objects.filter(month__gte=month).exists(),
        currencies=[by_currency[currency] for currency in sorted(by_currency)],
        usage_reports=contributor_report_lines(contributor=contributor, starts_at=start, ends_at=end),
    )


def statement_months(*, contributor, now=None):
    """Months with anything on the contributor's statement, newest first, always including this one."""
    credited = RoyaltyEntry.objects.filter(contributor=contributor).annotate(m=TruncMonth("created_at"))
    paid = RoyaltyPayout.objects.filter(contributor=contributor, paid_at__isnull=False).annotate(
        m=TruncMonth("paid_at"))
    months = {current_month(now)}
    for queryset in (credited, paid):
        months.update(
            timezone.localtime(m).date().replace(day=1)
            for m in queryset.values_list("m", flat=True).distinct().order_by()
        )
    return sorted(months, reverse=True)


def statement_csv_rows(statement):
    yield header("month", "currency", "line", "licence", "licensee", "phase", "earned", "reversed", "amount",
                 "reference")
    month = f"{statement.month:%Y-%m}"
    for cs in statement.currencies:
        yield [month, cs.currency, pgettext("statement line", "opening balance"), "", "", "", "", "", cs.opening, ""]
        for line in cs.lines:
            yield [month, cs.currency, pgettext("statement line", "royalties"), line.licence_id, line.licensee,
                   line.phase,
                   line.earned, line.reversed, line.net, ""]
        for payout in cs.payouts:
            yield [month, cs.currency, pgettext("statement line", "payout"), "", "", "", "", "", -payout.amount,
                   payout.reference]
        yield [month, cs.currency, pgettext("statement line", "closing balance"), "", "", "", "", "", cs.closing, ""]


def payout_csv_rows(*, period):
    """The bank's list: one row per payout of the period."""
    yield header("contributor_id", "contributor", "amount", "currency", "reference", "paid_at")
    payouts = (
        RoyaltyPayout.objects.filter(period=period).select_related("contributor", "organisation")
        .order_by("currency", "contributor_id", "organisation_id")
    )
    for p in payouts.iterator(chunk_size=2000):
        # A rightsholder that is an organisation is paid like a contributor; its name says which it is.
        name = p.contributor.display_name if p.contributor_id else f"{p.organisation.legal_name} (organisation)"
        yield [p.contributor_id or f"org-{p.organisation_id}", name, p.amount, p.currency, p.reference,
               p.paid_at.isoformat() if p.paid_at else ""]


def period_summary(*, period):
    """Per currency: how many payouts, their total, and how many are marked paid."""
    return list(
        RoyaltyPayout.objects.filter(period=period).values("currency").annotate(
            payouts=Count("id"), total=Sum("amount"), paid=Count("id", filter=Q(paid_at__isnull=False)),
            paid_total=Sum("amount", filter=Q(paid_at__isnull=False)),
        ).order_by("currency")
    )


def closable_months(*, now=None):
    """Months that have ended and come after the last closed month, newest first."""
    current = current_month(now)
    last = RoyaltyPeriod.objects.order_by("-month").values_list("month", flat=True).first()
    if last is not None:
        month = add_months(last)
    else:
        first_entry = RoyaltyEntry.objects.order_by("created_at").values_list("created_at", flat=True).first()
        month = timezone.localtime(first_entry).date().replace(day=1) if first_entry else add_months(current, -1)
    months = []
    while month < current:
        months.append(month)
        month = add_months(month)
    return months[::-1]


def closed_periods():
    """Every closed month, newest first, with how many of its payouts exist and are marked paid."""
    return list(
        RoyaltyPeriod.objects.select_related("closed_by").annotate(
            payout_count=Count("payouts"), paid_count=Count("payouts", filter=Q(payouts__paid_at__isnull=False)),
        ).order_by("-month")
    )


def closed_period(*, month):
    """The closed period of "YYYY-MM", or 404."""
    try:
        month = parse_month(month)
    except ValueError:
        raise Http404("Give the month as YYYY-MM.") from None
    period = RoyaltyPeriod.objects.select_related("closed_by").filter(month=month).first()
    if period is None:
        raise Http404("That month is not closed.")
    return period


def period_payouts(*, period):
    return period.payouts.select_related("contributor").order_by("currency", "contributor_id")
