"""Every write leaves an audit event: application edits, invoices issued, opt-out changes."""
import pytest

from licensing.models import AuditEvent
from licensing.services import billing
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.licences import licence_create_draft, licence_update_application
from tests.licensing.factories import APPLICATION, ContributorFactory
from tests.licensing.test_billing import offer_accepted

pytestmark = pytest.mark.django_db


def test_editing_an_application_records_who_changed_which_fields(org_a, alice):
    licence = licence_create_draft(organisation=org_a, by=alice, accept_terms=False, **APPLICATION)

    licence_update_application(licence=licence, by=alice, project_title="Night-time segmentation",
                               team_size=APPLICATION["team_size"])

    event = AuditEvent.objects.get(action="licence.edit_application", target_id=str(licence.pk))
    assert (event.actor, event.organisation, event.payload["fields"]) == (alice, org_a, ["project_title"])


def test_issuing_an_invoice_records_its_number_and_total(org_a, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    licence = offer_accepted(org_a, alice)

    invoice = billing.commercial_invoice_issue(licence_id=licence.pk)

    event = AuditEvent.objects.get(action="invoice.issue", target_id=str(invoice.pk))
    assert event.payload["number"] == invoice.display_number
    assert event.payload["gross"] == str(invoice.gross_total)


def test_opting_out_and_back_in_each_leave_an_event_with_what_was_withdrawn(alice):
    contributor = ContributorFactory()

    contributor_set_opt_out(contributor=contributor, opted_out=True, by=alice, note="no more")
    contributor_set_opt_out(contributor=contributor, opted_out=False, by=alice)

    actions = list(AuditEvent.objects.filter(target_id=str(contributor.pk), target_type="contributor")
                   .order_by("id").values_list("action", "payload"))
    assert actions == [("contributor.opt_out", {"note": "no more", "withdrawn_items": 0}),
                       ("contributor.opt_in", {"note": "", "withdrawn_items": 0})]
