"""The beat jobs: expiry and reminders, run twice to prove they act once."""
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from licensing import tasks
from licensing.models import LicenceEvent, LicenceState, SentEmail
from tests.conftest import wait_for
from tests.licensing.factories import LicenceFactory


@pytest.mark.django_db
def test_expiry_expires_what_is_past_its_end_date_once(org_a, alice, django_capture_on_commit_callbacks):
    now = timezone.now()
    past_research = LicenceFactory(organisation=org_a, applicant=alice, state=LicenceState.RESEARCH_ACTIVE,
                                   phase="research", research_ends_at=now - timedelta(minutes=1))
    past_commercial = LicenceFactory(organisation=org_a, applicant=alice, state=LicenceState.COMMERCIAL_ACTIVE,
                                     phase="commercial", commercial_ends_at=now - timedelta(days=1))
    running = LicenceFactory(organisation=org_a, applicant=alice, state=LicenceState.RESEARCH_ACTIVE,
                             phase="research", research_ends_at=now + timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.expire_licences() == 2
        assert tasks.expire_licences() == 0
    for licence, state in [(past_research, "expired"), (past_commercial, "expired"), (running, "research_active")]:
        licence.refresh_from_db()
        assert licence.state == state
    assert LicenceEvent.objects.filter(action="expire").count() == 2
    assert LicenceEvent.objects.get(licence=past_commercial, action="expire").actor_label == "Tessera (scheduled job)"
    expiry_mails = [m for m in mail.outbox if "expired" in m.subject]
    assert [m.to for m in expiry_mails] == [["alice@acme.example"], ["alice@acme.example"]]


@pytest.mark.django_db
def test_a_reminder_goes_out_once_fourteen_days_before_the_end(org_a, alice, amir):
    now = timezone.now()
    ending = LicenceFactory(organisation=org_a, applicant=alice, state=LicenceState.RESEARCH_ACTIVE,
                            phase="research", research_ends_at=now + timedelta(days=10))
    LicenceFactory(organisation=org_a, applicant=alice, state=LicenceState.RESEARCH_ACTIVE,
                   phase="research", research_ends_at=now + timedelta(days=40))
    assert tasks.remind_expiring_licences() == 2  # two members of org A
    assert tasks.remind_expiring_licences() == 0
    reminders = [m for m in mail.outbox if "ends on" in m.subject]
    assert sorted(m.to[0] for m in reminders) == ["alice@acme.example", "amir@acme.example"]
    assert ending.project_title in reminders[0].subject
    assert "commercial licence" in reminders[0].body
    assert reminders[0].alternatives and "text/html" == reminders[0].alternatives[0][1]


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_expires_licences_and_running_it_twice_changes_nothing(celery_worker_process, org_a, alice):
    licence = LicenceFactory(organisation=org_a, applicant=alice, state=LicenceState.RESEARCH_ACTIVE,
                             phase="research", research_ends_at=timezone.now() - timedelta(hours=1))
    tasks.expire_licences.delay()
    tasks.expire_licences.delay()
    wait_for(lambda: LicenceEvent.objects.filter(licence=licence, action="expire").exists(), message="expiry")
    # The e-mail job follows the expiry on the worker; wait for it, then for the queue to drain.
    wait_for(lambda: SentEmail.objects.filter(key__startswith="licence-event:").exists(), message="expiry e-mail")
    wait_for(lambda: not celery_worker_process.poll() and _queue_empty(), message="queue drained")
    licence.refresh_from_db()
    assert licence.state == "expired"
    assert LicenceEvent.objects.filter(licence=licence, action="expire").count() == 1
    assert SentEmail.objects.filter(key__startswith="licence-event:").count() == 1


def _queue_empty():
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.CELERY_BROKER_URL).llen(settings.CELERY_TASK_DEFAULT_QUEUE) == 0
