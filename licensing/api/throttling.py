"""The API's gate: the key's record and the throttle's count in one Redis round trip.

An authenticated read used to cost a key query, a last-used check and two cache calls for
the throttle before the view's own query. Here the key's record is cached in Redis (for
KEY_CACHE_SECONDS; revoking a key deletes it at once, so every process sees the
revocation on its next request) and the throttle is a counter per key, scope and window
(`INCR` + `EXPIRE`), sent in the same pipeline as the record's `GET`. Fixed windows allow
at most twice the rate across a window boundary; that is the price of one round trip, and
the rate still bounds what a runaway pipeline can ask for.

Without Redis (the embedded default) the same protocol runs on Django's local cache.
"""
import time

import orjson
import structlog
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from accounts.api_keys import key_cache_name

log = structlog.get_logger(__name__)


def rate_of(scope):
    # Read at request time: DRF binds THROTTLE_RATES once at import, so changed settings were ignored.
    return SimpleRateThrottle.parse_rate(None, api_settings.DEFAULT_THROTTLE_RATES[scope])


def look_up_and_count(prefix, scope, *, now=None):
    """(the cached key record or None, requests counted in this window or None, seconds left in the window)."""
    now = now or time.time()
    if scope is None:
        counter = None
    else:
        allowed, duration = rate_of(scope)
        window = int(now // duration)
        counter, left = f"throttle:{scope}:{prefix}:{window}", duration - (now % duration)
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        pipe.get(backend.make_and_validate_key(key_cache_name(prefix)))
        if counter:
            name = backend.make_and_validate_key(counter)
            pipe.incr(name)
            pipe.expire(name, int(duration) + 1)
        try:
            answers = pipe.execute()
        except RedisError as error:
            # Redis is down: the key is read from the database and the request is not counted, so
            # pipelines keep working through a cache outage instead of every request failing.
            log.warning("api_gate_without_redis", error=str(error))
            return None, None, None
        record = orjson.loads(answers[0]) if answers[0] else None
        count = answers[1] if counter else None
    else:
        record = backend.get(key_cache_name(prefix))
        count = None
        if counter:
            backend.add(counter, 0, int(duration) + 1)
            count = backend.incr(counter)
    return record, count, (left if counter else None)


class ApiKeyRateThrottle(BaseThrottle):
    """Rates per key and per scope of the view (`throttle_scope`), counted by the authentication's pipeline."""

    def allow_request(self, request, view):
        count = getattr(request, "throttle_count", None)
        scope = getattr(view, "throttle_scope", None)
        if count is None or not scope:
            return True
        allowed, _ = rate_of(scope)
        self.seconds_left = request.throttle_wait
        return count <= allowed

    def wait(self):
        return self.seconds_left
