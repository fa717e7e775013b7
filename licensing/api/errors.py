"""Every API error as {"error": {"code", "message", "fields"}} with a message a person can act on."""
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

MESSAGES = {
    exceptions.NotAuthenticated: "Authentication required: send 'Authorization: Bearer <key>' with an API key.",
    exceptions.NotFound: "Not found: it does not exist or belongs to another organisation.",
}


def error_body(code, message, fields=None):
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
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
    response.data = error_body(code, message)
    return response


def refusal(code, message, http_status=status.HTTP_422_UNPROCESSABLE_ENTITY):
    return Response(error_body(code, message), status=http_status)
