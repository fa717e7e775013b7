"""The whole licence journey through the pages, as each role sees it."""
from decimal import Decimal

import pytest
from django.core import mail

from licensing.models import Licence, LicenceEvent
from tests.licensing.factories import APPLICATION

pytestmark = pytest.mark.django_db


def post_action(client, licence, action, **fields):
    licence.refresh_from_db()
    data = {f"{action}-version": licence.version, **{f"{action}-{k}": v for k, v in fields.items()}}
    return client.post(f"/licences/{licence.pk}/{action}/", data)


def test_apply_review_upgrade_offer_accept_and_pay(client, alice, rita, adam, fiona, django_capture_on_commit_callbacks,
                                                   settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/licences/apply/", {**APPLICATION, "accept_terms": "on", "intent": "submit"})
    assert response.status_code == 302
    licence = Licence.objects.get()
    assert licence.state == "submitted"
    assert any("rita@licensor.example" in m.to for m in mail.outbox), "reviewers hear of new submissions"

    client.force_login(rita)
    page = client.get(f"/licences/{licence.pk}/").content.decode()
    assert "Approve" in page and 'value="2000"' in page, "the asset cap is prefilled from the application's estimate"
    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(client, licence, "approve", max_assets=100, max_gigabytes="1", max_slices=3, duration_days=30)
    assert response.status_code == 302
    licence.refresh_from_db()
    assert (licence.state, licence.max_assets, licence.max_slices) == ("research_active", 100, 3)
    assert any(m.to == ["alice@acme.example"] and "approved" in m.subject for m in mail.outbox)

    client.force_login(alice)
    response = post_action(client, licence, "request_upgrade", intended_use="Ship it", expected_scale="1M images")
    assert response.status_code == 302

    client.force_login(adam)
    response = post_action(client, licence, "make_offer", fee="12000.00", currency="EUR", billing_period="annual",
                           term_months=12, scope="Train a commercial segmentation model", territory="Worldwide")
    assert response.status_code == 302
    licence.refresh_from_db()
    assert licence.state == "upgrade_offered"

    client.force_login(alice)
    offer_page = client.get(f"/licences/{licence.pk}/").content.decode()
    assert "12,000.00 EUR excluding VAT (annual fee)" in offer_page
    assert "Invoiced with 19% VAT: 14,280.00 EUR a year, payable within 14 days." in offer_page
    unticked = post_action(client, licence, "accept_offer")
    assert unticked.status_code == 400
    assert "Tick the box to accept the offer: accepting issues the invoice." in unticked.content.decode()
    licence.refresh_from_db()
    assert licence.state == "upgrade_offered" and not licence.invoices.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(client, licence, "accept_offer", agree="on")
    licence.refresh_from_db()
    assert licence.state == "awaiting_payment"
    told = client.get(response["Location"]).content.decode()
    assert ("Offer accepted: the invoice is on its way, and the licence becomes commercial once it is paid."
            in told)

    invoice = licence.invoices.get()
    assert (invoice.status, invoice.gross_total, invoice.currency) == ("issued", Decimal("14280.00"), "EUR")
    client.force_login(fiona)
    response = client.post(f"/finance/invoices/{invoice.pk}/payments/", {
        "amount": "14280.00", "received_on": "2026-11-20", "reference": "SEPA-123", "method": "bank_transfer"})
    assert response.status_code == 302
    licence.refresh_from_db()
    assert licence.state == "commercial_active" and licence.phase == "commercial"
    assert licence.commercial_ends_at is not None

    actions = list(LicenceEvent.objects.filter(licence=licence).values_list("action", flat=True))
    assert actions == ["create", "submit", "approve", "request_upgrade", "make_offer", "accept_offer", "record_payment"]
    timeline = client.get(f"/licences/{licence.pk}/").content.decode()
    assert "approved the research licence" in timeline and "recorded the payment" in timeline


def test_a_form_posted_from_a_stale_page_is_refused_and_changes_nothing(client, alice, rita, adam):
    client.force_login(alice)
    client.post("/licences/apply/", {**APPLICATION, "accept_terms": "on", "intent": "submit"})
    licence = Licence.objects.get()
    stale_version = licence.version
    client.force_login(adam)
    post_action(client, licence, "reject", reason="Out of scope")
    client.force_login(rita)
    response = client.post(f"/licences/{licence.pk}/approve/", {
        "approve-version": stale_version, "approve-max_assets": 10, "approve-max_gigabytes": "1",
        "approve-max_slices": 1, "approve-duration_days": 10}, follow=True)
    assert "changed while you were looking at it" in response.content.decode()
    licence.refresh_from_db()
    assert licence.state == "rejected"
    assert LicenceEvent.objects.filter(licence=licence, action="approve").count() == 0


def test_a_reason_is_required_to_reject_and_the_error_is_shown_next_to_the_field(client, alice, rita):
    client.force_login(alice)
    client.post("/licences/apply/", {**APPLICATION, "accept_terms": "on", "intent": "submit"})
    licence = Licence.objects.get()
    client.force_login(rita)
    response = post_action(client, licence, "reject", reason="")
    assert response.status_code == 400
    assert 'id="id_reject-reason_error"' in response.content.decode()
    licence.refresh_from_db()
    assert licence.state == "submitted"


def test_another_organisations_licence_answers_404(client, alice, bob):
    client.force_login(alice)
    client.post("/licences/apply/", {**APPLICATION, "accept_terms": "on", "intent": "draft"})
    licence = Licence.objects.get()
    client.force_login(bob)
    assert client.get(f"/licences/{licence.pk}/").status_code == 404
    assert client.get(f"/licences/{licence.pk}/edit/").status_code == 404
    assert client.post(f"/licences/{licence.pk}/withdraw/", {"withdraw-version": licence.version}).status_code == 404
    assert licence.project_title not in client.get("/licences/").content.decode()
    licence.refresh_from_db()
    assert licence.state == "draft"
