"""Royalty statements, closing a month, and paying contributors.

A statement is read from the ledger: the balance owed at the start of the month (every
entry before it, less what was paid out before it), the month's entries grouped by
licence, the payouts made in it, and the balance at its end. Entries are written with
the time they were made, so once a month is over its statement no longer changes.

Finance closes months in order. Closing a month makes one payout per contributor and
currency for everything owed up to its end that no earlier payout covers; a balance
that a credit note made negative is carried into the next month instead of paid.
"""
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import structlog
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from licensing.models import Licence, RoyaltyEntry, RoyaltyPayout, RoyaltyPeriod
from licensing.models.billing import round_money
from licensing.services.audit import audit

log = structlog.get_logger(__name__)

ZERO = Decimal("0.00")


class StatementRefused(Exception):
    """A royalty action that cannot be carried out; the message says why. Nothing was changed."""


def parse_month(value):
    """"2026-03" -> date(2026, 3, 1); ValueError for anything else."""
    year, month = (int(part) for part in str(value).split("-"))
    if not 1 <= month <= 12 or year < 2000:
        raise ValueError(value)
    return date(year, month, 1)


def month_bounds(month):
    """The month's first instant and the next month's, in the site's time zone."""
    start = timezone.make_aware(datetime(month.year, month.month, 1))
    end = timezone.make_aware(datetime(month.year + (month.month == 12), month.month % 12 + 1, 1))
    return start, end


def current_month(now=None):
    now = timezone.localtime(now or timezone.now())
    return date(now.year, now.month, 1)


# --- Statements ---------------------------------------------------------------

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
            earned=Sum("amount", filter=Q(reason=RoyaltyEntry.Reason.PAYMENT)),
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


def safe_cell(value):
    """A spreadsheet would run a cell starting with =, +, - or @ as a formula: quote it."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _is_number(text) else text


def _is_number(text):
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def statement_csv_rows(statement):
    yield ["month", "currency", "line", "licence", "licensee", "phase", "earned", "reversed", "amount", "reference"]
    month = f"{statement.month:%Y-%m}"
    for cs in statement.currencies:
        yield [month, cs.currency, "opening balance", "", "", "", "", "", cs.opening, ""]
        for line in cs.lines:
            yield [month, cs.currency, "royalties", line.licence_id, safe_cell(line.licensee), line.phase,
                   line.earned, line.reversed, line.net, ""]
        for payout in cs.payouts:
            yield [month, cs.currency, "payout", "", "", "", "", "", -payout.amount, payout.reference]
        yield [month, cs.currency, "closing balance", "", "", "", "", "", cs.closing, ""]


# --- Closing a month and paying out ----------------------------------------------

def _lock_periods():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(b"royalty-periods")])
    # SQLite runs one writing transaction at a time.


def royalty_period_close(*, month, by, now=None):
    """Close the month and make its payouts. Returns (period, created): closing twice changes nothing."""
    month = month.replace(day=1)
    now = now or timezone.now()
    _, end = month_bounds(month)
    if end > now:
        raise StatementRefused(f"{month:%B %Y} is not over yet: it can be closed from {end:%d %B %Y}.")
    with transaction.atomic():
        _lock_periods()
        existing = RoyaltyPeriod.objects.filter(month=month).first()
        if existing is not None:
            return existing, False
        later = RoyaltyPeriod.objects.filter(month__gt=month).order_by("month").first()
        if later is not None:
            raise StatementRefused(
                f"{later} is already closed and months are closed in order: the royalties of {month:%B %Y} "
                f"were paid with {later}'s payouts."
            )
        period = RoyaltyPeriod.objects.create(month=month, closed_by=by)
        created = royalty_payouts_prepare(period=period)
        totals = _sums_by_currency(period.payouts.all())
        audit(actor=by, organisation=None, action="royalty_period.close", target=period,
              payload={"month": f"{month:%Y-%m}", "payouts": created, "totals": totals})
    log.info("royalty_period_closed", month=f"{month:%Y-%m}", payouts=created)
    return period, True


def royalty_payouts_prepare(*, period):
    """One payout per contributor and currency owed anything up to the period's end that earlier
    periods' payouts do not cover. Set-based, and safe to run any number of times."""
    _, end = month_bounds(period.month)
    entry, payout, period_table = (RoyaltyEntry._meta.db_table, RoyaltyPayout._meta.db_table,
                                   RoyaltyPeriod._meta.db_table)
    sql = f"""
        INSERT INTO {payout} (period_id, contributor_id, amount, currency, reference, paid_at)
        SELECT %(period)s, owed.contributor_id, owed.amount, owed.currency,
               %(prefix)s || CAST(owed.contributor_id AS TEXT) || '-' || owed.currency, NULL
        FROM (
            SELECT e.contributor_id, e.currency, ROUND(e.total - COALESCE(p.total, 0), 2) AS amount
            FROM (
                SELECT contributor_id, currency, SUM(amount) AS total FROM {entry}
                WHERE created_at < %(end)s GROUP BY contributor_id, currency
            ) e
            LEFT JOIN (
                SELECT po.contributor_id, po.currency, SUM(po.amount) AS total
                FROM {payout} po JOIN {period_table} pe ON pe.id = po.period_id
                WHERE pe.month < %(month)s GROUP BY po.contributor_id, po.currency
            ) p ON p.contributor_id = e.contributor_id AND p.currency = e.currency
        ) owed
        WHERE owed.amount > 0
        ON CONFLICT DO NOTHING
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"period": period.pk, "end": end, "month": period.month,
                             "prefix": f"ROY-{period.month:%Y%m}-"})
        created = cursor.rowcount
    if created:
        log.info("royalty_payouts_prepared", month=f"{period.month:%Y-%m}", payouts=created)
    return created


def payout_csv_rows(*, period):
    """The bank's list: one row per payout of the period, made first if any are missing.

    Only the latest closed month can still gain payouts: a later month's payouts were
    computed from this one's, so adding to it afterwards would pay the same money twice."""
    with transaction.atomic():
        _lock_periods()
        if not RoyaltyPeriod.objects.filter(month__gt=period.month).exists():
            royalty_payouts_prepare(period=period)
    yield ["contributor_id", "contributor", "amount", "currency", "reference", "paid_at"]
    payouts = (
        RoyaltyPayout.objects.filter(period=period).select_related("contributor").order_by("currency", "contributor_id")
    )
    for p in payouts.iterator(chunk_size=2000):
        yield [p.contributor_id, safe_cell(p.contributor.display_name), p.amount, p.currency, p.reference,
               p.paid_at.isoformat() if p.paid_at else ""]


def royalty_payouts_mark_paid(*, period, by, references=None, now=None):
    """Record that the bank made the period's payouts: all of them, or those named by reference.
    Payouts already marked keep their date. Returns how many were marked now."""
    now = now or timezone.now()
    with transaction.atomic():
        payouts = RoyaltyPayout.objects.select_for_update().filter(period=period)
        if references is not None:
            references = sorted({ref.strip() for ref in references if ref.strip()})
            if not references:
                raise StatementRefused("Give at least one payout reference, or mark every payout as made.")
            known = set(payouts.filter(reference__in=references).values_list("reference", flat=True))
            unknown = [ref for ref in references if ref not in known]
            if unknown:
                raise StatementRefused(f"Not payouts of {period}: {', '.join(unknown[:10])}"
                                       f"{' …' if len(unknown) > 10 else ''}. Nothing was marked.")
            payouts = payouts.filter(reference__in=references)
        marked = payouts.filter(paid_at__isnull=True).update(paid_at=now)
        audit(actor=by, organisation=None, action="royalty_payouts.mark_paid", target=period,
              payload={"month": f"{period.month:%Y-%m}", "marked": marked, "references": references or "all"})
    log.info("royalty_payouts_marked_paid", month=f"{period.month:%Y-%m}", marked=marked)
    return marked


def period_summary(*, period):
    """Per currency: how many payouts, their total, and how many are marked paid."""
    return list(
        RoyaltyPayout.objects.filter(period=period).values("currency").annotate(
            payouts=Count("id"), total=Sum("amount"), paid=Count("id", filter=Q(paid_at__isnull=False)),
            paid_total=Sum("amount", filter=Q(paid_at__isnull=False)),
        ).order_by("currency")
    )
