"""Every API error as {"error": {"code", "message", "fields"}} with a message a person can act on.

DRF's exceptions go through `api_exception_handler`. What DRF does not catch under /api/v1/ (a crash
in a view, a body too large to read, a request Django refuses before any view) is answered by
`ApiErrors` and the URLconf's 400/500 handlers in the same shape instead of Django's HTML pages;
the rest of the site keeps those pages.
"""
import uuid

import structlog
from django.conf import settings
from django.core.exceptions import (
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

log = structlog.get_logger("tessera.api")

API_PATH = "/api/v1/"

MESSAGES = {
    exceptions.NotAuthenticated: "Authentication required: send 'Authorization: Bearer <key>' with an API key.",
    exceptions.NotFound: "Not found: it does not exist or belongs to another organisation.",
}


def error_body(code, message, fields=None):
    error = {"code": code, "message": message, "fields": fields or {}}
    # The id the request is logged under (config/logging.py), so a person reporting an error can quote it.
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if request_id:
        error["request_id"] = request_id
    return {"error": error}


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API refusal: ApiErrors answers it as a 500 with a request id
    if isinstance(exc, exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", "Some fields are invalid: see fields.", fields)
        return response
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else getattr(exc, "default_code", "error")
    # The generic wording replaces only DRF's default detail: a view's own message (e.g. which manifest
    # formats exist, or that a cursor is invalid) is the one a person can act on.
    message = str(exc.detail)
    if type(exc) in MESSAGES and message == str(exc.default_detail):
        message = MESSAGES[type(exc)]
    if isinstance(exc, exceptions.Throttled):
        message = f"Too many requests for this key: try again in {exc.wait:.0f} seconds." if exc.wait else str(exc.detail)
    if isinstance(exc, exceptions.MethodNotAllowed):
        allowed = context["view"].allowed_methods
        message = f"{context['request'].method} is not allowed here: this endpoint answers {', '.join(allowed)}."
    if isinstance(exc, exceptions.UnsupportedMediaType):
        message = f"{message} Send the body as application/json."
    response.data = error_body(code, message, getattr(exc, "fields", None))
    return response


def refusal(code, message, http_status=status.HTTP_422_UNPROCESSABLE_ENTITY):
    return Response(error_body(code, message), status=http_status)


def is_api(request):
    return request.path_info.startswith(API_PATH)


def body_too_large(length, limit):
    told = f"{length} bytes" if length is not None else "too large to read"
    return JsonResponse(error_body("too_large", f"The request body is {told}; the API accepts bodies of at most "
                                                f"{limit} bytes."), status=413)


def server_error_body(request):
    request_id = getattr(request, "request_id", None) or uuid.uuid4().hex
    body = error_body("server_error", f"Something went wrong on our side and it has been logged as request "
                                      f"{request_id}. Retry later; if it keeps happening, quote that id.")
    body["error"]["request_id"] = request_id
    return body


def refused_request(request, exc):
    """The answer to a Django exception raised inside an API view, or None when it is DRF's to answer."""
    if isinstance(exc, RequestDataTooBig):  # a form body, read by Django under its own limit
        return body_too_large(None, min(settings.API_MAX_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
    if isinstance(exc, TooManyFieldsSent):
        return JsonResponse(error_body("bad_request", f"The body has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} "
                                                      "fields: send the JSON body the endpoint documents."), status=400)
    if isinstance(exc, SuspiciousOperation):
        return JsonResponse(error_body("bad_request", "The request is malformed and was refused."), status=400)
    return None


class ApiErrors:
    """Under /api/v1/: refuses a body over API_MAX_BODY_BYTES before anything reads it, and answers an
    exception no view handled as JSON, a crash as a 500 whose request id is the one in the log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api(request):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0  # Django reads such a body as empty, and so does DRF
            # A usage report is a file, streamed to disk as it arrives: its own, larger limit.
            limit = (settings.USAGE_REPORT_MAX_BYTES if request.method == "POST"
                     and request.path.endswith("/usage-reports/") else settings.API_MAX_BODY_BYTES)
            if length > limit:
                log.warning("api.body_too_large", method=request.method, path=request.path, bytes=length)
                return body_too_large(length, limit)
        return self.get_response(request)

    def process_exception(self, request, exc):
        if not is_api(request):
            return None
        response = refused_request(request, exc)
        if response is not None:
            log.warning("api.request_refused", method=request.method, path=request.path, status=response.status_code,
                        reason=str(exc))
            return response
        log.error("api.unexpected_error", method=request.method, path=request.path, exc_info=exc)
        return JsonResponse(server_error_body(request), status=500)


def bad_request(request, exception):
    """The URLconf's 400: a request Django refused before any view (an unknown Host, say)."""
    if is_api(request):
        message = ("This server does not answer for that Host header." if isinstance(exception, DisallowedHost)
                   else "The request is malformed and was refused.")
        return JsonResponse(error_body("bad_request", message), status=400)
    return defaults.bad_request(request, exception)


def server_error(request):
    """The URLconf's 500, for a crash outside a view; Django has logged it with the request id already."""
    if is_api(request):
        return JsonResponse(server_error_body(request), status=500)
    return defaults.server_error(request)
