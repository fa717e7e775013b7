"""Which works trained which model, in a real browser: the licensee registers a model and a version trained on
a slice and releases it; a visitor reads the model's public page; the contributor finds it in the portal."""
import json
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import make_user
from tests.licensing.ai_model_world import licensee_world

pytestmark = pytest.mark.browser


def test_a_released_public_model_is_seen_by_visitors_and_by_the_contributor(logged_in, open_page, org_a, alice):
    world = licensee_world(org_a, alice)
    ann_user = make_user("ann@photos.example")
    world.ann.user = ann_user
    world.ann.save(update_fields=["user"])

    licensee = logged_in(alice)
    licensee.goto("/licences/")
    licensee.locator("#ai-models-link").click()
    licensee.get_by_role("button", name="Register a model").click()
    licensee.get_by_label("Name").fill("Crowd Counter")
    licensee.get_by_label("Modality").select_option(label="Images and video")
    licensee.get_by_label("Purpose").fill("Counts people in street scenes.")
    licensee.get_by_label("Public model").check()
    licensee.get_by_role("button", name="Register the model").click()
    expect(licensee.locator(".messages")).to_contain_text("Crowd Counter registered")

    licensee.get_by_label("Label").fill("1.0")
    licensee.get_by_label("Trained from").fill("2026-11-01")
    licensee.get_by_label("Trained to").fill("2026-11-20")
    licensee.get_by_role("button", name="Add the version").click()
    expect(licensee.locator("h1")).to_have_text("Crowd Counter 1.0")

    declare = licensee.locator("details#declare")
    declare.get_by_label("Slice").select_option(str(world.slice.pk))
    declare.get_by_role("button", name="Declare").click()
    expect(licensee.locator(".messages")).to_contain_text("was trained on the whole slice")
    expect(licensee.locator("#training-total .images")).to_have_text("6")
    licensee.get_by_label("The declarations above are complete").check()
    licensee.get_by_role("button", name="Release the version").click()
    expect(licensee.locator("#version-status")).to_contain_text("Released")

    visitor = open_page()
    visitor.goto("/transparency/")
    visitor.get_by_role("link", name="Crowd Counter").click()
    expect(visitor).to_have_url(re.compile(r"/models/acme-vision/crowd-counter/$"))
    version = visitor.locator("article.model-version")
    expect(version.locator(".images")).to_have_text("6")
    expect(version.locator(".videos")).to_have_text("2")
    expect(version.locator(".contributors")).to_have_text("2")
    expect(version.locator(".phases")).to_have_text("Research")
    expect(version.locator(".dates")).to_have_text("1 Nov 2026 – 20 Nov 2026")
    document = json.loads(visitor.locator('script[type="application/ld+json"]').text_content())
    assert document["@type"] == "Dataset" and len(document["hasPart"]) == 1

    contributor = logged_in(ann_user)
    contributor.goto("/contributor/")
    contributor.get_by_role("link", name="Models trained on my works").click()
    row = contributor.locator("#models-trained tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator(".model")).to_have_text("Crowd Counter")
    expect(row.locator(".works")).to_have_text("6")
