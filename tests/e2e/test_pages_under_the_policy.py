"""What the strict Content-Security-Policy could break, seen in Chromium: the open_page fixture
also fails a test when the browser reports anything the policy blocked."""
import pytest
from playwright.sync_api import expect

from accounts.models import Organisation, User
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.browser


def test_the_api_docs_run_swagger_ui_and_list_the_endpoints(open_page):
    page = open_page()
    response = page.goto("/api/docs/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Tessera API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(250, 250, 250)"
    assert page.evaluate("getComputedStyle(document.body).marginTop") == "0px"


def test_the_staff_contributors_page_draws_its_charts(logged_in, rita):
    page = logged_in(rita)
    page.goto("/staff/contributors/")
    expect(page.locator("#opt-out-rate")).to_be_visible()
    drawn = page.evaluate("['opt-out-chart', 'royalties-chart'].map((id) => Boolean(Chart.getChart(id)))")
    assert drawn == [True, True]
    assert page.locator("#opt-out-chart").bounding_box()["height"] > 100


def test_the_small_buttons_keep_their_size_without_style_attributes(logged_in, alice):
    page = logged_in(alice)
    page.goto("/organisation/api-keys/")
    page.locator("input[name=name]").fill("training pipeline")
    page.locator("form button[type=submit]", has_text="Create").click()
    page.goto("/organisation/api-keys/")
    rem = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    logout = page.locator("header form button", has_text="Log out")
    revoke = page.locator("table button", has_text="Revoke")
    for button, (vertical, horizontal) in ((logout, (.3, .8)), (revoke, (.2, .6))):
        padding = button.evaluate("(b) => [getComputedStyle(b).paddingTop, getComputedStyle(b).paddingLeft]")
        assert padding == [f"{vertical * rem:g}px", f"{horizontal * rem:g}px"]
        assert button.evaluate("(b) => getComputedStyle(b.form).marginBottom") == "0px"


def test_a_new_organisation_picks_its_country_and_is_told_what_a_vat_id_there_looks_like(open_page, verified):
    user = verified(User.objects.create_user("nora@pixelforge.example", PASSWORD))
    page = open_page()
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(user.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[name=password]").press("Enter")
    page.goto("/organisation/new/")
    page.locator("input[name=name]").fill("Pixel Forge")
    page.locator("input[name=legal_name]").fill("Pixel Forge SRL")
    page.locator("select[name=country]").select_option(label="Italy")
    page.locator("input[name=vat_id]").fill("=1+1")
    page.locator("textarea[name=billing_address]").fill("Via Roma 1\n00100 Roma")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.locator("#id_vat_id_error")).to_contain_text("IT followed by 11 digits")
    expect(page.locator("select[name=country]")).to_have_value("IT")

    page.locator("input[name=vat_id]").fill("IT 12345670017")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.locator(".messages")).to_contain_text("Pixel Forge is set up")
    organisation = Organisation.objects.get()
    assert (organisation.country.code, organisation.vat_id) == ("IT", "IT12345670017")


def test_the_admin_still_fills_in_the_slug_and_offers_the_country_select(logged_in):
    admin = User.objects.create_superuser("root@licensor.example", PASSWORD)
    page = logged_in(admin)
    page.goto("/admin/accounts/organisation/add/")
    page.locator("input[name=name]").press_sequentially("Northern Light")
    expect(page.locator("input[name=slug]")).to_have_value("northern-light")
    page.locator("input[name=legal_name]").fill("Northern Light Ltd")
    page.locator("select[name=country]").select_option("GB")
    page.locator("input[name=vat_id]").fill("@SUM(1+1)")
    page.locator("textarea[name=billing_address]").fill("1 Harbour Street\nBelfast")
    page.locator("input[name=_save]").click()
    expect(page.locator(".errorlist")).to_contain_text("GB followed by 9 or 12 digits")
    page.locator("input[name=vat_id]").fill("XI123456789")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    assert Organisation.objects.get().vat_id == "XI123456789"
