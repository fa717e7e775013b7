"""The public transparency page shows each licence's current phase, and a change shows at once."""
import re

import pytest

from licensing.services import billing
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.slices import slice_build, slice_request
from tests.licensing.factories import ContributorFactory, catalogue, research_licence
from tests.licensing.test_billing import offer_accepted

pytestmark = pytest.mark.django_db


def grants_table(client):
    page = client.get("/transparency/").content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.split('id="grants"')[1].split("</table>")[0]))


def test_a_licence_that_became_commercial_reads_commercial_for_the_works_it_was_granted(
        client, org_a, alice, fiona, django_capture_on_commit_callbacks, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    licence = offer_accepted(org_a, alice)  # awaiting payment, still in its research phase
    catalogue(4)
    with django_capture_on_commit_callbacks(execute=True):
        slice_build(slice_id=slice_request(licence=licence, by=alice, size=4, seed=1).pk)
    assert "Acme Vision Research 1 4" in grants_table(client)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = billing.commercial_invoice_issue(licence_id=licence.pk)
        billing.payment_record(invoice=invoice, by=fiona, amount=invoice.gross_total, received_on="2026-12-01",
                               reference="SEPA-1")
    table = grants_table(client)
    assert "Acme Vision Commercial 1 4" in table and "Research" not in table


def test_new_grants_and_opt_outs_show_without_waiting_for_the_cache(client, org_a, alice,
                                                                     django_capture_on_commit_callbacks):
    licence = research_licence(organisation=org_a, applicant=alice)
    leaving = ContributorFactory()
    catalogue(3, contributor=leaving)
    assert "No works have been granted yet" in grants_table(client)  # cached now
    with django_capture_on_commit_callbacks(execute=True):
        slice_build(slice_id=slice_request(licence=licence, by=alice, size=3, seed=1).pk)
    assert "Acme Vision Research 1 3" in grants_table(client)
    with django_capture_on_commit_callbacks(execute=True):
        contributor_set_opt_out(contributor=leaving, opted_out=True, by=None, note="")
    assert "3 withdrawn" in grants_table(client)
    page = re.sub(r"\s+", " ", client.get("/transparency/").content.decode())
    assert "1 contributor, of whom 1 has opted out" in page
