import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from licensing.models import LicenceEvent, LicenceState
from licensing.services import licences as services
from tests.licensing.factories import LicenceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(org_a, alice):
    licence = LicenceFactory(organisation=org_a, applicant=alice, state=LicenceState.DRAFT)
    services.licence_submit(licence=licence, by=alice)
    return LicenceEvent.objects.get(licence=licence, action="submit")


def test_the_database_refuses_to_update_an_event(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LicenceEvent.objects.filter(pk=event.pk).update(note="rewritten history")
    assert LicenceEvent.objects.get(pk=event.pk).note == ""


def test_the_database_refuses_to_delete_an_event(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LicenceEvent.objects.filter(pk=event.pk).delete()
    assert LicenceEvent.objects.filter(pk=event.pk).exists()


def test_the_model_refuses_too(event):
    event.note = "rewritten"
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()
