"""A studio deal in a real browser: staff bring in a feed and make a collection of it, an admin offers the
collection exclusively, the licensee accepts and pays, the whole collection is its slice, and another
licensee's slice leaves it out."""
import re

import pytest
from playwright.sync_api import expect

from licensing.models import Asset, SliceItem
from licensing.services import licences as services
from tests.conftest import ARTIFACTS, make_organisation
from tests.licensing.factories import APPLICATION, research_licence

pytestmark = pytest.mark.browser

SCREENSHOT = ARTIFACTS / "catalogue-journey.png"
HEADER = ("external_id,kind,title,tags,width,height,duration_seconds,bytes,mime_type,sha256,storage_key,"
          "contributor_external_id,contributor_name,collection,rightsholders")


def feed():
    rows = [HEADER]
    for n in range(4):
        rows.append(f"FILM-{n},video,Lighthouse reel {n},film,1920,800,{30 + n},{5_000_000 + n},video/mp4,"
                    f"{n + 1:064x},,D-1,Dora Director,,")
    for n in range(5):
        rows.append(f"PHOTO-{n},image,Harbour photo {n},sea,1920,1080,,{100_000 + n},image/jpeg,{n + 100:064x},,"
                    f"P-1,Pia Photographer,,")
    rows.append("BROKEN,image,No size,sea,,1080,,1,image/jpeg," + "f" * 64 + ",,P-1,Pia Photographer,,")
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture
def upgrade_requested(alice, rita):
    licence = services.licence_create_draft(organisation=alice.membership.organisation, by=alice, accept_terms=True,
                                            **APPLICATION)
    services.licence_submit(licence=licence, by=alice)
    services.licence_approve(licence=licence, by=rita)
    services.licence_request_upgrade(licence=licence, by=alice, intended_use="A video model for the studio.",
                                     expected_scale="The whole film catalogue")
    return licence


def open_action(page, action):
    details = page.locator(f"details#action-{action}")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return details


def test_an_exclusive_whole_collection_deal_from_feed_to_slice(
        upgrade_requested, logged_in, alice, bob, adam, fiona, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    studio = make_organisation("Lighthouse Films", kind="studio")

    staff = logged_in(adam)
    staff.get_by_role("navigation").get_by_role("link", name="Feeds").click()
    staff.locator("input[name=feed]").set_input_files(files=[
        {"name": "studio.csv", "mimeType": "text/csv", "buffer": feed()}])
    staff.get_by_role("button", name="Bring the feed in").click()
    expect(staff.locator("h1")).to_have_text("Feed studio.csv")
    expect(staff.locator("#run-state")).to_have_text("Done")
    expect(staff.locator("#run-created")).to_have_text("9")
    expect(staff.locator("#run-rejected")).to_have_text("1")
    expect(staff.locator("#rejections tbody tr td")).to_have_text(["11", "BROKEN", "width is empty"])

    staff.get_by_role("link", name="Collections").click()
    form = staff.locator("#collection-form")
    form.get_by_label("Name").fill("Lighthouse films")
    form.get_by_label("Owner: an organisation").select_option(label="Lighthouse Films")
    form.get_by_label("Works (external ids, one a line)").fill("FILM-0\nFILM-1\nFILM-2\nFILM-3")
    form.get_by_role("button", name="Create the collection").click()
    expect(staff.locator("h1")).to_have_text("Lighthouse films")
    expect(staff.locator("#collection-works tbody tr")).to_have_count(4)

    staff.goto(f"/licences/{upgrade_requested.pk}/")
    offer = open_action(staff, "make_offer")
    offer.get_by_label("Fee").fill("250000.00")
    offer.get_by_label("Currency").select_option("EUR")
    offer.get_by_label("Billing period").select_option(label="One-off fee for the term")
    offer.get_by_label("Licensed purpose").fill("Train the studio's custom video model")
    offer.get_by_label("Covers").select_option(label="Listed collections")
    offer.get_by_label("Lighthouse films").check()
    offer.get_by_label("Exclusive for the term").check()
    offer.get_by_label("Only for a custom model").fill("Lighthouse Gen-1")
    offer.get_by_role("button", name="Send the offer").click()
    expect(staff.locator("#licence-state")).to_have_text("Upgrade offered")
    expect(staff.locator("#offer-coverage")).to_contain_text("Lighthouse films — exclusive for the term")

    licensee = logged_in(alice)
    licensee.goto(f"/licences/{upgrade_requested.pk}/")
    expect(licensee.locator("#offer-coverage")).to_contain_text("Listed collections: Lighthouse films")
    accept = open_action(licensee, "accept_offer")
    accept.get_by_label("I accept the commercial offer above").check()
    accept.get_by_role("button", name="Accept the offer").click()
    expect(licensee.locator("#licence-state")).to_have_text("Awaiting payment")

    finance = logged_in(fiona)
    finance.get_by_role("navigation").get_by_role("link", name="Invoices").click()
    finance.locator("table a").filter(has_text=re.compile(r"^INV-")).first.click()
    finance.locator("#record-payment").get_by_label("Payment reference").fill("SEPA-STUDIO-1")
    finance.locator("#record-payment").get_by_role("button", name="Record payment").click()
    expect(finance.locator("#invoice-status")).to_have_text("Paid")

    licensee.reload()
    expect(licensee.locator("#licence-state")).to_have_text("Commercial active")
    slice_rows = licensee.locator("table:below(h2:text('Slices')) tbody tr").first
    expect(slice_rows).to_contain_text("Ready")
    expect(slice_rows).to_contain_text("4")
    films = set(Asset.objects.filter(external_id__startswith="FILM-").values_list("pk", flat=True))
    assert set(SliceItem.objects.filter(licence=upgrade_requested).values_list("asset_id", flat=True)) == films

    other = research_licence(organisation=bob.membership.organisation, applicant=bob, max_assets=50, max_slices=5,
                             max_bytes=10**12)
    rival = logged_in(bob)
    rival.goto(f"/licences/{other.pk}/")
    rival.get_by_label("Number of assets").fill("20")
    rival.get_by_role("button", name="Request slice").click()
    expect(rival.locator("#slice-status")).to_contain_text("Ready")
    granted = set(SliceItem.objects.filter(licence=other).values_list("asset__external_id", flat=True))
    assert granted == {f"PHOTO-{n}" for n in range(5)}

    staff.goto("/catalogue/exclusivity/")
    expect(staff.locator("#exclusivity tbody tr").filter(has_text="Lighthouse films")).to_contain_text("exclusive")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    staff.screenshot(path=SCREENSHOT, full_page=True)
    assert studio.pk
