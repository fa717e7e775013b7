"""Royalties at catalogue scale: one pool split among 100,000 contributors holding 1,000,000 granted assets.

One commercial licence holds a slice of the whole catalogue (no contributor opted out).
Each repeat pays two new invoices and times royalty_pool_create (what the pool job calls),
the split in one SQL statement by the largest-remainder method, against its floor: the
bare statements that write the same ledger rows (the pool's row, then the INSERT … SELECT
of the split), run on a plain cursor in one transaction and committed, with none of the
service around them. Both must give every contributor the same cents, adding up to the pool
exactly. Once, the same split done in Python (weights read from the database, remainders
ranked in Python, bulk_create) is timed and checked for the same cents: printed only.
"""
from decimal import Decimal
from pathlib import Path

from bench.licensees import jobs_not_dispatched
from bench.machine import load_note
from bench.measure import Figure, Report, Target, timed
from bench.serving import generate_catalogue

BASE_DIR = Path(__file__).resolve().parent.parent

CATALOGUE = ["--assets", "1000000", "--contributors", "100000", "--opt-out-rate", "0", "--seed", "2"]
ASSETS = 1_000_000
REPEATS = 3
# Net 5,000,000.00 a year makes a pool of 1,000,000.00: every contributor's share is many cents,
# so each of them has an entry and the count is checkable.
FEE = Decimal("5000000.00")


def run():
    from django.conf import settings

    from bench.billing import commercial_licences
    from bench.licensees import applicant
    from licensing.services.royalties import royalty_pool_create

    generate_catalogue(CATALOGUE)
    user = applicant()
    (licence,) = commercial_licences(user, 1, fee=FEE)
    seconds = grant_whole_catalogue(licence)
    contributors = contributors_with_grants()
    print(f"  {ASSETS:,} assets granted in {seconds:.1f} s, held by {contributors:,} contributors")
    notes = [load_note("at the start"),
             f"one slice of all {ASSETS:,} assets, held by {contributors:,} contributors; pool "
             f"{FEE * settings.ROYALTY_SHARE:,.2f} EUR per payment ({settings.ROYALTY_SHARE:.0%} of the net)"]

    # Interleaved, so that a burst of load on a shared machine hits both sides of the ratio.
    service, floor = [], []
    for repeat in range(REPEATS):
        payment, floor_payment = new_payment(licence, user), new_payment(licence, user)
        seconds, pool = timed(lambda: royalty_pool_create(payment_id=payment.pk))
        check_pool(pool, contributors)
        service.append(seconds)
        seconds, floor_pool = timed(lambda: sql_floor(floor_payment))
        check_pool(floor_pool, contributors)
        floor.append(seconds)
        same = same_entries(pool, floor_pool)
        print(f"  royalty_pool_create {service[-1]:.3f} s, its bare SQL {floor[-1]:.3f} s, "
              f"same cents per contributor: {'yes' if same else 'NO'}")
        if not same:
            raise RuntimeError(f"pools {pool.pk} (service) and {floor_pool.pk} (bare SQL) split the same amount "
                               "differently")
        if repeat == 0:
            python_payment = new_payment(licence, user)
            python_s, python_pool = timed(lambda: python_split(python_payment))
            check_pool(python_pool, contributors)
            if not same_entries(pool, python_pool):
                raise RuntimeError(f"pools {pool.pk} (SQL) and {python_pool.pk} (Python) split the same amount "
                                   "differently")
            print(f"  the split in Python (weights from SQL, largest remainder in Python, bulk_create) "
                  f"{python_s:.3f} s, same cents")
    notes.append("each pool's entries add up to the pool exactly, one per contributor, and the service, its bare "
                 "SQL and the split in Python give every contributor the same cents")
    notes.append(load_note("at the end"))

    report = Report(
        figures=[
            Figure.median("royalty_split_1m_s", service, "s", "royalty_pool_create, committed"),
            Figure.median("royalty_split_sql_floor_s", floor, "s",
                          "the pool's row and the split's INSERT … SELECT on a bare cursor, committed"),
            Figure("royalty_split_1m_python_s", python_s, "s",
                   note="once: weights from SQL, largest remainder in Python, bulk_create"),
        ],
        targets=[],
        notes=notes,
    )
    service_s, floor_s = report.figure("royalty_split_1m_s"), report.figure("royalty_split_sql_floor_s")
    report.targets = [
        Target("split_1m_within_1_5s", "pool of 1M granted assets split within 1.5 s",
               f"{service_s:.3f} s ({service_s / floor_s:.2f}x its SQL floor of {floor_s:.3f} s)", service_s <= 1.5),
    ]
    return report


# --- The catalogue, granted whole to one licence ---------------------------------

def grant_whole_catalogue(licence):
    """One ready slice of `licence` holding every asset, inserted in one statement; its seconds."""
    from django.db import connection, transaction

    from licensing.models import Asset, Slice, SliceItem, SliceStatus

    def grant():
        with transaction.atomic():
            slice_ = Slice.objects.create(licence=licence, number=1, phase=licence.phase, seed=2,
                                          size_requested=ASSETS, status=SliceStatus.READY, progress=100)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {SliceItem._meta.db_table} (slice_id, licence_id, asset_id, position) "
                    f"SELECT %s, %s, id, row_number() OVER (ORDER BY id) FROM {Asset._meta.db_table}",
                    [slice_.pk, licence.pk],
                )
                granted = cursor.rowcount
                cursor.execute(f"SELECT COALESCE(SUM(bytes), 0) FROM {Asset._meta.db_table}")
                total_bytes = cursor.fetchone()[0]
            Slice.objects.filter(pk=slice_.pk).update(asset_count=granted, total_bytes=total_bytes)
        if granted != ASSETS:
            raise RuntimeError(f"the slice holds {granted} assets, not {ASSETS}")
        with connection.cursor() as cursor:
            # As a table in service would be: vacuumed (visibility map set) and analysed.
            cursor.execute(f"VACUUM (ANALYZE) {SliceItem._meta.db_table}")

    seconds, _ = timed(grant)
    return seconds


def contributors_with_grants():
    from licensing.models import Asset

    return Asset.objects.values("contributor_id").distinct().count()


# --- Payments --------------------------------------------------------------------

# Issuing schedules the PDF job and a payment the pool job; the benchmark runs the split itself.


def new_payment(licence, user):
    """An issued renewal invoice of `licence`, paid in full: its payment."""
    from django.utils import timezone

    from licensing.models import InvoiceReason
    from licensing.services.billing import invoice_draft, invoice_issue, payment_record

    with jobs_not_dispatched():
        invoice = invoice_draft(licence=licence, reason=InvoiceReason.RENEWAL, currency="EUR",
                                lines=[("Commercial licence: annual fee", Decimal("1"), FEE)])
        invoice = invoice_issue(invoice=invoice)
        return payment_record(invoice=invoice, by=None, amount=invoice.gross_total, received_on=timezone.now().date(),
                              reference=f"BENCH-{invoice.pk}")


def check_pool(pool, contributors):
    from django.db.models import Count, Min, Sum

    from licensing.models import RoyaltyEntry

    totals = RoyaltyEntry.objects.filter(pool=pool).aggregate(total=Sum("amount"), count=Count("id"),
                                                              least=Min("amount"))
    if totals["total"] != pool.amount or totals["count"] != contributors or pool.contributor_count != contributors:
        raise RuntimeError(f"pool {pool.pk} of {pool.amount}: entries add up to {totals['total']} over "
                           f"{totals['count']} contributors (the pool says {pool.contributor_count}), "
                           f"not over {contributors}")
    if totals["least"] <= 0:
        raise RuntimeError(f"pool {pool.pk} has an entry of {totals['least']}")


def same_entries(pool, other):
    from django.db import connection

    from licensing.models import RoyaltyEntry

    table = RoyaltyEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM ((SELECT contributor_id, amount FROM {table} WHERE pool_id = %(a)s "
            f"EXCEPT SELECT contributor_id, amount FROM {table} WHERE pool_id = %(b)s) UNION ALL "
            f"(SELECT contributor_id, amount FROM {table} WHERE pool_id = %(b)s "
            f"EXCEPT SELECT contributor_id, amount FROM {table} WHERE pool_id = %(a)s)) AS differ",
            {"a": pool.pk, "b": other.pk},
        )
        return cursor.fetchone()[0] == 0


# --- The floor: the same rows by bare SQL ---------------------------------------

def sql_floor(payment):
    """The statements royalty_pool_create runs to write the pool and its entries, and nothing else."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from licensing.db import for_set_based_work
    from licensing.models import Payment, RoyaltyPool
    from licensing.models.billing import round_money
    from licensing.services.royalties import (
        granted_payee_weights_sql,
        payment_net,
        split_sql,
    )

    payment = Payment.objects.select_related("invoice").get(pk=payment.pk)
    net = payment_net(payment)
    amount = round_money(net * settings.ROYALTY_SHARE)
    statement = split_sql(weights_sql=granted_payee_weights_sql(), cents=int(amount * 100), into={
        "licence_id": "%(licence)s", "pool_id": "%(pool)s", "credit_note_id": "NULL", "currency": "%(currency)s",
        "reason": "'payment'", "created_at": "%(now)s"})
    with transaction.atomic(), connection.cursor() as cursor:
        for_set_based_work(cursor)  # the service's settings for the statement: the same statement, run alike
        now = timezone.now()
        cursor.execute(
            f"INSERT INTO {RoyaltyPool._meta.db_table} (payment_id, licence_id, currency, net_amount, share, amount, "
            "contributor_count, created_at) VALUES (%s, %s, %s, %s, %s, %s, 0, %s) RETURNING id",
            [payment.pk, payment.invoice.licence_id, payment.currency, net, settings.ROYALTY_SHARE, amount, now])
        pool_id = cursor.fetchone()[0]
        cursor.execute(statement, {"licence": payment.invoice.licence_id, "pool": pool_id,
                                   "currency": payment.currency, "now": now})
        cursor.execute(f"UPDATE {RoyaltyPool._meta.db_table} SET contributor_count = %s WHERE id = %s",
                       [cursor.rowcount, pool_id])
    return RoyaltyPool.objects.get(pk=pool_id)


# --- The baseline: the split in Python -------------------------------------------

def python_split(payment):
    """What royalty_pool_create does, with the split worked out in Python instead of SQL."""
    from django.conf import settings
    from django.db import connection, transaction
    from django.utils import timezone

    from licensing.models import Payment, RoyaltyEntry, RoyaltyPool
    from licensing.models.billing import round_money
    from licensing.services.royalties import granted_weights_sql, payment_net

    payment = Payment.objects.select_related("invoice__licence").get(pk=payment.pk)
    net = payment_net(payment)
    amount = round_money(net * settings.ROYALTY_SHARE)
    cents, now = int(amount * 100), timezone.now()
    with transaction.atomic():
        pool = RoyaltyPool.objects.create(payment=payment, licence=payment.invoice.licence, currency=payment.currency,
                                          net_amount=net, share=settings.ROYALTY_SHARE, amount=amount)
        with connection.cursor() as cursor:
            cursor.execute(granted_weights_sql(), {"licence": pool.licence_id})
            weights = cursor.fetchall()
        total = sum(weight for _, weight in weights)
        shares = {contributor: cents * weight // total for contributor, weight in weights}
        left = cents - sum(shares.values())
        by_remainder = sorted(weights, key=lambda row: (-(cents * row[1] % total), row[0]))
        for contributor, _ in by_remainder[:left]:
            shares[contributor] += 1
        entries = [
            RoyaltyEntry(contributor_id=contributor, licence_id=pool.licence_id, pool=pool,
                         amount=Decimal(share).scaleb(-2), currency=pool.currency, reason=RoyaltyEntry.Reason.PAYMENT,
                         created_at=now)
            for contributor, share in shares.items() if share > 0
        ]
        RoyaltyEntry.objects.bulk_create(entries, batch_size=5000)
        pool.contributor_count = len(entries)
        pool.save(update_fields=["contributor_count"])
    return pool
