"""Delivery in the v1 API: a slice's shard index, and the withdrawals feed of a licence."""
from datetime import datetime

from django.core import signing
from django.db.models import Q
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from licensing.api.errors import error_body
from licensing.api.pagination import InvalidCursor, StatedPageSize
from licensing.api.serializers import ErrorSerializer
from licensing.api.views import ERRORS, OBJECT_ID, ApiView
from licensing.selectors.delivery import shard_index, withdrawals_of


class ShardSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    version = serializers.IntegerField()
    name = serializers.CharField()
    url = serializers.URLField(help_text="Signed and expiring; answers Range requests, 410 once rewritten.")
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField(help_text="Also the download's ETag.")
    items = serializers.IntegerField()
    first_position = serializers.IntegerField()
    last_position = serializers.IntegerField()


class LeftOutSerializer(serializers.Serializer):
    without_file = serializers.IntegerField(help_text="Metadata-only catalogue rows: no file to deliver.")
    missing_file = serializers.IntegerField()
    withdrawn = serializers.IntegerField()


class ShardIndexSerializer(serializers.Serializer):
    slice = serializers.IntegerField()
    licence = serializers.IntegerField()
    format = serializers.CharField()
    state = serializers.ChoiceField(choices=["pending", "ready"])
    built_at = serializers.DateTimeField(allow_null=True)
    shard_count = serializers.IntegerField()
    items = serializers.IntegerField()
    bytes = serializers.IntegerField()
    left_out = LeftOutSerializer()
    note = serializers.CharField()
    links_expire_at = serializers.DateTimeField()
    index_url = serializers.URLField()
    shards = ShardSerializer(many=True)


@extend_schema(tags=["slices"], parameters=[OBJECT_ID], responses={
    200: ShardIndexSerializer, 409: OpenApiResponse(ErrorSerializer, description="The slice is not ready yet."),
    **ERRORS})
class SliceShards(ApiView, APIView):
    """The slice as WebDataset tar shards, in item order, each with a signed link and its sha256.
    `state` is pending until the shards are written, a moment after the slice is ready."""

    required_scopes = {"GET": "slices:read"}

    def get(self, request, pk):
        slice_ = generics.get_object_or_404(self.slices(), pk=pk)
        if slice_.status != "ready":
            return Response(error_body("not_ready", f"Slice {slice_.number} is {slice_.status}: its shards exist "
                                                    "once it is ready."), status=409)
        return Response(shard_index(slice_))


class WithdrawalSerializer(serializers.Serializer):
    asset_id = serializers.IntegerField()
    slice = serializers.IntegerField(source="slice_id")
    withdrawn_at = serializers.DateTimeField()
    reason = serializers.CharField(source="withdrawal_reason", help_text="opt_out: the contributor opted out.")


class WithdrawalsSince(StatedPageSize):
    """Keyset pages in (withdrawn_at, id) order. Unlike a list's cursor, `next` is given on the last page
    too: it points after the last withdrawal seen, so a pipeline keeps it and asks again later."""

    page_size = 500
    max_page_size = 5000
    salt = "tessera.withdrawals-cursor"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = self.get_page_size(request)
        self.after = self._decode(request.query_params.get(self.cursor_query_param))
        if self.after is not None:
            at, pk = self.after
            queryset = queryset.filter(Q(withdrawn_at__gt=at) | Q(withdrawn_at=at, pk__gt=pk))
        rows = list(queryset[:size + 1])
        self.has_more, self.page = len(rows) > size, rows[:size]
        return self.page

    def _decode(self, value):
        if not value:
            return None
        try:
            at, pk = signing.loads(value, salt=self.salt)
            return datetime.fromisoformat(at), int(pk)
        except (signing.BadSignature, ValueError, TypeError):
            # A 400 with the code every other list answers a damaged cursor with: the client's mistake,
            # which a 404 would hide as "no such licence".
            raise InvalidCursor("This cursor is not one Tessera gave out: follow the `next` link of a page of "
                                "this feed instead of building or editing cursors.") from None

    def next_link(self):
        url = self.request.build_absolute_uri()
        if not self.page:
            return url  # nothing new: the same cursor next time
        last = self.page[-1]
        cursor = signing.dumps([last.withdrawn_at.isoformat(), last.pk], salt=self.salt)
        return replace_query_param(url, self.cursor_query_param, cursor)

    def get_paginated_response(self, data):
        return Response({"next": self.next_link(), "has_more": self.has_more, "results": data,
                         "start": remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)})

    def get_paginated_response_schema(self, schema):
        return {"type": "object", "required": ["next", "has_more", "results"], "properties": {
            "next": {"type": "string", "format": "uri", "description": "Ask this link next time, even when no "
                                                                      "more withdrawals are listed now."},
            "has_more": {"type": "boolean", "description": "More withdrawals wait: follow `next` at once."},
            "start": {"type": "string", "format": "uri"},
            "results": schema}}

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.cursor_query_param, "required": False, "in": "query", "schema": {"type": "string"},
             "description": "The `next` link's cursor from the previous page; none for everything."},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "schema": {"type": "integer", "minimum": 0, "maximum": self.max_page_size, "default": self.page_size},
             "description": self.allowed_page_sizes()},
        ]


@extend_schema(tags=["licences"], parameters=[OBJECT_ID], responses={200: WithdrawalSerializer(many=True), **ERRORS})
class LicenceWithdrawals(ApiView, generics.ListAPIView):
    """Every item withdrawn from the licence's slices since the cursor (asset, slice, when, why), oldest first.
    Delete these from your copies; keep the `next` link and ask it again later for newer withdrawals."""

    required_scopes = {"GET": "slices:read"}
    serializer_class = WithdrawalSerializer
    pagination_class = WithdrawalsSince

    def get_queryset(self):
        if self.documenting:
            return withdrawals_of(licence=None).none()
        licence = generics.get_object_or_404(self.licences(), pk=self.kwargs["pk"])
        return withdrawals_of(licence=licence)


