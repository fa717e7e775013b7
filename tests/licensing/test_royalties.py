"""Royalties: the 20% split of a payment, its reversal by credit notes, statements, closing months, payouts."""
import csv
import io
import itertools
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from licensing import months
from licensing.models import (
    Asset,
    Contributor,
    InvoiceReason,
    LicenceState,
    RoyaltyEntry,
    RoyaltyPayout,
    RoyaltyPeriod,
    RoyaltyPool,
    Slice,
    SliceItem,
)
from licensing.models.billing import round_money
from licensing.selectors import royalties as royalty_reads
from licensing.services import billing
from licensing.services import royalties as royalty_services
from licensing.services.royalties import (
    royalties_reverse_for_credit_note,
    royalty_pool_create,
)
from tests.licensing.factories import LicenceFactory

CENT = Decimal("0.01")
_sha = itertools.count(1)


# --- Helpers shared with the portal and transparency tests -----------------------

def make_contributor(name, **extra):
    return Contributor.objects.create(display_name=name, **extra)


def asset_rows(contributor, images=0, videos=0, title="Work"):
    rows = []
    for n in range(images):
        rows.append(Asset(contributor=contributor, kind="image", title=f"{title} photo {n + 1}", width=1920,
                          height=1080, bytes=1000 + n, mime_type="image/jpeg", sha256=f"{next(_sha):064x}"))
    for n in range(videos):
        rows.append(Asset(contributor=contributor, kind="video", title=f"{title} clip {n + 1}", width=1280,
                          height=720, duration_seconds=10.0, bytes=5000 + n, mime_type="video/mp4",
                          sha256=f"{next(_sha):064x}"))
    return rows


def make_works(contributor, images=0, videos=0, title="Work"):
    return Asset.objects.bulk_create(asset_rows(contributor, images, videos, title))


def research_licence(organisation, applicant, **extra):
    now = timezone.now()
    values = {"state": LicenceState.RESEARCH_ACTIVE, "phase": "research", "max_assets": 10_000,
              "max_bytes": 10**12, "max_slices": 20, "research_starts_at": now,
              "research_ends_at": now + timedelta(days=90)}
    values.update(extra)
    return LicenceFactory(organisation=organisation, applicant=applicant, **values)


def commercial_licence(organisation, applicant, **extra):
    now = timezone.now()
    values = {"state": LicenceState.COMMERCIAL_ACTIVE, "phase": "commercial", "offer_fee": Decimal("12000.00"),
              "offer_currency": "EUR", "offer_term_months": 12, "offer_scope": "Train a commercial detector",
              "commercial_starts_at": now, "commercial_ends_at": now + timedelta(days=365)}
    values.update(extra)
    return LicenceFactory(organisation=organisation, applicant=applicant, **values)


def grant_directly(licence, assets, number=None, phase=None):
    """A ready slice holding exactly these assets, written as rows (for the property tests)."""
    number = number or (Slice.objects.filter(licence=licence).count() + 1)
    slice_ = Slice.objects.create(licence=licence, number=number, phase=phase or licence.phase, seed=1,
                                  size_requested=len(assets), status="ready", asset_count=len(assets),
                                  finished_at=timezone.now())
    SliceItem.objects.bulk_create(
        SliceItem(slice=slice_, licence=licence, asset=asset, position=n) for n, asset in enumerate(assets, start=1)
    )
    return slice_


def pay(licence, amount, *, tax_rate="19.00", by=None, paid=None):
    """An issued invoice for `amount` net and a payment of `paid` (default: the gross), through the services."""
    invoice = billing.invoice_draft(licence=licence, reason=InvoiceReason.RESEARCH_FEE, currency="EUR",
                                    lines=[("Licence fee", Decimal("1"), Decimal(amount))], tax_rate=tax_rate)
    invoice = billing.invoice_issue(invoice=invoice)
    payment = billing.payment_record(invoice=invoice, by=by, amount=paid or invoice.gross_total,
                                     received_on=timezone.now().date(), reference="TEST")
    return invoice, payment


def entries_by_contributor(**filters):
    return {row["contributor_id"]: row["total"] for row in
            RoyaltyEntry.objects.filter(**filters).values("contributor_id").annotate(total=Sum("amount"))}


# --- The split ------------------------------------------------------------------

grants = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3)), min_size=1, max_size=5).filter(
    lambda rows: any(images or videos for images, videos in rows))
cents = st.integers(min_value=1, max_value=50_000_000)


@pytest.mark.django_db
@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grants=grants, net_cents=cents, pay_in_full=st.booleans())
def test_a_pool_splits_to_the_cent_fairly_and_a_full_credit_note_reverses_it_exactly(
        org_a, alice, fiona, grants, net_cents, pay_in_full):
    with transaction.atomic():
        licence = research_licence(org_a, alice)
        contributors = Contributor.objects.bulk_create(
            Contributor(display_name=f"Contributor {n}") for n in range(len(grants)))
        rows = []
        for contributor, (images, videos) in zip(contributors, grants):
            rows += asset_rows(contributor, images, videos)
        grant_directly(licence, Asset.objects.bulk_create(rows))

        net = Decimal(net_cents) / 100
        invoice, payment = pay(licence, net, paid=None if pay_in_full else max(CENT, (net / 3).quantize(CENT)))
        pool = royalty_pool_create(payment_id=payment.pk)
        shares = entries_by_contributor(pool=pool)

        assert sum(shares.values(), Decimal("0")) == pool.amount
        assert all(amount > 0 for amount in shares.values()), "no one gets a negative or empty entry"
        assert pool.amount == round_money(round_money(payment.amount * invoice.net_total / invoice.gross_total)
                                          * Decimal("0.20"))
        by_grant = defaultdict(list)
        for contributor, grant in zip(contributors, grants):
            by_grant[grant].append(shares.get(contributor.pk, Decimal("0")))
        for amounts in by_grant.values():
            assert max(amounts) - min(amounts) <= CENT, "equal grants, shares at most a cent apart"
        assert royalty_pool_create(payment_id=payment.pk).pk == pool.pk, "a job run twice makes one pool"
        assert RoyaltyEntry.objects.filter(pool=pool).count() == len(shares)

        note = billing.credit_note_issue(invoice=invoice, by=fiona, reason="Cancelled")
        royalties_reverse_for_credit_note(credit_note_id=note.pk)
        reversals = entries_by_contributor(credit_note=note)
        assert reversals == {contributor_id: -amount for contributor_id, amount in shares.items()}
        assert royalties_reverse_for_credit_note(credit_note_id=note.pk) == 0, "reversing twice writes nothing"
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_withdrawn_grants_earn_nothing_and_videos_weigh_more(org_a, alice):
    licence = research_licence(org_a, alice)
    photographer, film_maker, gone = (make_contributor(n) for n in ("Pia", "Fred", "Gus"))
    slice_ = grant_directly(licence, make_works(photographer, images=5) + make_works(film_maker, videos=1)
                            + make_works(gone, images=5))
    SliceItem.objects.filter(slice=slice_, asset__contributor=gone).update(withdrawn_at=timezone.now())
    _, payment = pay(licence, "100.00")

    pool = royalty_pool_create(payment_id=payment.pk)

    assert pool.amount == Decimal("20.00")
    assert entries_by_contributor(pool=pool) == {photographer.pk: Decimal("10.00"), film_maker.pk: Decimal("10.00")}
    assert pool.contributor_count == 2


@pytest.mark.django_db
def test_a_payment_recorded_on_the_page_makes_its_pool_once_committed(
        client, org_a, alice, fiona, django_capture_on_commit_callbacks):
    licence = research_licence(org_a, alice)
    contributor = make_contributor("Pia")
    grant_directly(licence, make_works(contributor, images=2))
    invoice = billing.invoice_issue(invoice=billing.invoice_draft(
        licence=licence, reason=InvoiceReason.RESEARCH_FEE, currency="EUR",
        lines=[("Research licence", Decimal("1"), Decimal("500.00"))], tax_rate="19.00"))
    client.force_login(fiona)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/finance/invoices/{invoice.pk}/payments/", {
            "amount": "595.00", "received_on": "2026-11-20", "reference": "SEPA-1", "method": "bank_transfer"})
    assert response.status_code == 302
    pool = RoyaltyPool.objects.get()
    assert (pool.net_amount, pool.amount) == (Decimal("500.00"), Decimal("100.00"))
    assert entries_by_contributor() == {contributor.pk: Decimal("100.00")}


# --- Statements ------------------------------------------------------------------

def months_ago(n, day=10, hour=12):
    """A moment in the month `n` months before this one."""
    now = timezone.localtime()
    index = now.year * 12 + now.month - 1 - n
    return timezone.make_aware(datetime(index // 12, index % 12 + 1, day, hour))


def first_of(moment):
    return timezone.localtime(moment).date().replace(day=1)


def credit(contributor, licence, amount, when, reason="payment"):
    return RoyaltyEntry.objects.create(contributor=contributor, licence=licence, amount=Decimal(amount),
                                       currency="EUR", reason=reason, created_at=when)


@pytest.fixture
def ledger(org_a, org_b, alice, bob):
    """Three months back: Pia earns 10.00 from Acme's licence. Two months back: 5.00 from Acme, 2.50 from
    Blue less a 1.00 reversal. Ola earns 2.00, then loses 3.00 to a credit note, then earns 5.00."""
    acme, blue = research_licence(org_a, alice), commercial_licence(org_b, bob)
    pia, ola = make_contributor("Pia"), make_contributor("Ola")
    credit(pia, acme, "10.00", months_ago(3))
    credit(pia, acme, "5.00", months_ago(2))
    credit(pia, blue, "2.50", months_ago(2, day=12))
    credit(pia, blue, "-1.00", months_ago(2, day=20), reason="credit_note")
    credit(ola, acme, "2.00", months_ago(3))
    credit(ola, blue, "-3.00", months_ago(2), reason="credit_note")
    credit(ola, acme, "5.00", months_ago(1))
    return {"acme": acme, "blue": blue, "pia": pia, "ola": ola}


@pytest.mark.django_db
def test_a_statement_carries_the_opening_balance_groups_by_licence_and_closes(ledger, fiona):
    pia, acme, blue = ledger["pia"], ledger["acme"], ledger["blue"]
    first = royalty_reads.contributor_statement(contributor=pia, month=first_of(months_ago(3)))
    (eur,) = first.currencies
    assert (eur.opening, eur.earned, eur.closing) == (Decimal("0"), Decimal("10.00"), Decimal("10.00"))

    period, _ = royalty_services.royalty_period_close(month=first_of(months_ago(3)), by=fiona)
    royalty_services.royalty_payouts_mark_paid(period=period, by=fiona, now=months_ago(2, day=15))
    second = royalty_reads.contributor_statement(contributor=pia, month=first_of(months_ago(2)))

    (eur,) = second.currencies
    assert eur.opening == Decimal("10.00")
    assert [(line.licence_id, line.earned, line.reversed, line.net) for line in eur.lines] == [
        (acme.pk, Decimal("5.00"), Decimal("0"), Decimal("5.00")),
        (blue.pk, Decimal("2.50"), Decimal("-1.00"), Decimal("1.50")),
    ]
    assert [(p.reference, p.amount) for p in eur.payouts] == [
        (f"ROY-{first_of(months_ago(3)):%Y%m}-{pia.pk}-EUR", Decimal("10.00"))]
    assert eur.closing == Decimal("6.50"), "10.00 + 5.00 + 1.50 - 10.00 paid out"
    third = royalty_reads.contributor_statement(contributor=pia, month=first_of(months_ago(1)))
    assert (third.currencies[0].opening, third.currencies[0].closing) == (Decimal("6.50"), Decimal("6.50"))


@pytest.mark.django_db
def test_the_statement_page_and_its_csv_show_the_same_balances(client, ledger):
    from django.contrib.auth import get_user_model

    pia = ledger["pia"]
    pia.user = get_user_model().objects.create_user("pia@photos.example", "pw-for-tests-123")
    pia.save()
    client.force_login(pia.user)
    month = f"{months_ago(2):%Y-%m}"

    page = client.get(f"/contributor/statements/{month}/").content.decode()
    assert '<td class="opening"><strong>10.00</strong></td>' in page
    assert '<th class="closing">16.50 EUR</th>' in page
    assert ledger["blue"].organisation.name in page

    response = client.get(f"/contributor/statements/{month}/statement.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["month", "currency", "line"]
    assert [row[2] for row in rows[1:]] == ["opening balance", "royalties", "royalties", "closing balance"]
    assert (rows[1][-2], rows[-1][-2]) == ("10.00", "16.50")


@pytest.mark.django_db
def test_closing_months_makes_payouts_for_what_is_owed_and_carries_negative_balances(ledger, fiona):
    pia, ola = ledger["pia"], ledger["ola"]
    three, two, one = (first_of(months_ago(n)) for n in (3, 2, 1))

    period, created = royalty_services.royalty_period_close(month=three, by=fiona)
    assert created and RoyaltyPayout.objects.filter(period=period).count() == 2
    assert royalty_services.royalty_period_close(month=three, by=fiona) == (period, False), "closing twice is a no-op"

    royalty_services.royalty_period_close(month=two, by=fiona)
    royalty_services.royalty_period_close(month=one, by=fiona)
    paid = {(p.period.month, p.contributor_id): p.amount for p in RoyaltyPayout.objects.select_related("period")}
    assert paid == {
        (three, pia.pk): Decimal("10.00"), (three, ola.pk): Decimal("2.00"),
        (two, pia.pk): Decimal("6.50"),
        (one, ola.pk): Decimal("2.00"),  # 2.00 - 3.00 + 5.00, less the 2.00 already paid
    }
    totals = RoyaltyPayout.objects.values("contributor_id").annotate(t=Sum("amount"))
    assert {row["contributor_id"]: row["t"] for row in totals} == entries_by_contributor(), \
        "after the last month is closed, payouts add up to the ledger"


@pytest.mark.django_db
def test_a_month_cannot_be_closed_before_it_ends_nor_after_a_later_one(ledger, fiona):
    with pytest.raises(royalty_services.StatementRefused, match="not over yet"):
        royalty_services.royalty_period_close(month=months.current_month(), by=fiona)
    royalty_services.royalty_period_close(month=first_of(months_ago(2)), by=fiona)
    with pytest.raises(royalty_services.StatementRefused, match="closed in order"):
        royalty_services.royalty_period_close(month=first_of(months_ago(3)), by=fiona)
    assert RoyaltyPeriod.objects.count() == 1


@pytest.mark.django_db
def test_the_payout_csv_is_the_same_however_often_it_is_exported(client, ledger, fiona):
    period, _ = royalty_services.royalty_period_close(month=first_of(months_ago(3)), by=fiona)
    client.force_login(fiona)
    url = f"/finance/royalties/{period.month:%Y-%m}/payouts.csv"

    first = b"".join(client.get(url).streaming_content).decode()
    second = b"".join(client.get(url).streaming_content).decode()

    assert first == second
    rows = list(csv.DictReader(io.StringIO(first)))
    assert [(r["contributor"], r["amount"], r["currency"]) for r in rows] == [("Pia", "10.00", "EUR"),
                                                                               ("Ola", "2.00", "EUR")]
    assert len({r["reference"] for r in rows}) == 2
    assert RoyaltyPayout.objects.count() == 2, "exporting made no second set of payouts"


@pytest.mark.django_db
def test_an_entry_that_lands_in_a_closed_month_late_is_paid_once(client, ledger, fiona):
    three, two, one = (first_of(months_ago(n)) for n in (3, 2, 1))
    royalty_services.royalty_period_close(month=three, by=fiona)
    royalty_services.royalty_period_close(month=two, by=fiona)
    latecomer = make_contributor("Lars")
    credit(latecomer, ledger["acme"], "4.00", months_ago(3, day=28))  # committed after its month was closed
    client.force_login(fiona)

    b"".join(client.get(f"/finance/royalties/{three:%Y-%m}/payouts.csv").streaming_content)
    assert not RoyaltyPayout.objects.filter(contributor=latecomer).exists(), \
        "a month with a later closed month gains no payouts"
    royalty_services.royalty_period_close(month=one, by=fiona)
    assert list(RoyaltyPayout.objects.filter(contributor=latecomer).values_list("period__month", "amount")) == [
        (one, Decimal("4.00"))]


@pytest.mark.django_db
def test_finance_closes_a_month_and_marks_payouts_made_on_the_pages(client, ledger, fiona, rita, alice):
    month = first_of(months_ago(3))
    client.force_login(fiona)
    page = client.get("/finance/royalties/").content.decode()
    assert f'<option value="{month:%Y-%m}">' in page

    response = client.post("/finance/royalties/close/", {"month": f"{month:%Y-%m}"})
    assert response.status_code == 302 and response["Location"] == f"/finance/royalties/{month:%Y-%m}/"
    page = client.get(response["Location"]).content.decode()
    assert "ROY-" in page and "not yet" in page

    pia_ref = RoyaltyPayout.objects.get(contributor=ledger["pia"]).reference
    response = client.post(f"/finance/royalties/{month:%Y-%m}/paid/", {"references": "ROY-nonsense"})
    assert response.status_code == 400 and "Not payouts of" in response.content.decode()
    assert not RoyaltyPayout.objects.filter(paid_at__isnull=False).exists()

    response = client.post(f"/finance/royalties/{month:%Y-%m}/paid/", {"references": pia_ref})
    assert response.status_code == 302
    assert list(RoyaltyPayout.objects.filter(paid_at__isnull=False).values_list("reference", flat=True)) == [pia_ref]
    client.post(f"/finance/royalties/{month:%Y-%m}/paid/", {"references": ""})
    assert not RoyaltyPayout.objects.filter(paid_at__isnull=True).exists()

    for outsider in (rita, alice):
        client.force_login(outsider)
        assert client.get("/finance/royalties/").status_code == 403
        assert client.get(f"/finance/royalties/{month:%Y-%m}/payouts.csv").status_code == 403
