"""Two reviewers deciding at once, on PostgreSQL's row locks."""
import threading

import pytest
from django.db import connection

from licensing.models import LicenceEvent, LicenceState
from licensing.services import licences as services
from licensing.workflow import LicenceActionRefused
from tests.licensing.factories import LicenceFactory


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(5))
def test_two_reviewers_approving_and_rejecting_at_once_exactly_one_wins(attempt, org_a, alice, rita, adam):
    licence = LicenceFactory(organisation=org_a, applicant=alice, state=LicenceState.SUBMITTED)
    seen_version = licence.version
    barrier = threading.Barrier(2)
    outcomes = {}

    def decide(name, call):
        try:
            barrier.wait()
            call()
            outcomes[name] = "won"
        except LicenceActionRefused as refusal:
            outcomes[name] = str(refusal)
        finally:
            connection.close()

    approve = threading.Thread(target=decide, args=("approve", lambda: services.licence_approve(
        licence=licence, by=rita, expected_version=seen_version)))
    reject = threading.Thread(target=decide, args=("reject", lambda: services.licence_reject(
        licence=licence, by=adam, reason="Out of scope", expected_version=seen_version)))
    approve.start(), reject.start()
    approve.join(), reject.join()

    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    assert len(winners) == 1, outcomes
    loser = "reject" if winners == ["approve"] else "approve"
    assert "changed while you were looking at it" in outcomes[loser]
    licence.refresh_from_db()
    assert licence.state == (LicenceState.RESEARCH_ACTIVE if winners == ["approve"] else LicenceState.REJECTED)
    decisions = LicenceEvent.objects.filter(licence=licence, action__in=["approve", "reject"])
    assert [e.action for e in decisions] == winners
