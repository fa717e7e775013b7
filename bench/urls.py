"""The site's URLs and one bare view, served together by bench/api.py's gunicorn (ROOT_URLCONF=bench.urls).

The bare view is Django's floor on that server: the same middleware, workers and
connections as the API, but no authentication, database, cache or serializer.
"""
import json

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from django.urls import include, path

BARE_BODY = json.dumps({"id": 1, "status": "ready", "bench": "bare"}).encode()


def bare(request):
    return HttpResponse(BARE_BODY, content_type="application/json")


def bare_file(request):
    """Django's floor for a file download (bench/delivery.py): no token, no database, no headers of ours."""
    return FileResponse(default_storage.open(request.GET["key"], "rb"), content_type="image/jpeg")


urlpatterns = [
    path("bench/bare", bare, name="bench-bare"),
    path("bench/file", bare_file, name="bench-file"),
    path("", include("config.urls")),
]
