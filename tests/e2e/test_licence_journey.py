"""The licence journey in a real browser: each person signs in through the login form and uses the pages."""
import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

SCREENSHOT = ARTIFACTS / "licence-journey.png"
PHONE = {"viewport": {"width": 390, "height": 844}}

APPLICATION_LABELS = [
    "Project title", "Description", "Intended research use", "Model type", "Media kinds needed",
    "Estimated number of assets needed", "Team size", "Funding stage",
    "I accept the research licence terms on behalf of my organisation",
]


def open_action(page, action):
    """The action's form, unfolded the way a person would: by clicking its summary if it is folded."""
    details = page.locator(f"details#action-{action}")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return details


def test_an_applicant_is_licensed_for_research_then_accepts_a_commercial_offer(
        logged_in, alice, rita, adam, mailoutbox):
    applicant = logged_in(alice)
    applicant.goto("/licences/apply/")
    applicant.get_by_label("Project title").fill("Street scene segmentation")
    applicant.get_by_label("Description").fill("Segmenting pedestrians and vehicles in city footage.")
    applicant.get_by_label("Intended research use").fill("Train and evaluate a research segmentation model.")
    applicant.get_by_label("Model type").select_option(label="Classification or detection")
    applicant.get_by_label("Images").check()
    applicant.get_by_label("Estimated number of assets needed").fill("2000")
    applicant.get_by_label("Team size").fill("4")
    applicant.get_by_label("Funding stage").select_option(label="Seed")
    applicant.get_by_label("I accept the research licence terms").check()
    applicant.get_by_role("button", name="Save and submit for review").click()

    expect(applicant).to_have_url(re.compile(r"/licences/\d+/$"))
    licence_path = urlparse(applicant.url).path
    expect(applicant.locator("#licence-state")).to_have_text("Submitted")
    expect(applicant.locator(".messages")).to_contain_text("Application submitted")
    assert any("rita@licensor.example" in message.to for message in mailoutbox), "reviewers hear of new submissions"

    reviewer = logged_in(rita)
    reviewer.goto(licence_path)
    expect(reviewer.locator("#licence-state")).to_have_text("Submitted")
    approve = open_action(reviewer, "approve")
    expect(approve.get_by_label("Most assets")).to_have_value("2000")  # the applicant's estimated volume is offered
    approve.get_by_label("Most assets").fill("100")
    approve.get_by_label("Most slices").fill("3")
    approve.get_by_label("Duration (days)").fill("30")
    approve.get_by_role("button", name="Approve").click()
    expect(reviewer.locator("#licence-state")).to_have_text("Research active")

    applicant.reload()
    expect(applicant.locator("#licence-state")).to_have_text("Research active")
    upgrade = open_action(applicant, "request_upgrade")
    upgrade.get_by_label("Intended commercial use").fill("Ship the segmentation model in our product.")
    upgrade.get_by_label("Expected scale").fill("1M images")
    upgrade.get_by_role("button", name="Ask for a commercial licence").click()
    expect(applicant.locator("#licence-state")).to_have_text("Upgrade requested")

    licensor = logged_in(adam)
    licensor.goto(licence_path)
    expect(licensor.locator("#licence-state")).to_have_text("Upgrade requested")
    offer = open_action(licensor, "make_offer")
    offer.get_by_label("Fee").fill("12000.00")
    offer.get_by_label("Currency").select_option("EUR")
    offer.get_by_label("Billing period").select_option(label="Annual fee")
    offer.get_by_label("Licensed purpose").fill("Train a commercial segmentation model")
    offer.get_by_role("button", name="Send the offer").click()
    expect(licensor.locator("#licence-state")).to_have_text("Upgrade offered")

    applicant.reload()
    expect(applicant.locator("#licence-state")).to_have_text("Upgrade offered")
    expect(applicant.locator("#offer")).to_contain_text("12,000.00 EUR excluding VAT (annual fee)")
    expect(applicant.locator("#offer")).to_contain_text("12 months")
    accept = open_action(applicant, "accept_offer")
    accept.get_by_label("I accept the commercial offer above").check()
    accept.get_by_role("button", name="Accept the offer").click()
    expect(applicant.locator("#licence-state")).to_have_text("Awaiting payment")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    applicant.screenshot(path=SCREENSHOT, full_page=True)
    assert SCREENSHOT.stat().st_size > 0
    timeline = applicant.locator("#timeline > li.event-state")  # the state changes; invoice events sit between them
    expect(timeline).to_have_count(6)
    expect(timeline).to_contain_text([
        "Alice: started the application",
        "Alice: submitted the application → Submitted",
        "Rita (reviewer): approved the research licence → Research active",
        "Alice: asked for a commercial licence → Upgrade requested",
        "Adam (licensor admin): made a commercial offer → Upgrade offered",
        "Alice: accepted the offer → Awaiting payment",
    ])


def test_on_a_phone_the_apply_form_labels_every_field_and_shows_errors_beside_them(logged_in, alice):
    page = logged_in(alice, **PHONE)
    page.goto("/licences/apply/")
    form = page.locator("main form")

    for text in APPLICATION_LABELS:
        expect(form.locator("label, legend").filter(has_text=text).first).to_be_visible()
    unlabelled = form.locator("input:not([type=hidden]), select, textarea").evaluate_all(
        """controls => controls
            .filter(c => ![...c.labels].some(l => l.checkVisibility() && l.innerText.trim()))
            .map(c => c.name || c.id)"""
    )
    assert unlabelled == [], "every control has a visible label of its own"

    page.get_by_role("button", name="Save and submit for review").click()

    expect(page.locator("h1")).to_have_text("Apply for a research licence")
    fields = ["project_title", "description", "intended_use", "model_type", "media_kinds",
              "estimated_volume", "team_size", "funding_stage", "accept_terms"]
    expect(form.locator(".errorlist")).to_have_count(len(fields))
    # The media kinds are a group of checkboxes: their fieldset stands for the field.
    controls = [form.locator("fieldset:has(#id_media_kinds_0)") if name == "media_kinds" else form.locator(f"#id_{name}")
                for name in fields] + [form.get_by_role("button", name="Save draft")]
    for name, control, next_control in zip(fields, controls, controls[1:]):
        error = (control.locator(".errorlist") if name == "media_kinds" else
                 control.locator("xpath=following::ul[contains(concat(' ', @class, ' '), ' errorlist ')][1]"))
        expect(error).to_be_visible()
        expect(error).to_contain_text("This field is required.")
        control_top, error_top, next_top = (box.bounding_box()["y"] for box in (control, error, next_control))
        assert control_top < error_top < next_top, f"the error for {name} is shown under it, before the next field"


def test_on_a_phone_the_signed_in_page_does_not_scroll_sideways(logged_in, alice):
    page = logged_in(alice, **PHONE)
    page.goto("/licences/apply/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
