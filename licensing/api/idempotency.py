"""`Idempotency-Key` for requests that create something.

The first request with a key is recorded in the shared cache as in flight, then as its
response. The same key and body again: that response is replayed. The same key with
another body: 422. While the first is still running: 409.

The answer is recorded exactly when the change committed: the view runs in one transaction, which
a crash or a 5xx rolls back before the key is forgotten. Otherwise a slice committed and then
answered with a crash would be made a second time by the retry.

The in-flight mark lives only a minute: a request is never still running after gunicorn's 30 s
worker timeout, and a worker killed mid-request (SIGKILL, OOM) never clears its mark, which would
otherwise answer every retry with 409 for a day.
"""
import functools
import hashlib
import json

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from rest_framework.response import Response

from licensing.api.errors import error_body

TTL = 24 * 3600
IN_FLIGHT_TTL = 60


def _canonical(value):
    """An uploaded file by its content, so that the same key with another file is told apart."""
    if hasattr(value, "chunks"):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return f"file:{digest.hexdigest()}"
    return str(value)


def _body_hash(request):
    try:
        canonical = json.dumps(request.data, sort_keys=True, default=_canonical)
    except (TypeError, ValueError):
        canonical = request.body.decode("utf-8", "replace")
    query = request.GET.urlencode()
    return hashlib.sha256(f"{request.method} {request.path}?{query}\n{canonical}".encode()).hexdigest()


def idempotent(view_method):
    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 200:
            return Response(error_body("invalid", "Idempotency-Key is longer than 200 characters."), status=400)
        cache_key = f"idempotency:{request.auth.pk}:{hashlib.sha256(key.encode()).hexdigest()}"
        body_hash = _body_hash(request)
        if not cache.add(cache_key, {"state": "in_flight", "body": body_hash},
                         timeout=getattr(settings, "IDEMPOTENCY_IN_FLIGHT_SECONDS", IN_FLIGHT_TTL)):
            record = cache.get(cache_key) or {}
            if record.get("body") != body_hash:
                return Response(error_body("idempotency_key_reused",
                                           "This Idempotency-Key was already used with a different request body: "
                                           "use a new key for a new request."), status=422)
            if record.get("state") == "in_flight":
                return Response(error_body("idempotency_key_in_flight",
                                           "A request with this Idempotency-Key is still being processed: "
                                           "retry in a moment."), status=409)
            replay = Response(record["data"], status=record["status"])
            replay["Idempotent-Replayed"] = "true"
            return replay
        try:
            # Jobs the view schedules are handed to the broker as this commits, before the answer is
            # recorded: the hand-over never raises, and never waits long on a broker that is down.
            with transaction.atomic():
                response = view_method(self, request, *args, **kwargs)
                if response.status_code >= 500:
                    transaction.set_rollback(True)
        except Exception:
            cache.delete(cache_key)
            raise
        if response.status_code >= 500:
            cache.delete(cache_key)
        else:
            cache.set(cache_key, {"state": "done", "body": body_hash, "status": response.status_code,
                                  "data": response.data}, timeout=getattr(settings, "IDEMPOTENCY_TTL_SECONDS", TTL))
        return response

    return wrapper
