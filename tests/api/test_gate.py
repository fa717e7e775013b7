"""An authenticated read costs one query (the object) and one Redis round trip (key record and throttle)."""
import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.api_keys import api_key_revoke


@pytest.fixture
def redis_round_trips(monkeypatch):
    trips = []
    original_command, original_pipeline = redis.Redis.execute_command, redis.client.Pipeline.execute

    def command(self, *args, **kwargs):
        trips.append(args[0])
        return original_command(self, *args, **kwargs)

    def pipeline(self, *args, **kwargs):
        trips.append("pipeline:" + ",".join(str(c[0][0]) for c in self.command_stack))
        return original_pipeline(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", pipeline)
    return trips


def test_a_slice_read_with_a_warm_key_is_one_query_and_one_round_trip(api, world_a, key_a, redis_round_trips):
    client = api(key_a[1])
    assert client.get(f"/api/v1/slices/{world_a.slice.pk}/").status_code == 200  # caches the key's record
    redis_round_trips.clear()

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/slices/{world_a.slice.pk}/")

    assert (response.status_code, response.json()["id"]) == (200, world_a.slice.pk)
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert redis_round_trips == ["pipeline:GET,INCRBY,EXPIRE"]


def test_a_revoked_key_is_refused_on_its_very_next_request(api, world_a, key_a, alice):
    key, plaintext = key_a
    assert api(plaintext).get("/api/v1/licences/").status_code == 200

    api_key_revoke(key=key, by=alice)

    response = api(plaintext).get("/api/v1/licences/")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_the_throttle_still_stops_a_key_that_asks_too_often(api, world_a, key_a, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"api-read": "3/min", "api-write": "3/min"}}
    client = api(key_a[1])
    answers = [client.get("/api/v1/licences/").status_code for _ in range(5)]
    assert answers[:3] == [200, 200, 200] and answers[3:] == [429, 429]


def test_with_redis_down_a_pipeline_still_reads_its_slices(api, world_a, key_a, settings):
    settings.CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.5}}}
    from django.core.cache import caches

    caches._settings = None  # the handler re-reads CACHES
    try:
        response = api(key_a[1]).get(f"/api/v1/slices/{world_a.slice.pk}/")
    finally:
        caches._settings = None
    assert (response.status_code, response.json()["id"]) == (200, world_a.slice.pk)
