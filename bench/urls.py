"""The site's URLs and one bare view, served together by bench/api.py's gunicorn (ROOT_URLCONF=bench.urls).

The bare view is Django's floor on that server: the same middleware, workers and
connections as the API, but no authentication, database, cache or serializer.
"""
import json

from django.http import HttpResponse
from django.urls import include, path

BARE_BODY = json.dumps({"id": 1, "status": "ready", "bench": "bare"}).encode()


def bare(request):
    return HttpResponse(BARE_BODY, content_type="application/json")


urlpatterns = [
    path("bench/bare", bare, name="bench-bare"),
    path("", include("config.urls")),
]
