"""The catalogue, the slice preview, the account pages, the invoice page and the dashboard in
Chromium, at 1280×800 and on a 390×844 phone: found by their labels and roles, screenshotted to
var/test-artifacts/, and held to "nothing sticks out, nothing scrolls sideways, axe finds no
serious or critical violation"."""
import re

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from licensing.models import Asset, Contributor
from licensing.services import billing
from licensing.services.slices import slice_build, slice_request
from tests.conftest import make_user
from tests.e2e.checks import VIEWPORTS, holds_up
from tests.licensing.factories import catalogue, research_licence
from tests.licensing.test_billing import offer_accepted
from tests.licensing.test_royalties import credit

pytestmark = pytest.mark.browser

SIZES = pytest.mark.parametrize("size", list(VIEWPORTS))


@pytest.fixture
def demo_catalogue(settings, tmp_path):
    """The demo's real PNG, JPEG and MP4 files, with the previews their jobs made."""
    settings.MEDIA_ROOT = tmp_path
    call_command("seed_demo", force=True, assets=30, contributors=4, video_share=0.3)
    assert Asset.objects.filter(preview__status="ready").count() == 30
    return Asset.objects.all()


def open_menu_on_a_phone(page, size):
    if size == "phone":
        page.get_by_role("button", name="Menu").click()


@SIZES
def test_a_licensee_browses_the_catalogue_filters_it_and_opens_a_work(logged_in, alice, org_a, demo_catalogue, size):
    research_licence(organisation=org_a, applicant=alice)
    page = logged_in(alice, viewport=VIEWPORTS[size])
    open_menu_on_a_phone(page, size)
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Catalogue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Catalogue")
    expect(page.locator("hgroup p")).to_contain_text("30 works in the catalogue")
    tiles = page.locator("#works > li")
    expect(tiles).to_have_count(30)
    first_thumb = tiles.first.locator("img.thumb")
    expect(first_thumb).to_be_visible()
    page.wait_for_function("() => [...document.querySelectorAll('#works img.thumb')].slice(0, 4).every(i => i.complete && i.naturalWidth > 0)")
    holds_up(page, f"catalogue-{size}")

    videos = Asset.objects.filter(kind="video").count()
    filters = page.locator("details.facets")
    if size == "phone":  # folded on a phone, so the works come first
        expect(filters).not_to_have_attribute("open", "")
        filters.locator("summary").click()
    page.get_by_role("navigation", name="Kind").get_by_role("link", name="Videos").click()
    expect(page).to_have_url(re.compile(r"kind=video"))
    expect(page.locator("hgroup p")).to_contain_text(f"{videos} work{'s' if videos != 1 else ''} match your filters")
    expect(tiles).to_have_count(videos)
    if size == "phone":
        filters.locator("summary").click()
    expect(page.get_by_role("navigation", name="Video duration")).to_be_visible()
    # The chosen facet says so, and choosing it again clears it.
    expect(page.get_by_role("navigation", name="Kind").locator("a[aria-current=true]")).to_contain_text("Videos")

    page.get_by_label("Search titles and tags").fill("clip")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"q=clip"))
    tiles.first.get_by_role("link").click()
    expect(page.get_by_role("heading", level=2, name="For your licences")).to_be_visible()
    video = page.locator("video")
    expect(video).to_have_attribute("poster", re.compile(r"/previews/\d+/poster\.jpg\?v=\d+"))
    expect(page.locator("#availability")).to_contain_text("Available")
    holds_up(page, f"catalogue-work-{size}")


@SIZES
def test_the_slice_form_previews_the_slice_and_the_slice_page_shows_its_works(logged_in, alice, org_a,
                                                                              demo_catalogue, size):
    licence = research_licence(organisation=org_a, applicant=alice)
    images = Asset.objects.filter(kind="image").count()
    page = logged_in(alice, viewport=VIEWPORTS[size])
    page.goto(f"/licences/{licence.pk}/")
    form = page.locator("#slice-request form")
    form.get_by_label("Number of assets").fill("20")
    expect(form.get_by_label("Minimum video duration (s)")).to_be_visible()
    form.get_by_label("Media kind").select_option(label="Images")
    expect(form.get_by_label("Minimum video duration (s)")).to_be_hidden()
    expect(form.get_by_label("Maximum video duration (s)")).to_be_hidden()
    expect(page.locator("#slice-preview-count")).to_have_text(f"{images} works available")
    expect(page.locator("#slice-sample > li")).to_have_count(12)
    seed = form.get_by_label("Seed").input_value()
    assert seed.isdigit()
    page.locator("#slice-preview").scroll_into_view_if_needed()
    holds_up(page, f"slice-preview-{size}")
    sample = page.locator("#slice-sample .tile-title").all_inner_texts()

    form.get_by_role("button", name="Request slice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Slice 1")
    expect(page.get_by_role("heading", name="Works in this slice")).to_be_visible()
    granted = page.locator("#slice-work-tiles .tile-title").all_inner_texts()
    assert len(granted) == min(20, images) and granted[:12] == sample, "the preview showed what was granted"
    holds_up(page, f"slice-works-{size}")

    # Back on the licence page the slices table keeps its manifest links in view, on a phone too.
    page.get_by_role("link", name=licence.project_title).click()
    row = page.locator("#slice-request").locator("xpath=following::table[1]//tbody/tr").first
    for name in ("JSONL", "CSV", "Croissant"):
        link = row.get_by_role("link", name=name)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORTS[size]["width"], f"{name} is cut off"
    holds_up(page, f"licence-with-slices-{size}")


@SIZES
def test_a_new_applicant_signs_up_with_a_name_confirms_and_lands_on_the_organisation_step(open_page, size, mailoutbox,
                                                                                          demo_catalogue,
                                                                                          db):
    page = open_page(viewport=VIEWPORTS[size])
    page.goto("/")
    holds_up(page, f"home-{size}")
    if size == "phone":
        header = page.locator("header").bounding_box()
        assert header["height"] < 90, f"the phone header is one line, not {header['height']} px"
        expect(page.get_by_role("button", name="Sign up", exact=True)).to_be_hidden()
    open_menu_on_a_phone(page, size)
    page.get_by_role("navigation", name="Site").get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign up")
    holds_up(page, f"signup-{size}")
    page.get_by_label("Your name").fill("Nora Quist")
    page.get_by_label("Work e-mail address").fill("nora@pixelforge.example")
    page.get_by_label(re.compile(r"^Password\W*$")).fill("a-long-passphrase-42")
    page.get_by_label("Password again").fill("a-long-passphrase-42")
    page.get_by_role("main").get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    holds_up(page, f"verification-sent-{size}")

    message = mailoutbox[-1]
    assert message.body.startswith("Hello Nora Quist,")
    link = re.search(r"https?://\S+(/accounts/confirm-email/\S+/)", message.body).group(1)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your e-mail address")
    holds_up(page, f"confirm-email-{size}")
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/organisation/new/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("organisation")

    open_menu_on_a_phone(page, size)
    page.get_by_role("button", name="Log out").click()
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    expect(page.get_by_label("E-mail address")).to_be_visible()
    holds_up(page, f"login-{size}")


@SIZES
def test_the_licensee_reads_its_invoice_and_how_to_pay_it(logged_in, alice, org_a, size, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    licence = offer_accepted(org_a, alice)
    invoice = billing.commercial_invoice_issue(licence_id=licence.pk)
    page = logged_in(alice, viewport=VIEWPORTS[size])
    page.goto(f"/licences/{licence.pk}/")
    holds_up(page, f"licence-awaiting-payment-{size}")
    page.locator("#invoices").get_by_role("link", name=invoice.display_number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Invoice {invoice.display_number}")
    pay = page.get_by_role("region", name="How to pay")
    expect(pay).to_contain_text("14,280.00 EUR")
    expect(pay).to_contain_text("DE89 3704 0044 0532 0130 00")
    expect(page.locator("#invoice-totals")).to_contain_text("VAT 19%")
    expect(page.get_by_role("link", name="Download the PDF")).to_be_visible()
    holds_up(page, f"invoice-{size}")


@SIZES
def test_staff_read_the_dashboard_charts_and_their_numbers(logged_in, rita, org_a, alice, size):
    licence = research_licence(organisation=org_a, applicant=alice)
    catalogue(5)
    slice_build(slice_id=slice_request(licence=licence, by=alice, size=5, seed=1).pk)
    page = logged_in(rita, viewport=VIEWPORTS[size])
    open_menu_on_a_phone(page, size)
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(4)
    for n in range(4):
        assert charts.nth(n).locator("svg").bounding_box()["height"] > 80
    grants = page.locator("#chart-grants")
    grants.get_by_text("The numbers").click()
    expect(grants.get_by_role("table")).to_be_visible()
    expect(grants.get_by_role("table")).to_contain_text("5")
    holds_up(page, f"dashboard-{size}")


@SIZES
def test_a_contributor_sees_their_works_as_thumbnails_with_use_and_earnings(logged_in, alice, org_a, demo_catalogue,
                                                                            size):
    contributor = Contributor.objects.filter(opted_out=False).order_by("pk").first()
    contributor.user = make_user("pia@photos.example")
    contributor.save(update_fields=["user"])
    licence = research_licence(organisation=org_a, applicant=alice)
    slice_build(slice_id=slice_request(licence=licence, by=alice, size=30, seed=5).pk)
    credit(contributor, licence, "50.00", timezone.now())
    page = logged_in(contributor.user, viewport=VIEWPORTS[size])
    open_menu_on_a_phone(page, size)
    page.get_by_role("navigation", name="Site").get_by_role("link", name="My works").click()
    page.get_by_role("link", name="See my works").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My works")
    rows = page.locator("#works tbody tr")
    expect(rows).to_have_count(contributor.assets.count())
    expect(rows.first.locator("img.thumb")).to_be_visible()
    newest = contributor.assets.order_by("-id").first()
    used_by = newest.grants.values("licence_id").distinct().count()
    expect(rows.first).to_contain_text(newest.title)
    expect(rows.first).to_contain_text(f"{used_by} licence{'s' if used_by != 1 else ''}")
    expect(rows.first).to_contain_text("≈")
    holds_up(page, f"contributor-works-{size}")
