"""A contributor's attribution is shared like every royalty of their works: when the works that trained the
model have rightsholders, the contributor's cents go to them by their shares, to the cent, and the pool still
adds up exactly. The contributor's pages say what is theirs; the studio sees its entries."""
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from licensing.models import Rightsholder, RoyaltyEntry, UsageShare
from licensing.services import billing
from licensing.services.attribution import attribution_pool_create
from licensing.services.royalties import royalties_reverse_for_credit_note
from tests.conftest import make_organisation, make_user
from tests.licensing.attribution_world import attribution_world, jsonl, output, upload
from tests.licensing.factories import catalogue

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org_a, alice):
    world = attribution_world(org_a, alice)
    world.studio = make_organisation("Northlight Studio")
    for work in world.ann.assets.all():  # Ann's works are 60/40 hers and the studio's
        Rightsholder.objects.create(asset=work, contributor=world.ann, share_bp=6000)
        Rightsholder.objects.create(asset=work, organisation=world.studio, share_bp=4000)
    return world


def a_report(world):
    return upload(world, jsonl([
        output("o-1", "100.00", {world.ann: 0.62, world.ben: 0.5, world.cat: 0.3}),
        output("o-2", "33.33", {world.ann: 0.9}),
        output("o-3", "7.00", {world.ben: 0.4}),
    ]))


def pay(invoice, amount=None):
    payment = billing.payment_record(invoice=invoice, by=None, amount=amount or invoice.gross_total,
                                     received_on=timezone.now().date(), reference="BANK-1")
    return attribution_pool_create(payment_id=payment.pk)


def split(cents, weights):
    """Largest remainder, ties to the first: what the pool must give each payee."""
    total = sum(weights)
    floors = [cents * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda n: (-(cents * weights[n] % total), n))
    for n in order[:cents - sum(floors)]:
        floors[n] += 1
    return floors


def test_a_contributor_s_attribution_is_split_60_40_with_the_studio_and_the_pool_adds_up(world):
    report = a_report(world)
    pool = pay(report.invoice)
    ann_cents = UsageShare.objects.get(report=report, contributor=world.ann).cents
    ben_cents = UsageShare.objects.get(report=report, contributor=world.ben).cents
    attribution = RoyaltyEntry.objects.filter(pool=pool, reason="attribution")
    ann, studio = split(ann_cents, [6000, 4000])  # three images each: weights 3 × 6000 and 3 × 4000
    assert attribution.get(contributor=world.ann).amount == Decimal(ann) / 100
    assert attribution.get(organisation=world.studio).amount == Decimal(studio) / 100
    assert attribution.get(contributor=world.ben).amount == Decimal(ben_cents) / 100, "no rightsholders: all his"
    assert attribution.aggregate(t=Sum("amount"))["t"] == report.attributed
    assert RoyaltyEntry.objects.filter(pool=pool).aggregate(t=Sum("amount"))["t"] == report.pool == pool.amount


def test_the_studio_also_shares_the_unexplained_rest_and_a_credit_note_reverses_everything(world, fiona):
    report = a_report(world)
    pool = pay(report.invoice)
    studio = RoyaltyEntry.objects.filter(pool=pool, organisation=world.studio)
    assert set(studio.values_list("reason", flat=True)) == {"attribution", "payment"}
    note = billing.credit_note_issue(invoice=report.invoice, by=fiona, reason="Misreported revenue")
    royalties_reverse_for_credit_note(credit_note_id=note.pk)
    balances = RoyaltyEntry.objects.values("contributor_id", "organisation_id").annotate(t=Sum("amount"))
    assert balances and all(row["t"] == 0 for row in balances)


def test_a_payment_in_part_splits_each_contributor_s_part_between_their_rightsholders(world):
    report = a_report(world)
    invoice = report.invoice
    pool = pay(invoice, (invoice.gross_total / 3).quantize(Decimal("0.01")))
    entries = RoyaltyEntry.objects.filter(pool=pool)
    assert entries.aggregate(t=Sum("amount"))["t"] == pool.amount
    attribution = entries.filter(reason="attribution")
    ann = attribution.get(contributor=world.ann).amount
    studio = attribution.get(organisation=world.studio).amount
    assert abs(ann * 4 - studio * 6) <= Decimal("0.06"), "60/40 to the cent"
    ann_share = UsageShare.objects.get(report=report, contributor=world.ann).cents
    assert abs((ann + studio) * 100 - Decimal(ann_share) * pool.amount / report.pool) <= 1


def test_works_that_did_not_train_the_model_do_not_count(world):
    # A work of Ann's that came after the slice, wholly the studio's, taught the model nothing of her style.
    (later,) = catalogue(1, contributor=world.ann)
    Rightsholder.objects.create(asset=later, organisation=world.studio, share_bp=10000)
    report = a_report(world)
    pool = pay(report.invoice)
    ann_cents = UsageShare.objects.get(report=report, contributor=world.ann).cents
    assert RoyaltyEntry.objects.get(pool=pool, reason="attribution", contributor=world.ann).amount == \
        Decimal(split(ann_cents, [6000, 4000])[0]) / 100


def test_the_contributor_s_pages_say_what_is_theirs_and_what_goes_to_the_other_rightsholders(client_for, world):
    world.ann.user = make_user("ann@photos.example")
    world.ann.save()
    report = a_report(world)
    share = UsageShare.objects.get(report=report, contributor=world.ann)
    own, rest = split(share.cents, [6000, 4000])
    client = client_for(world.ann.user)
    page = client.get(f"/contributor/usage-reports/{report.pk}/").content.decode()
    assert f"{share.cents / 100:.2f} EUR of the" in page, "the share her style earned, as before"
    assert f"{own / 100:.2f} EUR are yours" in page and f"{rest / 100:.2f} EUR go to the other rightsholders" in page
    statement = client.get(f"/contributor/statements/{report.processed_at:%Y-%m}/").content.decode()
    assert f"{own / 100:.2f} EUR" in statement and f"of {share.cents / 100:.2f} earned" in statement


def test_a_contributor_without_rightsholders_keeps_everything_on_the_pages(client_for, world):
    world.ben.user = make_user("ben@photos.example")
    world.ben.save()
    report = a_report(world)
    page = client_for(world.ben.user).get(f"/contributor/usage-reports/{report.pk}/").content.decode()
    assert "are yours" not in page and "other rightsholders" not in page
