"""Invoices in the buyer's language: a German buyer's PDF and page write German amounts, an Arabic buyer's
PDF carries its Arabic name in logical order (shaped, right to left, with the fonts embedded)."""
from io import BytesIO

import pytest
from pypdf import PdfReader

from licensing.documents.billing import render_invoice_pdf
from licensing.documents.text import faces
from licensing.services import billing
from tests.conftest import ARTIFACTS, make_organisation, make_user
from tests.licensing.test_billing import offer_accepted

pytestmark = pytest.mark.django_db

ARABIC_NAME = "شركة النور للذكاء الاصطناعي"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def pdf_text(data):
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(data)).pages)


def invoice_for(organisation, owner):
    return billing.commercial_invoice_issue(licence_id=offer_accepted(organisation, owner).pk)


def embedded_fonts(data):
    names = set()
    for page in PdfReader(BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                names.add(str(font["/BaseFont"]).split("+", 1)[-1])
    return names


def test_a_german_buyers_invoice_writes_german_amounts_in_its_pdf_and_on_its_page(org_a, alice, client):
    alice.language = "de"
    alice.save()
    invoice = invoice_for(org_a, alice)  # 12,000 EUR and 19% VAT

    text = pdf_text(render_invoice_pdf(invoice))

    assert "14.280,00 €" in text and "12.000,00" in text and "2.280,00" in text
    assert "14,280.00" not in text
    client.force_login(alice)
    page = client.get(f"/invoices/{invoice.pk}/").content.decode()
    assert "14.280,00" in page and "14,280.00" not in page


def test_an_english_buyers_invoice_is_as_it_always_was(org_a, alice):
    text = pdf_text(render_invoice_pdf(invoice_for(org_a, alice)))

    assert "14,280.00 EUR" in text and "14.280,00" not in text


def test_an_arabic_buyers_pdf_has_its_name_in_logical_order_with_the_fonts_embedded():
    if not any(font.face.charToGlyph.get(ord("ش")) for font, _ in faces().values()):
        pytest.skip("No font with Arabic is installed: run scripts/ensure-fonts.sh")
    organisation = make_organisation("Al Nour", legal_name=ARABIC_NAME, country="EG", vat_id="",
                                     billing_address="١٢ شارع التحرير\nالقاهرة")
    owner = make_user("huda@alnour.example", organisation=organisation, role="owner")
    owner.language = "ar"
    owner.save()

    data = render_invoice_pdf(invoice_for(organisation, owner))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "invoice-ar.pdf").write_bytes(data)  # to look at: pdftoppm -png var/test-artifacts/invoice-ar.pdf
    text = pdf_text(data)

    assert ARABIC_NAME in text, "the buyer's name reads as written, word after word"
    assert ARABIC_NAME[::-1] not in text
    assert not any("\ufb50" <= c <= "\ufdff" or "\ufe70" <= c <= "\ufeff" for c in text), \
        "shaped glyphs give back their letters, not presentation forms"
    assert "القاهرة" in text
    assert embedded_fonts(data), "the fonts are embedded"


def test_hebrew_and_emoji_are_drawn_with_fonts_that_have_them(org_a, alice):
    if not faces():
        pytest.skip("No fonts installed: run scripts/ensure-fonts.sh")
    org_a.legal_name = "שלום Vision 🎨 Ltd"
    org_a.save()

    data = render_invoice_pdf(invoice_for(org_a, alice))

    assert "שלום" in pdf_text(data)
    covered = {ch for font, _ in faces().values() for ch in "ש🎨" if ord(ch) in font.face.charToGlyph}
    assert "ש" in covered
    if "🎨" in covered:
        assert "🎨" in pdf_text(data), "an emoji the fonts have is drawn, not a box"
