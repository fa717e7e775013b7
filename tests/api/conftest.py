"""API fixtures: alice's org A and bob's org B, each with a licence, a ready slice and an issued invoice,
and keys made the way an owner makes them (all scopes unless told)."""
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.api_keys import api_key_create
from accounts.models import ApiKey
from licensing.models import InvoiceReason
from licensing.services.billing import invoice_draft, invoice_issue
from licensing.services.slices import slice_build, slice_request
from tests.licensing.factories import catalogue, research_licence

ALL_SCOPES = list(ApiKey.SCOPES)


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Invoice PDFs and asset files are written under the test's own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = "http://testserver"


@pytest.fixture
def make_key():
    """make_key(org, scopes=..., expired=False, revoked=False) -> (ApiKey, plaintext)."""

    def make(organisation, scopes=ALL_SCOPES, *, expired=False, revoked=False, name="pipeline"):
        key, plaintext = api_key_create(organisation=organisation, by=None, name=name, scopes=list(scopes),
                                        expires_days=30)
        if expired:
            key.expires_at = timezone.now() - timedelta(days=2)
        if revoked:
            key.revoked_at = timezone.now() - timedelta(hours=1)
        if expired or revoked:
            key.save(update_fields=["expires_at", "revoked_at"])
        return key, plaintext

    return make


@pytest.fixture
def api():
    """api(key=None) -> an APIClient sending `Authorization: Bearer <key>` when a key is given."""

    def client(plaintext=None):
        c = APIClient()
        if plaintext:
            c.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        return c

    return client


def issued_invoice(licence, amount="500.00"):
    draft = invoice_draft(licence=licence, reason=InvoiceReason.RESEARCH_FEE, currency="EUR",
                          lines=[(f"Research licence “{licence.project_title}”", Decimal("1"), Decimal(amount))])
    return invoice_issue(invoice=draft)


def ready_slice(licence, by, size):
    slice_ = slice_request(licence=licence, by=by, size=size, seed=7)
    slice_build(slice_id=slice_.pk)  # the on_commit job never fires inside the test's transaction
    slice_.refresh_from_db()
    assert slice_.status == "ready", slice_.failure_reason
    return slice_


def org_world(organisation, owner, *, assets=6, slice_size=3):
    licence = research_licence(organisation=organisation, applicant=owner, max_assets=100, max_slices=50,
                               max_bytes=10**12)
    catalogue(assets)
    slice_ = ready_slice(licence, owner, slice_size)
    invoice = issued_invoice(licence)
    return SimpleNamespace(org=organisation, owner=owner, licence=licence, slice=slice_, invoice=invoice)


@pytest.fixture
def world_a(org_a, alice):
    """Org A: a research licence with a ready slice of 3 assets and an issued invoice."""
    return org_world(org_a, alice)


@pytest.fixture
def world_b(org_b, bob):
    """Org B, the same: what org A's keys must never reach."""
    return org_world(org_b, bob)


@pytest.fixture
def key_a(world_a, make_key):
    """Org A's key with every scope: (ApiKey, plaintext)."""
    return make_key(world_a.org)


def error_of(response):
    """The {"code", "message", "fields"} of a JSON error response."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields", "request_id"}, body
    assert body["error"]["request_id"], "every error names the request it is logged under"
    return {key: value for key, value in body["error"].items() if key != "request_id"}
