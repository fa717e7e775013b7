"""The site's URLs and one bare view, served together by bench/api.py's gunicorn (ROOT_URLCONF=bench.urls).

The bare view is Django's floor on that server: the same middleware, workers and
connections as the API, but no authentication, database, cache or serializer. The DRF
floor fetches the same slice by primary key through DRF with a plain serializer: what the
API costs beyond it is the key, its scope, the throttle and the organisation's rule.
"""
import json

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse
from django.urls import include, path
from rest_framework import serializers
from rest_framework.generics import RetrieveAPIView

from licensing.models import Slice

BARE_BODY = json.dumps({"id": 1, "status": "ready", "bench": "bare"}).encode()


def bare(request):
    return HttpResponse(BARE_BODY, content_type="application/json")


class PlainSliceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Slice
        fields = ["id", "number", "status", "progress", "asset_count", "total_bytes", "filters", "seed",
                  "created_at", "finished_at"]


class DrfFloor(RetrieveAPIView):
    """DRF's floor: the same slice by primary key with a plain serializer, no key, scope or throttle."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = []
    queryset = Slice.objects.all()
    serializer_class = PlainSliceSerializer


def bare_file(request):
    """Django's floor for a file download (bench/delivery.py): no token, no database, no headers of ours."""
    return FileResponse(default_storage.open(request.GET["key"], "rb"), content_type="image/jpeg")


urlpatterns = [
    path("bench/bare", bare, name="bench-bare"),
    path("bench/drf/<int:pk>", DrfFloor.as_view(), name="bench-drf"),
    path("bench/file", bare_file, name="bench-file"),
    path("", include("config.urls")),
]
