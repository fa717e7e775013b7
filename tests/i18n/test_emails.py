"""E-mails go out in their recipient's language: the saved preference, else English.

The subject tests compare with the German catalogue (gettext under override("de")) and require it to
differ from the English: they fail until locale/de/LC_MESSAGES/django.po translates their msgids
("Research licence approved", "%(title)s: %(project)s",
"[Tessera] %(inviter)s invites you to %(organisation)s")."""
import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from accounts import services as accounts_services
from licensing.models import LicenceState
from licensing.services import billing
from licensing.services import licences as services
from tests.licensing.factories import LicenceFactory
from tests.licensing.test_billing import offer_accepted

pytestmark = pytest.mark.django_db


def to(address):
    return [m for m in mail.outbox if m.to == [address]]


def approved_subject(language, project):
    with translation.override(language):
        return "[Tessera] " + gettext("%(title)s: %(project)s") % {
            "title": gettext("Research licence approved"), "project": project}


def test_each_member_reads_the_licence_e_mail_in_their_own_language(org_a, alice, amir, rita,
                                                                    django_capture_on_commit_callbacks):
    alice.language = "de"
    alice.save()
    licence = LicenceFactory(organisation=org_a, applicant=alice, state=LicenceState.SUBMITTED,
                             project_title="Straßenszenen")

    with django_capture_on_commit_callbacks(execute=True):
        services.licence_approve(licence=licence, by=rita)

    (german,) = to("alice@acme.example")
    (english,) = to("amir@acme.example")
    assert english.subject == "[Tessera] Research licence approved: Straßenszenen"
    assert german.extra_headers["Content-Language"] == "de" and english.extra_headers["Content-Language"] == "en"
    assert approved_subject("de", "Straßenszenen") != english.subject, \
        "locale/de/LC_MESSAGES/django.po must translate the subject's msgids"
    assert german.subject == approved_subject("de", "Straßenszenen")


def test_amounts_in_an_e_mail_are_written_as_the_recipient_writes_them(org_a, alice, amir,
                                                                       django_capture_on_commit_callbacks):
    alice.language = "de"
    alice.save()
    with django_capture_on_commit_callbacks(execute=True):
        billing.commercial_invoice_issue(licence_id=offer_accepted(org_a, alice).pk)

    (german,) = [m for m in to("alice@acme.example") if m.subject.startswith("[Tessera] ") and "14" in m.subject]
    (english,) = [m for m in to("amir@acme.example") if "Invoice" in m.subject]
    assert german.subject.endswith(": 14.280,00 €")
    assert english.subject.endswith(": 14,280.00 EUR")


def test_an_invitation_is_written_in_the_invitees_language_when_they_chose_one(org_a, alice, bob,
                                                                              django_capture_on_commit_callbacks):
    bob.membership.delete()
    bob.language = "de"
    bob.save()

    with django_capture_on_commit_callbacks(execute=True):
        accounts_services.invitation_create(by=alice, organisation=org_a, email="bob@blue.example")
        accounts_services.invitation_create(by=alice, organisation=org_a, email="new@else.example")

    (german,) = to("bob@blue.example")
    (english,) = to("new@else.example")
    assert english.subject == "[Tessera] Alice invites you to Acme Vision"
    with translation.override("de"):
        expected = gettext("[Tessera] %(inviter)s invites you to %(organisation)s") % {
            "inviter": "Alice", "organisation": "Acme Vision"}
    assert expected != english.subject, "locale/de/LC_MESSAGES/django.po must translate the invitation's subject"
    assert german.subject == expected
