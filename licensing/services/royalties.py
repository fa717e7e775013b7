"""The contributors' 20%: a pool per payment, split in SQL by the largest-remainder method.

Every amount is handled in whole cents. Each contributor first gets the floor of their
exact share; the cents left over go, one each, to the largest remainders (ties broken by
contributor id), so the entries add up to the pool exactly and no share is negative.
"""
import zlib
from decimal import Decimal

import structlog
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from licensing import formats
from licensing.db import for_set_based_work
from licensing.models import (
    Asset,
    Invoice,
    InvoiceReason,
    Payment,
    Rightsholder,
    RoyaltyEntry,
    RoyaltyPayout,
    RoyaltyPeriod,
    RoyaltyPool,
    SliceItem,
    UsageReport,
)
from licensing.models.billing import round_money
from licensing.months import month_bounds
from licensing.selectors.royalties import _sums_by_currency
from licensing.selectors.transparency import transparency_changed
from licensing.services.audit import audit

log = structlog.get_logger(__name__)

WHOLE_SHARE = 10_000  # a work's whole rights, in hundredths of a percent


def cents_to_amount_sql(expression):
    if connection.vendor == "postgresql":
        return f"CAST({expression} AS numeric(14, 2)) / 100"
    return f"ROUND(({expression}) / 100.0, 2)"


def split_sql(*, weights_sql, cents, into, negative=False):
    """INSERT one ledger entry per weighted payee, splitting `cents` by largest remainder.

    `weights_sql` selects (contributor_id, organisation_id, weight) with positive integer weights,
    one of the two ids set per row (a payee is a contributor or an organisation); `into` names the
    extra columns and their values: a dict of column -> SQL literal or %(param)s. Ties go to
    contributors by id, then organisations by id.
    """
    columns = ", ".join(into)
    values = ", ".join(into.values())
    # The weights are read once (a CTE referenced twice is computed once) and every step after
    # works on one row per contributor. The entries are written in payee order: the ledger's indexes
    # lead with the payee (or the pool, then the payee), so each of their pages is visited once.
    # INSERT first, then the CTEs of its SELECT: SQLite reports the rows written only for
    # statements that begin with INSERT.
    return f"""
        INSERT INTO {RoyaltyEntry._meta.db_table} (contributor_id, organisation_id, amount, {columns})
        WITH w AS ({weights_sql}),
        t AS (SELECT CAST(SUM(weight) AS bigint) AS total FROM w),
        ranked AS (
            SELECT w.contributor_id, w.organisation_id,
                   ({cents} * w.weight) / t.total AS floor_cents,
                   row_number() OVER (ORDER BY ({cents} * w.weight) %% t.total DESC,
                                      CASE WHEN w.contributor_id IS NULL THEN 1 ELSE 0 END,
                                      COALESCE(w.contributor_id, w.organisation_id)) AS rnk
            FROM w CROSS JOIN t
        ),
        shares AS (
            SELECT contributor_id, organisation_id,
                   floor_cents + CASE WHEN rnk <= {cents} - SUM(floor_cents) OVER () THEN 1 ELSE 0 END AS share
            FROM ranked
        )
        SELECT contributor_id, organisation_id, {"-" if negative else ""}{cents_to_amount_sql("share")}, {values}
        FROM shares
        WHERE share > 0
        ORDER BY contributor_id, organisation_id
    """


def granted_weights_sql():
    """Per contributor, the weight of their assets granted to %(licence)s and not withdrawn."""
    image, video = int(settings.ROYALTY_KIND_WEIGHTS["image"]), int(settings.ROYALTY_KIND_WEIGHTS["video"])
    return (
        f"SELECT a.contributor_id, SUM(CASE WHEN a.kind = 'video' THEN {video} ELSE {image} END) AS weight "
        f"FROM {SliceItem._meta.db_table} i JOIN {Asset._meta.db_table} a ON a.id = i.asset_id "
        f"WHERE i.licence_id = %(licence)s AND i.withdrawn_at IS NULL GROUP BY a.contributor_id"
    )


def granted_payee_weights_sql():
    """Per payee, the weight of the works granted to %(licence)s and not withdrawn: a work without
    rightsholders weighs wholly for its contributor; a work with rightsholders splits its weight by
    their shares (in hundredths of a percent, so every weight is scaled by 10,000, which changes no
    floor and no order of remainders of the contributors-only split)."""
    image, video = int(settings.ROYALTY_KIND_WEIGHTS["image"]), int(settings.ROYALTY_KIND_WEIGHTS["video"])
    return (
        "SELECT x.contributor_id, x.organisation_id, SUM(x.weight) AS weight FROM ("
        f"SELECT CASE WHEN r.id IS NULL THEN a.contributor_id ELSE r.contributor_id END AS contributor_id, "
        f"r.organisation_id, (CASE WHEN a.kind = 'video' THEN {video} ELSE {image} END) "
        f"* COALESCE(r.share_bp, {WHOLE_SHARE}) AS weight "
        f"FROM {SliceItem._meta.db_table} i JOIN {Asset._meta.db_table} a ON a.id = i.asset_id "
        f"LEFT JOIN {Rightsholder._meta.db_table} r ON r.asset_id = a.id "
        f"WHERE i.licence_id = %(licence)s AND i.withdrawn_at IS NULL"
        ") x GROUP BY x.contributor_id, x.organisation_id"
    )


def payment_net(payment):
    """The part of a payment that is not tax, in proportion to its invoice."""
    invoice = payment.invoice
    if not invoice.gross_total:
        return Decimal("0.00")
    return round_money(payment.amount * invoice.net_total / invoice.gross_total)


def royalty_pool_create(*, payment_id):
    payment = Payment.objects.select_related("invoice__licence").filter(pk=payment_id).first()
    if payment is None or payment.invoice.reason == InvoiceReason.USAGE:  # split by attribution instead
        return None
    net = payment_net(payment)
    amount = round_money(net * settings.ROYALTY_SHARE)
    now = timezone.now()
    try:
        with transaction.atomic():
            pool = RoyaltyPool.objects.create(
                payment=payment, licence=payment.invoice.licence, currency=payment.currency, net_amount=net,
                share=settings.ROYALTY_SHARE, amount=amount,
            )
            cents = int(amount * 100)
            if cents > 0:
                with connection.cursor() as cursor:
                    for_set_based_work(cursor)
                    cursor.execute(
                        split_sql(weights_sql=granted_payee_weights_sql(), cents=cents, into={
                            "licence_id": "%(licence)s", "pool_id": "%(pool)s", "credit_note_id": "NULL",
                            "currency": "%(currency)s", "reason": "'payment'", "created_at": "%(now)s",
                        }),
                        {"licence": pool.licence_id, "pool": pool.pk, "currency": pool.currency, "now": now},
                    )
                    pool.contributor_count = cursor.rowcount
                pool.save(update_fields=["contributor_count"])
    except IntegrityError:
        return RoyaltyPool.objects.get(payment=payment)  # the job ran before: one pool per payment
    transparency_changed()
    log.info("royalty_pool_created", pool=pool.pk, amount=str(amount), contributors=pool.contributor_count)
    return pool


def royalties_reverse_for_credit_note(*, credit_note_id):
    """Negative entries for the credited share of the invoice's pools, split in proportion to
    what each contributor received from them. A full credit note reverses every entry exactly."""
    note = Invoice.objects.select_related("corrects").filter(pk=credit_note_id, corrects__isnull=False).first()
    if note is None or RoyaltyEntry.objects.filter(credit_note=note).exists():
        return 0
    invoice = note.corrects
    pools = RoyaltyPool.objects.filter(payment__invoice=invoice)
    received = sum((p.amount for p in pools), Decimal("0.00"))
    if not received or not invoice.net_total:
        return 0
    credited_net = -note.net_total
    reversal = min(received, round_money(received * credited_net / invoice.net_total))
    cents = int(reversal * 100)
    if cents <= 0:
        return 0
    weights_sql = (
        f"SELECT contributor_id, organisation_id, CAST(SUM(amount) * 100 AS bigint) AS weight "
        f"FROM {RoyaltyEntry._meta.db_table} "
        f"WHERE pool_id IN (SELECT id FROM {RoyaltyPool._meta.db_table} WHERE payment_id IN "
        f"(SELECT id FROM {Payment._meta.db_table} WHERE invoice_id = %(invoice)s)) "
        f"GROUP BY contributor_id, organisation_id HAVING SUM(amount) > 0"
    )
    sql = split_sql(weights_sql=weights_sql, cents=cents, negative=True, into={
        "licence_id": "%(licence)s", "pool_id": "NULL", "credit_note_id": "%(note)s", "currency": "%(currency)s",
        "reason": "'credit_note'", "created_at": "%(now)s",
        # A usage invoice's reversal names its report, as the entries it reverses do.
        "usage_report_id": f"(SELECT id FROM {UsageReport._meta.db_table} WHERE invoice_id = %(invoice)s)",
    })
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for_set_based_work(cursor)
            cursor.execute(sql, {"invoice": invoice.pk, "licence": invoice.licence_id, "note": note.pk,
                                 "currency": note.currency, "now": timezone.now()})
            written = cursor.rowcount
    except IntegrityError:
        return 0
    log.info("royalties_reversed", credit_note=note.pk, amount=str(reversal), entries=written)
    return written


class StatementRefused(Exception):
    """A royalty action that cannot be carried out; the message says why. Nothing was changed."""


# --- Closing a month and paying out ------------------------------------------
#
# Finance closes months in order. Closing a month makes one payout per contributor and
# currency for everything owed up to its end that no earlier payout covers; a balance
# that a credit note made negative is carried into the next month instead of paid.

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
        raise StatementRefused(gettext("%(month)s is not over yet: it can be closed from %(end)s.")
                               % {"month": date_format(month, "F Y"), "end": formats.day(end)})
    with transaction.atomic():
        _lock_periods()
        existing = RoyaltyPeriod.objects.filter(month=month).first()
        if existing is not None:
            return existing, False
        later = RoyaltyPeriod.objects.filter(month__gt=month).order_by("month").first()
        if later is not None:
            raise StatementRefused(
                gettext("%(later)s is already closed and months are closed in order: the royalties of %(month)s "
                        "were paid with %(later)s's payouts.")
                % {"later": later, "month": date_format(month, "F Y")}
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
        INSERT INTO {payout} (period_id, contributor_id, organisation_id, amount, currency, reference, paid_at)
        SELECT %(period)s, owed.contributor_id, owed.organisation_id, owed.amount, owed.currency,
               %(prefix)s || CASE WHEN owed.contributor_id IS NULL
                                  THEN 'ORG' || CAST(owed.organisation_id AS TEXT)
                                  ELSE CAST(owed.contributor_id AS TEXT) END || '-' || owed.currency, NULL
        FROM (
            SELECT e.contributor_id, e.organisation_id, e.currency, ROUND(e.total - COALESCE(p.total, 0), 2) AS amount
            FROM (
                SELECT contributor_id, organisation_id, currency, SUM(amount) AS total FROM {entry}
                WHERE created_at < %(end)s GROUP BY contributor_id, organisation_id, currency
            ) e
            LEFT JOIN (
                SELECT po.contributor_id, po.organisation_id, po.currency, SUM(po.amount) AS total
                FROM {payout} po JOIN {period_table} pe ON pe.id = po.period_id
                WHERE pe.month < %(month)s GROUP BY po.contributor_id, po.organisation_id, po.currency
            ) p ON p.currency = e.currency AND (p.contributor_id = e.contributor_id
                   OR (p.contributor_id IS NULL AND e.contributor_id IS NULL AND p.organisation_id = e.organisation_id))
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


def royalty_payouts_mark_paid(*, period, by, references=None, now=None):
    """Record that the bank made the period's payouts: all of them, or those named by reference.
    Payouts already marked keep their date. Returns how many were marked now."""
    now = now or timezone.now()
    with transaction.atomic():
        payouts = RoyaltyPayout.objects.select_for_update().filter(period=period)
        if references is not None:
            references = sorted({ref.strip() for ref in references if ref.strip()})
            if not references:
                raise StatementRefused(gettext("Give at least one payout reference, or mark every payout as made."))
            known = set(payouts.filter(reference__in=references).values_list("reference", flat=True))
            unknown = [ref for ref in references if ref not in known]
            if unknown:
                raise StatementRefused(gettext("Not payouts of %(period)s: %(references)s%(more)s. Nothing was marked.")
                                       % {"period": period, "references": ", ".join(unknown[:10]),
                                          "more": " …" if len(unknown) > 10 else ""})
            payouts = payouts.filter(reference__in=references)
        marked = payouts.filter(paid_at__isnull=True).update(paid_at=now)
        audit(actor=by, organisation=None, action="royalty_payouts.mark_paid", target=period,
              payload={"month": f"{period.month:%Y-%m}", "marked": marked, "references": references or "all"})
        transaction.on_commit(transparency_changed)
    log.info("royalty_payouts_marked_paid", month=f"{period.month:%Y-%m}", marked=marked)
    return marked


def royalty_payouts_complete(*, period):
    """Make the period's missing payouts before finance exports them for the bank.

    Only the latest closed month can still gain payouts: a later month's payouts were
    computed from this one's, so adding to it afterwards would pay the same money twice."""
    with transaction.atomic():
        _lock_periods()
        if not RoyaltyPeriod.objects.filter(month__gt=period.month).exists():
            return royalty_payouts_prepare(period=period)
    return 0
