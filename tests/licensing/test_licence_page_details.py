"""What each person finds on the licence pages: the step they came for, sizes in the units they typed, their place."""
import re

import pytest

from accounts.models import User
from licensing.models import Contributor
from tests.licensing.factories import LicenceFactory, research_licence

pytestmark = pytest.mark.django_db


def open_actions(html):
    """The ids of the action forms shown unfolded, in page order."""
    return re.findall(r'<details\s+open\s+id="action-([a-z_]+)"', html)


def action_order(html):
    return re.findall(r'<details\s+(?:open\s+)?id="action-([a-z_]+)"', html)


def test_a_reviewer_finds_approve_first_and_unfolded_on_a_submitted_application(client_for, rita, org_a, alice):
    licence = LicenceFactory(organisation=org_a, applicant=alice, state="submitted", phase="application")

    html = client_for(rita).get(f"/licences/{licence.pk}/").content.decode()

    assert action_order(html)[0] == "approve"
    assert open_actions(html) == ["approve"]
    assert set(action_order(html)) == {"approve", "request_changes", "reject"}


def test_after_approval_the_upgrade_form_stays_folded_for_the_applicant(client_for, alice, org_a):
    licence = research_licence(organisation=org_a, applicant=alice)

    html = client_for(alice).get(f"/licences/{licence.pk}/").content.decode()

    assert "request_upgrade" in action_order(html)
    assert open_actions(html) == []


def test_caps_read_in_the_binary_units_the_approval_form_asks_for(client_for, alice, org_a):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=5000, max_bytes=5 * 1024**3,
                               max_slices=None)

    html = client_for(alice).get(f"/licences/{licence.pk}/").content.decode()

    assert "Data: 0 bytes of 5.0 GiB" in html
    assert "Assets: 0 of 5,000" in html
    assert "Slices: 0 of unlimited" in html


def test_staff_and_contributors_opening_the_licence_list_are_sent_to_their_place_not_to_organisation_setup(
        client_for, rita, fiona):
    contributor_user = User.objects.create_user(email="ana@example.com", password="pw-for-tests-123")
    Contributor.objects.create(display_name="Ana", user=contributor_user)
    newcomer = User.objects.create_user(email="new@example.com", password="pw-for-tests-123")

    for user in (rita, fiona, contributor_user):
        response = client_for(user).get("/licences/")
        assert (response.status_code, response["Location"]) == (302, "/"), user.email
    response = client_for(newcomer).get("/licences/")
    assert (response.status_code, response["Location"]) == (302, "/organisation/new/")


def test_browsers_asking_for_favicon_ico_get_the_site_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_reloading_an_answered_form_goes_back_to_the_licence_instead_of_an_error(client_for, alice, org_a, bob):
    licence = research_licence(organisation=org_a, applicant=alice)
    client = client_for(alice)

    invalid = client.post(f"/licences/{licence.pk}/request_upgrade/", {"request_upgrade-version": licence.version})
    assert invalid.status_code == 400
    urls = (f"/licences/{licence.pk}/request_upgrade/", f"/licences/{licence.pk}/slices/")
    for url in urls:
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (302, f"/licences/{licence.pk}/")
    other = client_for(bob)
    assert [other.get(url).status_code for url in urls] == [404, 404]
    licence.refresh_from_db()
    assert licence.state == "research_active"


def test_a_failed_slice_names_the_size_filter_it_was_given(alice, org_a):
    from licensing.models import Slice

    licence = research_licence(organisation=org_a, applicant=alice)
    wide = Slice(licence=licence, number=1, seed=7, size_requested=10, filters={"min_width": 5000})

    assert "at least 5000 px wide" in wide.describe_selection()
    assert "×" not in wide.describe_selection()
