"""`Idempotency-Key` on slice requests: a pipeline that retries after a timeout gets its first
answer back instead of a second slice, and is told when it reuses a key wrongly."""
import time

import pytest

from licensing.api import views
from licensing.models import AuditEvent, Licence, Slice
from tests.api.conftest import error_of


def post(api, key, licence, body, idempotency_key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    return api(key).post(f"/api/v1/licences/{licence.pk}/slices/", body, format="json", **headers)


def new_slices(world):
    return Slice.objects.filter(licence=world.licence).exclude(pk=world.slice.pk)


def slice_audit(key):
    return AuditEvent.objects.filter(action="slice.request", api_key=key)


def test_the_same_key_and_body_replays_the_first_answer(api, world_a, key_a):
    key, plaintext = key_a
    first = post(api, plaintext, world_a.licence, {"size": 2, "seed": 5}, "retry-1")
    again = post(api, plaintext, world_a.licence, {"seed": 5, "size": 2}, "retry-1")

    assert first.status_code == again.status_code == 202
    assert "Idempotent-Replayed" not in first
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert list(new_slices(world_a).values_list("pk", flat=True)) == [first.json()["id"]]
    assert Licence.objects.get(pk=world_a.licence.pk).used_slices == 2
    event = slice_audit(key).get()
    assert event.target_id == str(first.json()["id"])
    assert event.organisation == world_a.org


def test_the_same_key_with_another_body_is_refused(api, world_a, key_a):
    key, plaintext = key_a
    first = post(api, plaintext, world_a.licence, {"size": 2}, "retry-2")
    other = post(api, plaintext, world_a.licence, {"size": 3}, "retry-2")

    assert first.status_code == 202
    assert other.status_code == 422
    assert error_of(other) == {
        "code": "idempotency_key_reused",
        "message": "This Idempotency-Key was already used with a different request body: "
                   "use a new key for a new request.",
        "fields": {},
    }
    assert new_slices(world_a).count() == 1
    assert slice_audit(key).count() == 1


def test_a_retry_while_the_first_is_in_flight_is_told_to_wait(api, world_a, key_a, monkeypatch):
    key, plaintext = key_a
    real_slice_request = views.slice_request
    retries = []

    def slow_slice_request(**kwargs):
        # The pipeline times out and retries while the first request is still being processed.
        retries.append(post(api, plaintext, world_a.licence, {"size": 2}, "retry-3"))
        return real_slice_request(**kwargs)

    monkeypatch.setattr(views, "slice_request", slow_slice_request)
    first = post(api, plaintext, world_a.licence, {"size": 2}, "retry-3")

    assert first.status_code == 202
    [retry] = retries
    assert retry.status_code == 409
    assert error_of(retry) == {
        "code": "idempotency_key_in_flight",
        "message": "A request with this Idempotency-Key is still being processed: retry in a moment.",
        "fields": {},
    }
    assert new_slices(world_a).count() == 1
    assert slice_audit(key).count() == 1

    # Once the first has finished, the retry gets its answer.
    monkeypatch.setattr(views, "slice_request", real_slice_request)
    later = post(api, plaintext, world_a.licence, {"size": 2}, "retry-3")
    assert later.status_code == 202
    assert later.json()["id"] == first.json()["id"]
    assert new_slices(world_a).count() == 1


def test_without_a_key_two_requests_make_two_slices(api, world_a, key_a):
    key, plaintext = key_a
    first = post(api, plaintext, world_a.licence, {"size": 1})
    second = post(api, plaintext, world_a.licence, {"size": 1})

    assert first.status_code == second.status_code == 202
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second
    assert new_slices(world_a).count() == 2
    assert sorted(int(e.target_id) for e in slice_audit(key)) == sorted([first.json()["id"], second.json()["id"]])


def test_a_refusal_is_replayed_too_and_changes_nothing(api, world_a, key_a):
    key, plaintext = key_a
    first = post(api, plaintext, world_a.licence, {"size": 500}, "retry-4")
    again = post(api, plaintext, world_a.licence, {"size": 500}, "retry-4")

    assert first.status_code == again.status_code == 422
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert new_slices(world_a).count() == 0
    assert not slice_audit(key).exists()


def test_keys_of_different_api_keys_do_not_collide(api, world_a, key_a, make_key):
    _, plaintext = key_a
    other, other_plaintext = make_key(world_a.org, name="second pipeline")
    first = post(api, plaintext, world_a.licence, {"size": 1}, "shared-name")
    second = post(api, other_plaintext, world_a.licence, {"size": 1}, "shared-name")

    assert first.status_code == second.status_code == 202
    assert "Idempotent-Replayed" not in second
    assert first.json()["id"] != second.json()["id"]
    assert slice_audit(other).get().target_id == str(second.json()["id"])


def test_an_overlong_key_is_refused(api, world_a, key_a):
    response = post(api, key_a[1], world_a.licence, {"size": 1}, "k" * 201)
    assert response.status_code == 400
    assert error_of(response)["message"] == "Idempotency-Key is longer than 200 characters."
    assert new_slices(world_a).count() == 0


def test_a_request_killed_in_flight_does_not_block_its_key_for_long(api, world_a, key_a, monkeypatch, settings):
    settings.IDEMPOTENCY_IN_FLIGHT_SECONDS = 1
    key, plaintext = key_a
    real_slice_request = views.slice_request

    def killed(**kwargs):
        raise SystemExit("worker killed mid-request")  # nothing after this runs, as with SIGKILL

    monkeypatch.setattr(views, "slice_request", killed)
    with pytest.raises(SystemExit):
        post(api, plaintext, world_a.licence, {"size": 1}, "retry-5")
    monkeypatch.setattr(views, "slice_request", real_slice_request)

    assert post(api, plaintext, world_a.licence, {"size": 1}, "retry-5").status_code == 409
    time.sleep(1.2)
    retry = post(api, plaintext, world_a.licence, {"size": 1}, "retry-5")
    assert retry.status_code == 202
    assert list(new_slices(world_a).values_list("pk", flat=True)) == [retry.json()["id"]]
    assert slice_audit(key).count() == 1
    # Once done, the answer is kept (for a day), not just for the in-flight minute.
    time.sleep(1.2)
    again = post(api, plaintext, world_a.licence, {"size": 1}, "retry-5")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == retry.json()["id"]


def test_a_crash_after_the_slice_was_made_undoes_it_so_the_retry_makes_one(api, world_a, key_a, monkeypatch):
    key, plaintext = key_a
    real_serializer = views.SliceSerializer

    def crashing(*args, **kwargs):
        raise RuntimeError("the answer could not be rendered")

    monkeypatch.setattr(views, "SliceSerializer", crashing)
    crashed = api(plaintext)
    crashed.raise_request_exception = False
    response = crashed.post(f"/api/v1/licences/{world_a.licence.pk}/slices/", {"size": 2}, format="json",
                            HTTP_IDEMPOTENCY_KEY="retry-6")
    assert response.status_code == 500
    assert new_slices(world_a).count() == 0, "the slice and its answer are one transaction"
    assert Licence.objects.get(pk=world_a.licence.pk).used_slices == 1
    monkeypatch.setattr(views, "SliceSerializer", real_serializer)

    retry = post(api, plaintext, world_a.licence, {"size": 2}, "retry-6")
    assert retry.status_code == 202
    assert "Idempotent-Replayed" not in retry
    assert list(new_slices(world_a).values_list("pk", flat=True)) == [retry.json()["id"]]
    assert slice_audit(key).count() == 1
