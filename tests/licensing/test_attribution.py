"""Usage reports: the Shapley split of their pool to the cent, zeroing, rejection by line, booking once,
the usage invoice, its payment's pool and its reversal by a credit note."""
from decimal import Decimal

import numpy as np
import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from licensing import shapley
from licensing.models import Invoice, InvoiceReason, RoyaltyEntry, UsageReport, UsageShare
from licensing.services import billing
from licensing.services.attribution import attribution_pool_create, explain_output, usage_report_process
from licensing.services.royalties import royalties_reverse_for_credit_note
from tests.licensing.attribution_world import attribution_world, jsonl, output, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org_a, alice):
    return attribution_world(org_a, alice)


def pay_in_full(invoice):
    payment = billing.payment_record(invoice=invoice, by=None, amount=invoice.gross_total,
                                     received_on=timezone.now().date(), reference="BANK-1")
    return attribution_pool_create(payment_id=payment.pk)


def test_a_report_is_split_by_shapley_values_and_invoiced(world):
    report = upload(world, jsonl([
        output("o-1", "100.00", {world.ann: 0.62, world.ben: 0.5, world.cat: 0.3}),
        output("o-2", "50.00", {world.ann: 0.9}),
    ]))
    assert report.status == "processed", report.rejected_lines
    assert (report.outputs, report.revenue, report.pool) == (2, Decimal("150.00"), Decimal("30.00"))
    phi = shapley.shapley_values([[0.62, 0.5, 0.3]])[0]
    shares = {s.contributor_id: s for s in UsageShare.objects.filter(report=report)}
    assert shares[world.ann.pk].cents == round(2000 * phi[0] + 1000 * 0.9)
    assert shares[world.ben.pk].cents == round(2000 * phi[1])
    assert report.attributed + report.unexplained == report.pool
    assert report.attributed == Decimal(sum(s.cents for s in shares.values())) / 100
    invoice = report.invoice
    assert (invoice.reason, invoice.net_total, invoice.status) == (InvoiceReason.USAGE, Decimal("30.00"), "issued")


def test_contributors_whose_works_did_not_train_the_version_count_as_zero(world):
    report = upload(world, jsonl([
        output("o-1", "10.00", {world.ann: 0.5, world.dan: 0.9}),
        output("o-2", "10.00", {world.dan: 0.4}),
    ]))
    assert report.status == "processed"
    assert report.zeroed_scores == 2
    assert set(UsageShare.objects.filter(report=report).values_list("contributor_id", flat=True)) == {world.ann.pk}
    # Ann alone explains half of o-1 and nothing of o-2: a quarter of the pool is hers.
    assert report.attributed == Decimal("1.00") and report.unexplained == Decimal("3.00")


def test_a_bad_line_rejects_the_whole_report_naming_every_line_and_reason(world):
    body = jsonl([
        output("o-1", "10.00", {world.ann: 0.5}),
        output("o-2", "-1.00", {world.ann: 0.5}),
        output("o-3", "1.00", {world.ann: 1.5}),
        output("o-4", "1.00", {999_999: 0.5}),
        output("o-5", "1.00", {world.ann: 0.5}, currency="USD"),
        output("o-1", "1.00", {world.ann: 0.5}),
    ]) + b"{not json\n"
    report = upload(world, body)
    assert report.status == "rejected"
    assert report.rejected_count == 6
    reasons = {r["line"]: r["reason"] for r in report.rejected_lines}
    assert reasons[2].startswith("negative revenue")
    assert reasons[3].startswith("score outside [0, 1]")
    assert reasons[4] == "unknown contributor 999999"
    assert reasons[5].startswith("wrong currency 'USD'")
    assert reasons[6] == "duplicate output id (first on line 1)"
    assert reasons[7].startswith("bad JSON")
    assert report.invoice is None and not UsageShare.objects.filter(report=report).exists()


def test_an_output_id_of_white_space_alone_is_no_output_id(world):
    report = upload(world, jsonl([
        output("o-1", "1.00", {world.ann: 0.5}),
        output("   ", "1.00", {world.ann: 0.5}),
        output("\u2003\t", "1.00", {world.ann: 0.5}),
    ]))
    assert report.status == "rejected"
    assert report.rejected_lines == [{"line": 2, "reason": "no output_id"}, {"line": 3, "reason": "no output_id"}]


def test_fields_spelt_with_escapes_are_read_as_the_same_fields(world):
    asset = world.ann.assets.first()
    body = (f'{{"output_id": "o-1", "revenue": "10.00", "scores": {{"{world.ben.pk}": 0.1}}, '
            f'"\\u0061sset_scores": {{"{asset.pk}": 0.5}}}}\n').encode()
    report = upload(world, body)
    assert report.status == "processed", report.rejected_lines
    assert UsageShare.objects.get(report=report, contributor=world.ann).score_sum == 0.5
    wrong = (f'{{"output_id": "o-1", "revenue": "10.00", "scores": {{"{world.ann.pk}": 0.5}}, '
             '"curr\\u0065ncy": "USD"}\n').encode()
    rejected = upload(world, wrong, reference="escaped")
    assert rejected.status == "rejected"
    assert rejected.rejected_lines[0]["reason"].startswith("wrong currency 'USD'")


def test_a_report_sent_twice_or_processed_twice_books_once(world):
    body = jsonl([output("o-1", "10.00", {world.ann: 0.5})])
    report = upload(world, body)
    again = upload(world, body)  # the same reference: the first report, untouched
    assert again.pk == report.pk
    usage_report_process(report_id=report.pk)
    assert UsageReport.objects.count() == 1
    assert Invoice.objects.filter(reason=InvoiceReason.USAGE).count() == 1
    pool = pay_in_full(report.invoice)
    assert attribution_pool_create(payment_id=pool.payment_id).pk == pool.pk
    assert RoyaltyEntry.objects.filter(pool=pool).aggregate(t=Sum("amount"))["t"] == report.pool


def test_a_csv_report_reads_like_the_jsonl_one(world):
    body = (f'output_id,revenue,currency,scores\no-1,100.00,EUR,"{{""{world.ann.pk}"": 0.62, '
            f'""{world.ben.pk}"": 0.5}}"\no-2,5,,"{{""{world.cat.pk}"": 1}}"\n').encode()
    report = upload(world, body, name="report.csv")
    assert report.status == "processed", report.rejected_lines
    assert report.format == "csv" and report.outputs == 2 and report.revenue == Decimal("105.00")
    bad = upload(world, b"output_id,revenue,currency,scores\no-1,1,EUR,{oops\n", name="r.csv", reference="bad")
    assert bad.rejected_lines == [{"line": 2, "reason": bad.rejected_lines[0]["reason"]}]
    assert bad.rejected_lines[0]["reason"].startswith("bad JSON in scores")


def test_scores_of_assets_count_for_their_contributor_at_the_highest(world):
    asset = world.ann.assets.first()
    report = upload(world, jsonl([output("o-1", "10.00", {world.ann: 0.2}, asset_scores={str(asset.pk): 0.5})]))
    share = UsageShare.objects.get(report=report)
    assert share.contributor_id == world.ann.pk and share.score_sum == 0.5


def test_the_payment_pays_the_pool_and_a_credit_note_reverses_it_exactly(world, fiona):
    report = upload(world, jsonl([
        output("o-1", "33.33", {world.ann: 0.62, world.ben: 0.5}),
        output("o-2", "66.67", {world.cat: 0.2}),
    ]))
    pool = pay_in_full(report.invoice)
    entries = RoyaltyEntry.objects.filter(pool=pool)
    assert entries.aggregate(t=Sum("amount"))["t"] == report.pool
    attributed = entries.filter(reason="attribution")
    assert attributed.aggregate(t=Sum("amount"))["t"] == report.attributed
    assert all(e.usage_report_id == report.pk for e in entries)
    for share in UsageShare.objects.filter(report=report):
        assert attributed.get(contributor_id=share.contributor_id).amount == Decimal(share.cents) / 100
    note = billing.credit_note_issue(invoice=report.invoice, by=fiona, reason="Misreported revenue")
    royalties_reverse_for_credit_note(credit_note_id=note.pk)
    totals = RoyaltyEntry.objects.values("contributor_id").annotate(t=Sum("amount"))
    assert all(row["t"] == 0 for row in totals)


def test_a_contributor_s_output_is_explained_in_words(world):
    report = upload(world, jsonl([output("o-7", "10.00", {world.ann: 0.62, world.ben: 0.5, world.cat: 0.3,
                                                          world.dan: 0.8})]))
    share = UsageShare.objects.get(report=report, contributor=world.ann)
    explanation = explain_output(report=report, contributor=world.ann, line=share.top_line)
    phi = shapley.shapley_values([[0.62, 0.5, 0.3]])[0]
    assert explanation.sentence == (f"your score 0.62; with the other 2 contributors your share of this output is "
                                    f"{phi[0]:.2f} of the {phi.sum():.2f} explained")
    assert explanation.zeroed == 1 and explanation.output_id == "o-7"


contributors_scores = st.lists(
    st.dictionaries(st.sampled_from(["ann", "ben", "cat", "dan"]), st.floats(0, 1), max_size=4),
    min_size=1, max_size=25)
revenues = st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False)


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outputs=contributors_scores, revenue=revenues, rate=st.decimals(min_value="0.01", max_value=1, places=4))
def test_the_cents_add_up_to_the_pool_for_any_report(org_a, alice, outputs, revenue, rate):
    with transaction.atomic():
        world = attribution_world(org_a, alice, rate=rate)
        body = jsonl([output(f"o-{n}", str(revenue), {getattr(world, name): score for name, score in scores.items()})
                      for n, scores in enumerate(outputs)])
        report = upload(world, body)
        assert report.status == "processed", report.rejected_lines
        cents = sum(UsageShare.objects.filter(report=report).values_list("cents", flat=True))
        assert Decimal(cents) / 100 == report.attributed
        assert report.attributed + report.unexplained == report.pool
        assert report.pool == (rate * revenue * len(outputs)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        expected = sum(float(revenue) * float(rate) * 100 * shapley.explained(
            np.asarray([[s for name, s in scores.items() if name != "dan"] or [0.0]]))[0] for scores in outputs)
        assert abs(cents - expected) <= 1
        if report.invoice is not None:
            pool = pay_in_full(report.invoice)
            assert RoyaltyEntry.objects.filter(pool=pool).aggregate(t=Sum("amount"))["t"] == report.pool
            note = billing.credit_note_issue(invoice=report.invoice, by=None, reason="Reported twice")
            royalties_reverse_for_credit_note(credit_note_id=note.pk)
            balances = RoyaltyEntry.objects.values("contributor_id").annotate(t=Sum("amount"))
            assert all(row["t"] == 0 for row in balances)
            assert not RoyaltyEntry.objects.filter(usage_report__isnull=True).exists()
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_trained_contributors_are_read_beside_the_file(org_a, alice):
    # What the job does: no transaction around it, so the trained contributors are queried on a connection
    # of its own while the first batches are checked. The split is the same.
    world = attribution_world(org_a, alice)
    report = upload(world, jsonl([output("o-1", "10.00", {world.ann: 0.5, world.dan: 0.9}),
                                  output("o-2", "10.00", {world.ben: 0.25})]))
    assert report.status == "processed" and report.zeroed_scores == 1
    assert dict(UsageShare.objects.filter(report=report).values_list("contributor_id", "cents")) == {
        world.ann.pk: 100, world.ben.pk: 50}


def test_a_payment_in_part_pays_the_report_s_shares_in_proportion(world):
    report = upload(world, jsonl([output("o-1", "100.00", {world.ann: 0.6, world.ben: 0.3}),
                                  output("o-2", "100.00", {world.cat: 0.1})]))
    invoice = report.invoice
    half = (invoice.gross_total / 2).quantize(Decimal("0.01"))
    first = billing.payment_record(invoice=invoice, by=None, amount=half, received_on=timezone.now().date(),
                                   reference="PART-1")
    pool = attribution_pool_create(payment_id=first.pk)
    entries = RoyaltyEntry.objects.filter(pool=pool)
    assert entries.aggregate(t=Sum("amount"))["t"] == pool.amount
    shares = {s.contributor_id: s.cents for s in UsageShare.objects.filter(report=report)}
    for entry in entries.filter(reason="attribution"):
        assert abs(entry.amount * 100 - Decimal(shares[entry.contributor_id]) * pool.amount / report.pool) <= 1


def test_lines_the_fast_decoder_leaves_to_the_careful_reader_book_the_same(world, monkeypatch):
    """A chunk of canonical lines is decoded in one pass; a chunk with an output id given as a number or a
    contributor id with a leading zero is read line by line. Both readings of the same report book alike,
    whichever chunks take which path."""
    from licensing.services import attribution

    monkeypatch.setattr(attribution, "READ_BYTES", 200)  # a chunk of one or two lines
    paths, decode = [], attribution._block_columns
    monkeypatch.setattr(attribution, "_block_columns",
                        lambda *args: paths.append(decode(*args) is not None) or decode(*args))
    rng = np.random.default_rng(7)
    by_asset = {str(world.cat.assets.first().pk): 0.9}
    lines = [output(f"{n}", f"{rng.integers(1, 5000) / 100:.2f}",
                    {c: round(float(rng.uniform(0, 1)), 3) for c in (world.ann, world.ben, world.cat, world.dan)
                     if rng.uniform() < 0.7}, asset_scores=by_asset if n % 5 == 0 else {})
             for n in range(1, 41)]
    canonical = upload(world, jsonl(lines), reference="canonical")
    odd = jsonl(lines).replace(b'{"output_id":"7",', b'{"output_id":7,').replace(
        f'"{world.ben.pk}":'.encode(), f'"0{world.ben.pk}":'.encode(), 3)
    assert odd != jsonl(lines)
    assert all(paths)
    paths.clear()
    careful = upload(world, odd, reference="careful")
    assert True in paths and False in paths
    assert canonical.status == careful.status == "processed", careful.rejected_lines
    shares = lambda report: sorted(UsageShare.objects.filter(report=report).values_list(  # noqa: E731
        "contributor_id", "cents", "outputs", "score_sum"))
    assert [share[:3] for share in shares(canonical)] == [share[:3] for share in shares(careful)]
    assert [share[3] for share in shares(canonical)] == pytest.approx([share[3] for share in shares(careful)])
    assert len(shares(canonical)) == 3
    assert (canonical.pool, canonical.attributed, canonical.zeroed_scores) == (
        careful.pool, careful.attributed, careful.zeroed_scores)


def test_a_bad_line_in_a_decoded_chunk_is_named_as_in_any_other(world):
    body = jsonl([output("o-1", "10.00", {world.ann: 0.5}), output("o-2", "10.00", {999_999_999: 0.5}),
                  output("o-3", "10.00", {world.ben: 1.5})])
    report = upload(world, body)
    assert report.status == "rejected"
    assert [(r["line"], r["reason"]) for r in report.rejected_lines] == [
        (2, "unknown contributor 999999999"), (3, "score outside [0, 1]: 1.5 for contributor " + str(world.ben.pk))]


def test_an_output_id_with_a_nul_character_is_a_rejected_line_not_a_crash(world):
    body = jsonl([output("o-1", "10.00", {world.ann: 0.5}), output("o-\x00-2", "10.00", {world.ben: 0.5})])
    report = upload(world, body)
    assert report.status == "rejected"
    assert report.rejected_lines == [{"line": 2, "reason": "output_id holds a NUL character"}]
    assert not UsageShare.objects.filter(report=report).exists()
