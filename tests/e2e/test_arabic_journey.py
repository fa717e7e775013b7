"""An applicant and a contributor use Tessera in Arabic on a 390 px phone. On every page: the page
reads right to left, never scrolls sideways, no control sticks out of the screen or is cut off by
a box that hides its overflow, and a screenshot under var/screenshots/ar/ shows what they saw.
Links and buttons are found by the words the reader sees, in Arabic once the catalogue says so."""
from pathlib import Path

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from licensing.services import billing
from licensing.services.slices import slice_build, slice_request
from tests.conftest import BASE_DIR, make_user
from tests.e2e.checks import accessible, fits_the_viewport
from tests.licensing.factories import catalogue, research_licence
from tests.licensing.test_billing import offer_accepted
from tests.licensing.test_royalties import credit, make_contributor

pytestmark = pytest.mark.browser

SCREENSHOTS = BASE_DIR / "var" / "screenshots" / "ar"
ARABIC_PHONE = {"viewport": {"width": 390, "height": 844}, "locale": "ar"}

CLIPPED_CONTROLS = """() => {
  const width = document.documentElement.clientWidth;
  const found = [];
  const controls = 'a[href], button, input:not([type=hidden]), select, textarea, summary';
  for (const el of document.querySelectorAll(controls)) {
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height) continue;
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40);
    const name = `${el.tagName.toLowerCase()} "${text}"`;
    if (box.left < -1 || box.right > width + 1) {
      found.push(`${name} lies outside the screen: [${Math.round(box.left)}, ${Math.round(box.right)}] of ${width}`);
      continue;
    }
    for (let up = el.parentElement; up && up !== document.documentElement; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (![style.overflowX, style.overflowY].some(o => o === 'hidden' || o === 'clip')) continue;
      const b = up.getBoundingClientRect();
      if (box.left < b.left - 1 || box.right > b.right + 1 || box.top < b.top - 1 || box.bottom > b.bottom + 1) {
        found.push(`${name} is cut off by ${up.tagName.toLowerCase()}.${[...up.classList].join('.')}`);
        break;
      }
    }
  }
  return found;
}"""


def words(message, context=None):
    """What the reader sees for an English message: its Arabic translation, or the English itself
    while the catalogue has none."""
    with translation.override("ar"):
        return translation.pgettext(context, message) if context else translation.gettext(message)


def holds_up_in_arabic(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    assert Path(path).stat().st_size > 0
    assert page.evaluate("document.documentElement.dir") == "rtl", name
    assert page.evaluate("document.documentElement.lang") == "ar", name
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl", name
    sizes = page.evaluate("({scroll: document.documentElement.scrollWidth,"
                          " client: document.documentElement.clientWidth})")
    assert sizes["scroll"] <= sizes["client"] + 1, f"{name} scrolls sideways: {sizes}"
    fits_the_viewport(page)
    assert page.evaluate(CLIPPED_CONTROLS) == [], name
    accessible(page)


def open_the_menu(page):
    page.get_by_role("button", name=words("Menu")).click()
    return page.get_by_role("navigation", name=words("Site", "navigation landmark"))


@pytest.fixture
def applicant_world(org_a, alice, settings, tmp_path):
    """Alice's research licence with a built slice, and a second licence whose accepted offer
    waits for its invoice to be paid."""
    settings.MEDIA_ROOT = tmp_path
    contributor = make_contributor("بيا المصوّرة", user=make_user("pia@photos.example"), public_profile=True)
    catalogue(6, contributor=contributor)
    research = research_licence(organisation=org_a, applicant=alice, project_title="تقسيم مشاهد الشوارع")
    slice_build(slice_id=slice_request(licence=research, by=alice, size=6, seed=1).pk)
    awaiting = offer_accepted(org_a, alice, project_title="Harbour detector")
    invoice = billing.commercial_invoice_issue(licence_id=awaiting.pk)
    credit(contributor, research, "50.00", timezone.now())
    return {"research": research, "awaiting": awaiting, "invoice": invoice, "contributor": contributor}


def test_an_applicant_goes_through_their_pages_in_arabic_on_a_phone(logged_in, alice, applicant_world):
    page = logged_in(alice, **ARABIC_PHONE)
    holds_up_in_arabic(page, "home")

    menu = open_the_menu(page)
    expect(menu.get_by_label(words("Language"))).to_have_value("ar")
    holds_up_in_arabic(page, "menu-open")
    menu.get_by_role("link", name=words("Licences"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words("Licences"))
    holds_up_in_arabic(page, "dashboard")

    page.get_by_role("button", name=words("Apply for a research licence")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(words("Apply for a research licence"))
    holds_up_in_arabic(page, "application-form")

    page.go_back()
    page.get_by_role("link", name=applicant_world["research"].project_title).click()
    expect(page.locator("#licence-state")).to_be_visible()
    expect(page.get_by_role("heading", name=words("Slices"))).to_be_visible()
    holds_up_in_arabic(page, "licence")

    page.go_back()
    page.get_by_role("link", name=applicant_world["awaiting"].project_title).click()
    invoices = page.locator("#invoices")
    expect(invoices).to_be_visible()
    holds_up_in_arabic(page, "licence-invoices")
    invoices.get_by_role("link", name=applicant_world["invoice"].display_number).click()
    expect(page.get_by_role("region", name=words("How to pay"))).to_be_visible()
    holds_up_in_arabic(page, "invoice")


def test_a_contributor_goes_through_the_portal_in_arabic_on_a_phone(logged_in, applicant_world):
    page = logged_in(applicant_world["contributor"].user, **ARABIC_PHONE)
    open_the_menu(page).get_by_role("link", name=words("My works"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(applicant_world["contributor"].display_name)
    holds_up_in_arabic(page, "contributor-portal")

    portal = page.get_by_role("navigation", name=words("Contributor pages"))
    for link, name in [("My works", "contributor-works"), ("Earnings and statements", "contributor-earnings"),
                       ("Where my works were used", "contributor-where-used"),
                       ("Models trained on my works", "contributor-models"),
                       ("AI training", "contributor-ai-training")]:
        portal.get_by_role("link", name=words(link), exact=True).click()
        expect(portal.get_by_role("link", name=words(link), exact=True)).to_have_attribute("aria-current", "page")
        holds_up_in_arabic(page, name)

    portal.get_by_role("link", name=words("Earnings and statements"), exact=True).click()
    page.locator("#earnings").get_by_role("link", name=words("Statement"), exact=True).first.click()
    expect(page.get_by_role("link", name=words("Download CSV"))).to_be_visible()
    holds_up_in_arabic(page, "contributor-statement")
