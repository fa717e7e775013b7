"""Random journeys through the workflow: what holds whatever order people act in."""
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from licensing.models import Licence, LicenceEvent, LicenceState
from licensing.services import licences as services
from licensing.workflow import TERMINAL, LicenceActionRefused
from tests.conftest import make_organisation, make_user
from tests.licensing.factories import LicenceFactory
from tests.licensing.test_workflow import ACTIONS, ARGUMENTS

ACTOR_NAMES = ["applicant", "reviewer", "admin", "finance", "system"]


@pytest.mark.django_db
def test_random_action_sequences_keep_the_timeline_true(rita, adam, fiona):
    organisation = make_organisation("Random Walk")
    applicant = make_user("walker@random.example", organisation=organisation)
    actors = {"applicant": applicant, "reviewer": rita, "admin": adam, "finance": fiona, "system": None}

    class LicenceJourney(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.licence = LicenceFactory(organisation=organisation, applicant=applicant)
            self.transitions = 0
            self.was_terminal = None

        @rule(action=st.sampled_from(ACTIONS), who=st.sampled_from(ACTOR_NAMES))
        def act(self, action, who):
            before = Licence.objects.get(pk=self.licence.pk).state
            try:
                services.SERVICES[action](licence=self.licence, by=actors[who], **ARGUMENTS.get(action, {}))
            except LicenceActionRefused:
                assert Licence.objects.get(pk=self.licence.pk).state == before
            else:
                self.transitions += 1
            if before in TERMINAL:
                self.was_terminal = before

        @rule()
        def time_passes_beyond_the_end_dates(self):
            # Not a state change: the calendar moving on, so that `expire` can become possible.
            past = self.licence.research_ends_at and self.licence.research_ends_at - timedelta(days=400)
            Licence.objects.filter(pk=self.licence.pk, research_ends_at__isnull=False).update(research_ends_at=past)
            Licence.objects.filter(pk=self.licence.pk, commercial_ends_at__isnull=False).update(
                commercial_ends_at=self.licence.commercial_ends_at and self.licence.commercial_ends_at - timedelta(days=4000)
            )
            self.licence.refresh_from_db()

        @invariant()
        def terminal_states_stay_terminal(self):
            if self.was_terminal is not None:
                assert Licence.objects.get(pk=self.licence.pk).state == self.was_terminal

        @invariant()
        def one_event_per_transition_and_the_state_is_their_replay(self):
            events = list(LicenceEvent.objects.filter(licence=self.licence).exclude(action="create").order_by("id"))
            assert len(events) == self.transitions
            state = LicenceState.DRAFT
            for event in events:
                assert event.from_state == state, "each event starts where the last one ended"
                state = event.to_state
            assert Licence.objects.get(pk=self.licence.pk).state == state

    LicenceJourney.TestCase.settings = settings(
        max_examples=40, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    LicenceJourney.TestCase().runTest()
