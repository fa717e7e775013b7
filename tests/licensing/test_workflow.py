"""The state machine: every (state, action, who) against DESIGN's table, written out here on its own."""
from datetime import timedelta

import pytest
from django.utils import timezone

from licensing.models import Licence, LicenceEvent, LicenceState
from licensing.services import licences as services
from licensing.workflow import LicenceActionRefused
from tests.licensing.factories import LicenceFactory

S = LicenceState
ALL_STATES = list(S)
NON_TERMINAL = [s for s in ALL_STATES if s not in (S.REJECTED, S.WITHDRAWN, S.EXPIRED, S.REVOKED)]
STAFF_REVIEW = {"reviewer", "admin"}

# DESIGN, "Licence state machine", row by row. A licensor admin may also do a reviewer's work.
ALLOWED = {}
for state in (S.DRAFT, S.CHANGES_REQUESTED):
    ALLOWED[(state, "submit")] = (S.SUBMITTED, {"applicant"})
ALLOWED[(S.SUBMITTED, "request_changes")] = (S.CHANGES_REQUESTED, STAFF_REVIEW)
ALLOWED[(S.SUBMITTED, "approve")] = (S.RESEARCH_ACTIVE, STAFF_REVIEW)
ALLOWED[(S.SUBMITTED, "reject")] = (S.REJECTED, STAFF_REVIEW)
for state in (S.DRAFT, S.SUBMITTED, S.CHANGES_REQUESTED):
    ALLOWED[(state, "withdraw")] = (S.WITHDRAWN, {"applicant"})
ALLOWED[(S.RESEARCH_ACTIVE, "request_upgrade")] = (S.UPGRADE_REQUESTED, {"applicant"})
ALLOWED[(S.UPGRADE_REQUESTED, "make_offer")] = (S.UPGRADE_OFFERED, {"admin"})
for state in (S.UPGRADE_REQUESTED, S.UPGRADE_OFFERED):
    ALLOWED[(state, "decline_upgrade")] = (S.RESEARCH_ACTIVE, {"admin"})
ALLOWED[(S.UPGRADE_OFFERED, "accept_offer")] = (S.AWAITING_PAYMENT, {"applicant"})
ALLOWED[(S.AWAITING_PAYMENT, "record_payment")] = (S.COMMERCIAL_ACTIVE, {"finance", "system"})
# Billing: paying the invoice also lifts a suspension the dunning job made for it.
ALLOWED[(S.SUSPENDED, "record_payment")] = (S.COMMERCIAL_ACTIVE, {"finance", "system"})
ALLOWED[(S.RESEARCH_ACTIVE, "expire")] = (S.EXPIRED, {"system"})
ALLOWED[(S.COMMERCIAL_ACTIVE, "expire")] = (S.EXPIRED, {"system"})
for state in (S.RESEARCH_ACTIVE, S.COMMERCIAL_ACTIVE, S.AWAITING_PAYMENT):
    ALLOWED[(state, "suspend")] = (S.SUSPENDED, {"admin", "system"})
# Back where it was suspended from; the payment job reinstates what the dunning job suspended.
ALLOWED[(S.SUSPENDED, "reinstate")] = (S.AWAITING_PAYMENT, {"admin", "system"})
for state in NON_TERMINAL:
    ALLOWED[(state, "revoke")] = (S.REVOKED, {"admin"})

ARGUMENTS = {
    "request_changes": {"message": "Please say which cities."},
    "reject": {"reason": "Out of scope."},
    "approve": {"max_assets": 10, "max_bytes": 10_000, "max_slices": 2, "duration_days": 30},
    "request_upgrade": {"intended_use": "A product model.", "expected_scale": "1M images"},
    "make_offer": {"fee": "9000.00", "currency": "EUR", "billing_period": "annual", "term_months": 12,
                   "scope": "Commercial training"},
    "decline_upgrade": {"reason": "Not now."},
    "record_payment": {"reference": "SEPA-1"},
    "suspend": {"reason": "Terms broken."},
    "revoke": {"reason": "Terms broken."},
}
ACTIONS = ["submit", "request_changes", "approve", "reject", "withdraw", "request_upgrade", "make_offer",
           "decline_upgrade", "accept_offer", "record_payment", "expire", "suspend", "reinstate", "revoke"]


@pytest.fixture
def actors(alice, bob, rita, adam, fiona):
    return {"applicant": alice, "other organisation": bob, "reviewer": rita, "admin": adam, "finance": fiona,
            "system": None}


def licence_in(state, organisation, applicant):
    """A licence in `state` whose dates let time-bound actions through (its end dates have passed)."""
    past = timezone.now() - timedelta(days=1)
    return LicenceFactory(
        organisation=organisation, applicant=applicant, state=state,
        research_ends_at=past, commercial_ends_at=past, offer_term_months=12,
        suspended_from=S.AWAITING_PAYMENT if state == S.SUSPENDED else "",
    )


@pytest.mark.django_db
@pytest.mark.parametrize("state", ALL_STATES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_state_action_and_actor(state, action, actors, org_a, alice):
    target, allowed_actors = ALLOWED.get((state, action), (None, set()))
    for who, user in actors.items():
        licence = licence_in(state, org_a, alice)
        events_before = LicenceEvent.objects.filter(licence=licence).count()
        call = services.SERVICES[action]
        kwargs = dict(ARGUMENTS.get(action, {}))
        if who in allowed_actors:
            call(licence=licence, by=user, **kwargs)
            licence.refresh_from_db()
            assert licence.state == target, f"{who} {action} from {state}"
            events = list(LicenceEvent.objects.filter(licence=licence))
            assert len(events) == events_before + 1
            assert (events[-1].action, events[-1].from_state, events[-1].to_state) == (action, state, target)
            assert events[-1].actor == user
        else:
            with pytest.raises(LicenceActionRefused) as refusal:
                call(licence=licence, by=user, **kwargs)
            assert str(refusal.value).endswith(".")
            fresh = Licence.objects.get(pk=licence.pk)
            assert fresh.state == state and fresh.version == licence.version, f"{who} {action} from {state} changed it"
            assert LicenceEvent.objects.filter(licence=licence).count() == events_before


@pytest.mark.django_db
def test_a_reason_is_required_where_the_table_says_so(org_a, alice, adam, rita):
    licence = licence_in(S.SUBMITTED, org_a, alice)
    with pytest.raises(LicenceActionRefused, match="without a reason"):
        services.licence_reject(licence=licence, by=rita, reason="   ")
    with pytest.raises(LicenceActionRefused, match="without a message"):
        services.licence_request_changes(licence=licence, by=rita, message="")
    licence.refresh_from_db()
    assert licence.state == S.SUBMITTED


@pytest.mark.django_db
def test_a_draft_without_accepted_terms_cannot_be_submitted(org_a, alice):
    licence = LicenceFactory(organisation=org_a, applicant=alice, terms_accepted_at=None)
    with pytest.raises(LicenceActionRefused, match="research terms have not been accepted"):
        services.licence_submit(licence=licence, by=alice)


@pytest.mark.django_db
def test_a_licence_is_not_expired_before_its_end_date(org_a, alice):
    licence = LicenceFactory(organisation=org_a, applicant=alice, state=S.RESEARCH_ACTIVE,
                             research_ends_at=timezone.now() + timedelta(days=3))
    with pytest.raises(LicenceActionRefused, match="has not reached its end date"):
        services.licence_expire(licence=licence)


@pytest.mark.django_db
def test_reinstating_returns_to_the_state_it_was_suspended_from(org_a, alice, adam):
    licence = LicenceFactory(organisation=org_a, applicant=alice, state=S.COMMERCIAL_ACTIVE, phase="commercial")
    services.licence_suspend(licence=licence, by=adam, reason="Audit")
    assert (licence.state, licence.suspended_from, licence.phase) == (S.SUSPENDED, S.COMMERCIAL_ACTIVE, "commercial")
    services.licence_reinstate(licence=licence, by=adam)
    assert (licence.state, licence.suspended_from) == (S.COMMERCIAL_ACTIVE, "")
    # Paying is only a way out of a suspension made for an unpaid invoice.
    services.licence_suspend(licence=licence, by=adam, reason="Audit")
    with pytest.raises(LicenceActionRefused, match="not suspended for an unpaid invoice"):
        services.licence_record_payment(licence=licence, by=None, reference="x")


@pytest.mark.django_db
def test_approval_sets_the_caps_and_the_end_date(org_a, alice, rita):
    licence = licence_in(S.SUBMITTED, org_a, alice)
    before = timezone.now()
    services.licence_approve(licence=licence, by=rita, max_assets=50, max_bytes=10**9, max_slices=4, duration_days=90)
    licence.refresh_from_db()
    assert licence.caps == {"assets": 50, "bytes": 10**9, "slices": 4}
    assert licence.remaining == {"assets": 50, "bytes": 10**9, "slices": 4}
    assert timedelta(days=89) < licence.research_ends_at - before <= timedelta(days=90, seconds=5)
    assert licence.phase == "research"
