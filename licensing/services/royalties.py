"""The contributors' 20%: a pool per payment, split in SQL by the largest-remainder method.

Every amount is handled in whole cents. Each contributor first gets the floor of their
exact share; the cents left over go, one each, to the largest remainders (ties broken by
contributor id), so the entries add up to the pool exactly and no share is negative.
"""
from decimal import Decimal

import structlog
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from licensing.models import (
    Asset,
    Invoice,
    Payment,
    RoyaltyEntry,
    RoyaltyPool,
    SliceItem,
)
from licensing.models.billing import round_money

log = structlog.get_logger(__name__)


def _cents_to_amount(expression):
    if connection.vendor == "postgresql":
        return f"CAST({expression} AS numeric(14, 2)) / 100"
    return f"ROUND(({expression}) / 100.0, 2)"


def split_sql(*, weights_sql, cents, into, negative=False):
    """INSERT one ledger entry per weighted contributor, splitting `cents` by largest remainder.

    `weights_sql` selects (contributor_id, weight) with positive integer weights; `into`
    names the extra columns and their values: a dict of column -> SQL literal or %(param)s.
    """
    columns = ", ".join(into)
    values = ", ".join(into.values())
    # The weights are read once (a CTE referenced twice is computed once) and every step after
    # works on one row per contributor.
    # INSERT first, then the CTEs of its SELECT: SQLite reports the rows written only for
    # statements that begin with INSERT.
    return f"""
        INSERT INTO {RoyaltyEntry._meta.db_table} (contributor_id, amount, {columns})
        WITH w AS ({weights_sql}),
        t AS (SELECT CAST(SUM(weight) AS bigint) AS total FROM w),
        ranked AS (
            SELECT w.contributor_id,
                   ({cents} * w.weight) / t.total AS floor_cents,
                   row_number() OVER (ORDER BY ({cents} * w.weight) %% t.total DESC, w.contributor_id) AS rnk
            FROM w CROSS JOIN t
        ),
        shares AS (
            SELECT contributor_id,
                   floor_cents + CASE WHEN rnk <= {cents} - SUM(floor_cents) OVER () THEN 1 ELSE 0 END AS share
            FROM ranked
        )
        SELECT contributor_id, {"-" if negative else ""}{_cents_to_amount("share")}, {values}
        FROM shares
        WHERE share > 0
    """


def granted_weights_sql():
    """Per contributor, the weight of their assets granted to %(licence)s and not withdrawn."""
    image, video = int(settings.ROYALTY_KIND_WEIGHTS["image"]), int(settings.ROYALTY_KIND_WEIGHTS["video"])
    return (
        f"SELECT a.contributor_id, SUM(CASE WHEN a.kind = 'video' THEN {video} ELSE {image} END) AS weight "
        f"FROM {SliceItem._meta.db_table} i JOIN {Asset._meta.db_table} a ON a.id = i.asset_id "
        f"WHERE i.licence_id = %(licence)s AND i.withdrawn_at IS NULL GROUP BY a.contributor_id"
    )


def payment_net(payment):
    """The part of a payment that is not tax, in proportion to its invoice."""
    invoice = payment.invoice
    if not invoice.gross_total:
        return Decimal("0.00")
    return round_money(payment.amount * invoice.net_total / invoice.gross_total)


def royalty_pool_create(*, payment_id):
    payment = Payment.objects.select_related("invoice__licence").filter(pk=payment_id).first()
    if payment is None:
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
                    cursor.execute(
                        split_sql(weights_sql=granted_weights_sql(), cents=cents, into={
                            "licence_id": "%(licence)s", "pool_id": "%(pool)s", "credit_note_id": "NULL",
                            "currency": "%(currency)s", "reason": "'payment'", "created_at": "%(now)s",
                        }),
                        {"licence": pool.licence_id, "pool": pool.pk, "currency": pool.currency, "now": now},
                    )
                    pool.contributor_count = cursor.rowcount
                pool.save(update_fields=["contributor_count"])
    except IntegrityError:
        return RoyaltyPool.objects.get(payment=payment)  # the job ran before: one pool per payment
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
        f"SELECT contributor_id, CAST(SUM(amount) * 100 AS bigint) AS weight FROM {RoyaltyEntry._meta.db_table} "
        f"WHERE pool_id IN (SELECT id FROM {RoyaltyPool._meta.db_table} WHERE payment_id IN "
        f"(SELECT id FROM {Payment._meta.db_table} WHERE invoice_id = %(invoice)s)) GROUP BY contributor_id "
        f"HAVING SUM(amount) > 0"
    )
    sql = split_sql(weights_sql=weights_sql, cents=cents, negative=True, into={
        "licence_id": "%(licence)s", "pool_id": "NULL", "credit_note_id": "%(note)s", "currency": "%(currency)s",
        "reason": "'credit_note'", "created_at": "%(now)s",
    })
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {"invoice": invoice.pk, "licence": invoice.licence_id, "note": note.pk,
                                 "currency": note.currency, "now": timezone.now()})
            written = cursor.rowcount
    except IntegrityError:
        return 0
    log.info("royalties_reversed", credit_note=note.pk, amount=str(reversal), entries=written)
    return written
