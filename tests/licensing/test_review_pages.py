"""The licensor's queues: who may see them, and the filters a reviewer narrows them with."""
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import Licence
from tests.licensing.factories import LicenceFactory

pytestmark = pytest.mark.django_db


def titles(response):
    return re.findall(r'<a href="/licences/\d+/">([^<]+)</a>', response.content.decode())


def waiting(org, applicant, title, state="submitted", days=0):
    licence = LicenceFactory(organisation=org, applicant=applicant, state=state, project_title=title,
                             phase="application" if state in ("submitted", "draft", "changes_requested") else "research")
    Licence.objects.filter(pk=licence.pk).update(updated_at=timezone.now() - timedelta(days=days))
    return licence


def test_the_application_queue_shows_submitted_applications_oldest_first(client_for, rita, org_a, org_b, alice, bob):
    waiting(org_a, alice, "Fresh", days=1)
    waiting(org_b, bob, "Old", days=9)
    waiting(org_a, alice, "Still a draft", state="draft")
    waiting(org_a, alice, "Approved", state="research_active")

    response = client_for(rita).get("/review/")

    assert response.status_code == 200
    assert titles(response) == ["Old", "Fresh"]


def test_the_queue_filters_by_state_organisation_and_age(client_for, rita, org_a, org_b, alice, bob):
    waiting(org_a, alice, "Acme fresh", days=1)
    waiting(org_a, alice, "Acme old", days=9)
    waiting(org_b, bob, "Other old", days=12)
    waiting(org_a, alice, "Acme draft", state="draft", days=20)
    client = client_for(rita)

    assert titles(client.get("/review/", {"state": "draft"})) == ["Acme draft"]
    assert titles(client.get("/review/", {"organisation": org_a.slug})) == ["Acme old", "Acme fresh"]
    assert titles(client.get("/review/", {"older_than_days": "7"})) == ["Other old", "Acme old"]
    assert titles(client.get("/review/", {"organisation": org_a.slug, "older_than_days": "7"})) == ["Acme old"]
    refused = client.get("/review/", {"state": "revoked"})
    assert "Select a valid choice" in refused.content.decode()


def test_the_next_page_keeps_the_filters(client_for, rita, org_a, org_b, alice, bob):
    for n in range(51):
        waiting(org_a, alice, f"Acme {n:02d}", days=60 - n)
    waiting(org_b, bob, "Other", days=90)
    client = client_for(rita)

    first = client.get("/review/", {"organisation": org_a.slug})
    older = re.search(r'<a href="(\?[^"]+)">Older</a>', first.content.decode()).group(1)
    second = client.get("/review/" + older.replace("&amp;", "&"))

    assert len(titles(first)) == 50
    assert titles(second) == ["Acme 50"], "page 2 of the same filter, not of the whole queue"


def test_the_upgrade_queue_and_the_list_of_all_licences(client_for, adam, org_a, alice):
    waiting(org_a, alice, "Wants to upgrade", state="upgrade_requested")
    waiting(org_a, alice, "Submitted")
    client = client_for(adam)

    assert titles(client.get("/review/upgrades/")) == ["Wants to upgrade"]
    assert sorted(titles(client.get("/review/all/"))) == ["Submitted", "Wants to upgrade"]
    assert "In this state since" in client.get("/review/all/").content.decode()


def test_applicants_and_visitors_are_kept_out_of_the_queues(client_for, alice, client):
    for path in ("/review/", "/review/upgrades/", "/review/all/"):
        assert client.get(path).status_code == 302, "a visitor is sent to log in"
    applicant = client_for(alice)
    for path in ("/review/", "/review/upgrades/", "/review/all/"):
        assert applicant.get(path).status_code == 403
