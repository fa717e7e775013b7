"""The usage report pages: the licensee sends one from the version page and follows it, the contributor
reads why they earned what they did, finance sees the totals and exports every share."""
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from licensing import shapley
from licensing.models import UsageReport
from licensing.services.attribution import usage_report_process
from tests.conftest import make_user
from tests.licensing.attribution_world import attribution_world, jsonl, output, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(org_a, alice):
    world = attribution_world(org_a, alice)
    world.ann.user = make_user("ann@photos.example")
    world.ann.save()
    return world


@pytest.fixture
def report(world):
    return upload(world, jsonl([
        output("poster-1", "10.00", {world.ann: 0.62, world.ben: 0.5, world.cat: 0.3, world.dan: 0.9}),
        output("poster-2", "1.00", {world.ann: 0.1}),
    ]))


def test_the_licensee_sends_a_report_from_the_version_page_and_follows_it(client_for, world, alice):
    client = client_for(alice)
    page = client.get(f"/ai-models/{world.model.pk}/versions/{world.version.pk}/")
    assert page.status_code == 200 and b"Send a usage report" in page.content
    response = client.post(f"/ai-models/{world.model.pk}/versions/{world.version.pk}/usage-reports/", {
        "file": SimpleUploadedFile("q3.jsonl", jsonl([output("o-1", "10.00", {world.ann: 0.5})])),
        "reference": "2026-Q3", "period_start": "2026-07-01", "period_end": "2026-09-30"})
    report = UsageReport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/usage-reports/{report.pk}/")
    usage_report_process(report_id=report.pk)
    shown = client.get(response["Location"]).content.decode()
    assert "Processed" in shown and "2.00 EUR (20% of the revenue)" in shown
    listed = client.get(f"/ai-models/{world.model.pk}/versions/{world.version.pk}/").content.decode()
    assert f'data-report="{report.pk}"' in listed


def test_a_rejected_report_page_lists_its_lines(client_for, world, alice):
    report = upload(world, jsonl([output("o-1", "-3", {world.ann: 0.5})]))
    shown = client_for(alice).get(f"/ai-models/{world.model.pk}/versions/{world.version.pk}/usage-reports/"
                                  f"{report.pk}/").content.decode()
    assert "Rejected" in shown and "<td>1</td><td>negative revenue (-3)</td>" in shown


def test_another_organisation_sees_no_report_and_cannot_send_one(client_for, world, report, bob):
    client = client_for(bob)
    base = f"/ai-models/{world.model.pk}/versions/{world.version.pk}/usage-reports/"
    assert client.get(f"{base}{report.pk}/").status_code == 404
    sent = client.post(base, {"file": SimpleUploadedFile("q.jsonl", b"{}\n"), "reference": "x",
                              "period_start": "2026-07-01", "period_end": "2026-09-30"})
    assert sent.status_code == 404 and UsageReport.objects.count() == 1


def test_the_contributor_reads_their_largest_share_explained_in_words(client_for, world, report):
    page = client_for(world.ann.user).get(f"/contributor/usage-reports/{report.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    phi = shapley.shapley_values([[0.62, 0.5, 0.3]])[0]
    assert (f"Your score 0.62; with the other 2 contributors your share of this output is {phi[0]:.2f} of the "
            f"{phi.sum():.2f} explained.") in text
    assert "output poster-1" in text and "1 other contributor scored on it did not train the model" in text


def test_the_statement_lists_the_report_with_count_mean_share_and_amount(client_for, world, report):
    month = f"{report.processed_at:%Y-%m}"
    text = client_for(world.ann.user).get(f"/contributor/statements/{month}/").content.decode()
    assert f'data-report="{report.pk}"' in text and "Poster Painter 1.0" in text
    share = report.shares.get(contributor=world.ann)
    assert f"<td>2</td><td>{share.mean_score:.2f}</td><td>{share.shapley_sum / 2:.2f}</td>" in text


def test_a_contributor_not_scored_in_a_report_gets_404(client_for, world, report):
    dan = world.dan
    dan.user = make_user("dan@photos.example")
    dan.save()
    assert client_for(dan.user).get(f"/contributor/usage-reports/{report.pk}/").status_code == 404


def test_finance_sees_the_totals_top_contributors_and_exports_every_share(client_for, world, report, fiona):
    client = client_for(fiona)
    text = client.get(f"/finance/usage-reports/{report.pk}/").content.decode()
    assert "Top contributors" in text and "Ann" in text and f"{report.attributed:,.2f} EUR" in text
    assert report.reference in client.get("/finance/usage-reports/").content.decode()
    export = client.get(f"/finance/usage-reports/{report.pk}/shares.csv")
    rows = b"".join(export.streaming_content).decode().splitlines()
    assert rows[0].startswith("contributor_id,contributor,outputs") and len(rows) == 1 + report.contributor_count


def test_the_pages_are_for_finance_only(client_for, report, alice):
    assert client_for(alice).get(f"/finance/usage-reports/{report.pk}/").status_code == 403


def test_the_period_is_stored_as_sent(report):
    assert (report.period_start, report.period_end) == (date(2026, 7, 1), date(2026, 9, 30))
