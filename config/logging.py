import logging
import re
import time
import uuid

import structlog

log = structlog.get_logger("tessera.request")

# A caller's own id is kept so its logs and ours can be joined; anything else (too long, spaces,
# quotes, newlines) would let a client write what it likes into every log line of the request.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def request_id_of(request):
    offered = request.headers.get("X-Request-ID", "")
    return offered if SANE_REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex


class RequestLogMiddleware:
    """One structured line per request, with an id that every log line of the request carries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.request_id = request_id_of(request)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        log.info(
            "request",
            method=request.method,
            path=request.path,
            status=response.status_code,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            user_id=getattr(getattr(request, "user", None), "pk", None),
        )
        return response


class RefusalsWithoutTraceback(logging.Filter):
    """A 4xx answer (a refused permission, a missing page) is logged as one line, not a traceback:
    it is the app working as meant, and tracebacks there bury the real errors."""

    def filter(self, record):
        status = getattr(record, "status_code", None)
        if record.name == "django.request" and status is not None and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
