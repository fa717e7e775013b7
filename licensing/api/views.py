"""The v1 API for training pipelines: an organisation's licences, slices, manifests and invoices."""
from dataclasses import asdict

import django_filters
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from licensing import downloads
from licensing.api.authentication import ApiKeyAuthentication
from licensing.api.errors import error_body
from licensing.api.idempotency import idempotent
from licensing.api.pagination import StatedPageSize
from licensing.api.permissions import HasScope
from licensing.api.serializers import (
    ErrorSerializer,
    InvoiceSerializer,
    LicenceSerializer,
    SliceItemSerializer,
    SliceRequestSerializer,
    SliceSerializer,
)
from licensing.api.throttling import ApiKeyRateThrottle
from licensing.manifests.http import MANIFEST_FORMATS, stream_manifest
from licensing.models import (
    Invoice,
    Licence,
    LicencePhase,
    LicenceState,
    Slice,
    SliceItem,
    SliceStatus,
)
from licensing.selectors.billing import invoices_of_organisation
from licensing.selectors.licences import licences_of_organisation
from licensing.selectors.slices import manifest_item_of, slices_of_organisation
from licensing.services.billing import invoice_pdf_bytes
from licensing.services.slices import SliceRefused, slice_request
from licensing.terms import TermsNotAvailable, licence_terms

ERRORS = {
    401: OpenApiResponse(ErrorSerializer, description="No key, or an unknown, revoked or expired key."),
    403: OpenApiResponse(ErrorSerializer, description="The key lacks the scope this call needs."),
    404: OpenApiResponse(ErrorSerializer, description="Not found, or another organisation's."),
    429: OpenApiResponse(ErrorSerializer, description="Too many requests for this key."),
}
BAD_FILTER = {400: OpenApiResponse(ErrorSerializer, description="A filter's value is not one it knows.")}


# Ids in paths are positive: the URL pattern matches digits only, so "-1" never reaches a view.
OBJECT_ID = OpenApiParameter("id", {"type": "integer", "minimum": 1}, OpenApiParameter.PATH)


class IntegerCursor(StatedPageSize):
    """A cursor points at an id or a position, both integers (StatedPageSize refuses any other)."""


class NewestFirst(IntegerCursor):
    """Cursor pages stay stable while new rows appear: a cursor points at an id, not an offset."""

    ordering = "-id"
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


class ItemsInOrder(IntegerCursor):
    ordering = "position"
    page_size = 500
    max_page_size = 5000
    page_size_query_param = "page_size"


class ApiView:
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [ApiKeyRateThrottle]
    throttle_scope = "api-read"
    required_scopes = {}

    def initial(self, request, *args, **kwargs):
        # Before authentication, which counts the request against this scope in the same round trip.
        self.throttle_scope = "api-write" if request.method == "POST" else "api-read"
        super().initial(request, *args, **kwargs)

    @property
    def organisation_id(self):
        return self.request.auth.organisation_id

    @property
    def documenting(self):
        return getattr(self, "swagger_fake_view", False)

    def licences(self):
        if self.documenting:
            return Licence.objects.none()
        return licences_of_organisation(organisation_id=self.organisation_id).select_related("organisation")

    def slices(self):
        if self.documenting:
            return Slice.objects.none()
        return slices_of_organisation(organisation_id=self.organisation_id)

    def invoices(self):
        if self.documenting:
            return Invoice.objects.none()
        return invoices_of_organisation(organisation_id=self.organisation_id).prefetch_related(
            "lines", "payments", "credit_notes").select_related("corrects")


class LicenceFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=LicenceState.choices)
    phase = django_filters.ChoiceFilter(choices=LicencePhase.choices)

    class Meta:
        model = Licence
        fields = ["state", "phase"]


@extend_schema(tags=["licences"], responses={200: LicenceSerializer(many=True), **BAD_FILTER, **ERRORS})
class LicenceList(ApiView, generics.ListAPIView):
    """Your organisation's licences, newest first."""

    required_scopes = {"GET": "licences:read"}
    serializer_class = LicenceSerializer
    pagination_class = NewestFirst
    filterset_class = LicenceFilter

    def get_queryset(self):
        return self.licences()


@extend_schema(tags=["licences"], parameters=[OBJECT_ID], responses={200: LicenceSerializer, **ERRORS})
class LicenceDetail(ApiView, generics.RetrieveAPIView):
    """A licence: state, phase, caps, usage, what remains, dates and links."""

    required_scopes = {"GET": "licences:read"}
    serializer_class = LicenceSerializer

    def get_queryset(self):
        return self.licences()


@extend_schema(tags=["licences"], parameters=[OBJECT_ID],
               responses={(200, "application/ld+json"): OpenApiTypes.OBJECT, **ERRORS})
class LicenceTerms(ApiView, APIView):
    """The licence's terms as ODRL 2.2 JSON-LD (the agreement in force)."""

    required_scopes = {"GET": "licences:read"}

    def get(self, request, pk):
        licence = generics.get_object_or_404(self.licences(), pk=pk)
        try:
            return Response(licence_terms(licence), content_type="application/ld+json")
        except TermsNotAvailable as missing:
            return Response(error_body("no_terms", str(missing)), status=404)


class LicenceSlices(ApiView, generics.ListCreateAPIView):
    """A licence's slices; POST requests a new one, built by a job (202)."""

    required_scopes = {"GET": "slices:read", "POST": "slices:write"}
    serializer_class = SliceSerializer
    pagination_class = NewestFirst

    def get_serializer_class(self):
        # OPTIONS describes the POST form with this: the fields a request takes, not those a slice shows.
        return SliceRequestSerializer if self.request.method == "POST" else SliceSerializer

    def licence(self):
        return generics.get_object_or_404(self.licences(), pk=self.kwargs["pk"])

    def get_queryset(self):
        if self.documenting:
            return Slice.objects.none()
        return self.slices().filter(licence=self.licence())

    @extend_schema(tags=["slices"], parameters=[OBJECT_ID], responses={200: SliceSerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["slices"], request=SliceRequestSerializer,
        parameters=[OBJECT_ID, OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                     description="Send the same key to retry safely: the first response is replayed.")],
        responses={
            202: SliceSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Invalid fields."),
            409: OpenApiResponse(ErrorSerializer, description="The same Idempotency-Key is still in flight."),
            422: OpenApiResponse(ErrorSerializer, description="Refused: caps, licence state, or a reused "
                                                              "Idempotency-Key with another body."),
            **ERRORS,
        },
    )
    @idempotent
    def post(self, request, *args, **kwargs):
        licence = self.licence()
        data = SliceRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        try:
            slice_ = slice_request(licence=licence, by=None, api_key=request.auth, **values)
        except SliceRefused as refusal:
            return Response(error_body("slice_refused", str(refusal)), status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        return Response(SliceSerializer(slice_).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["slices"], parameters=[OBJECT_ID], responses={200: SliceSerializer, **ERRORS})
class SliceDetail(ApiView, generics.RetrieveAPIView):
    """A slice: status, progress, counts and manifest links. Poll it until `status` is ready or failed."""

    required_scopes = {"GET": "slices:read"}
    serializer_class = SliceSerializer

    def get_queryset(self):
        return self.slices()


@extend_schema(tags=["slices"], parameters=[OBJECT_ID], responses={200: SliceItemSerializer(many=True), **ERRORS})
class SliceItems(ApiView, generics.ListAPIView):
    """The slice's items in order, with download links (signed once per page, expiring)."""

    required_scopes = {"GET": "slices:read"}
    serializer_class = SliceItemSerializer
    pagination_class = ItemsInOrder

    def get_queryset(self):
        if self.documenting:
            return SliceItem.objects.none()
        self.slice = generics.get_object_or_404(self.slices(), pk=self.kwargs["pk"])
        return SliceItem.objects.filter(slice=self.slice).select_related("asset")

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        prefix = downloads.asset_url_prefix(downloads.slice_token(self.slice))
        rows = [{**asdict(manifest_item_of(item, url_prefix=prefix)), "position": item.position,
                 "withdrawn": item.withdrawn_at is not None} for item in page]
        return self.get_paginated_response(SliceItemSerializer(rows, many=True).data)


class SliceManifest(ApiView, APIView):
    """The slice's manifest, streamed: JSONL, CSV or Croissant 1.0 JSON-LD."""

    required_scopes = {"GET": "slices:read"}

    @extend_schema(
        tags=["slices"], operation_id="v1_slices_manifest",
        parameters=[OBJECT_ID, OpenApiParameter("fmt", str, OpenApiParameter.PATH,
                                                enum=["manifest.jsonl", "manifest.csv", "croissant.json"])],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR, (200, "text/csv"): OpenApiTypes.STR,
                   (200, "application/ld+json"): OpenApiTypes.OBJECT,
                   409: OpenApiResponse(ErrorSerializer, description="The slice is not ready yet."), **ERRORS},
    )
    def get(self, request, pk, fmt):
        if fmt not in MANIFEST_FORMATS:
            raise NotFound(f"Manifests come as {', '.join(MANIFEST_FORMATS)}.")
        slice_ = generics.get_object_or_404(self.slices().select_related("licence__organisation"), pk=pk)
        if slice_.status != SliceStatus.READY:
            return Response(error_body("not_ready", f"Slice {slice_.number} is {slice_.status}: its manifest "
                                                    "exists once it is ready."), status=409)
        return stream_manifest(slice_, fmt)


class InvoiceFilter(django_filters.FilterSet):
    class Meta:
        model = Invoice
        fields = ["status", "kind"]


@extend_schema(tags=["invoices"], responses={200: InvoiceSerializer(many=True), **BAD_FILTER, **ERRORS})
class InvoiceList(ApiView, generics.ListAPIView):
    """Your organisation's issued invoices and credit notes."""

    required_scopes = {"GET": "invoices:read"}
    serializer_class = InvoiceSerializer
    pagination_class = NewestFirst
    filterset_class = InvoiceFilter

    def get_queryset(self):
        return self.invoices()


@extend_schema(tags=["invoices"], parameters=[OBJECT_ID], responses={200: InvoiceSerializer, **ERRORS})
class InvoiceDetail(ApiView, generics.RetrieveAPIView):
    """One invoice or credit note, with its lines and what is still owed."""

    required_scopes = {"GET": "invoices:read"}
    serializer_class = InvoiceSerializer

    def get_queryset(self):
        return self.invoices()


@extend_schema(tags=["invoices"], parameters=[OBJECT_ID],
               responses={(200, "application/pdf"): OpenApiTypes.BINARY, **ERRORS})
class InvoicePdf(ApiView, APIView):
    """The invoice as PDF."""

    required_scopes = {"GET": "invoices:read"}

    def get(self, request, pk):
        invoice = generics.get_object_or_404(self.invoices(), pk=pk)
        response = HttpResponse(invoice_pdf_bytes(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{invoice.display_number}.pdf"'
        return response


@csrf_exempt  # API clients send keys, not cookies: like the DRF views, no CSRF token is asked for.
def unknown_endpoint(request, path=""):
    """Any other path under /api/v1/: a JSON 404 like every API error, not the site's HTML page.
    A GET that lacks only the trailing slash is redirected, as CommonMiddleware did before this catch-all."""
    message = "No such API endpoint: the endpoints are listed at /api/docs/."
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.url_name != "unknown-endpoint":
            if request.method in ("GET", "HEAD"):
                query = request.META.get("QUERY_STRING")
                return HttpResponsePermanentRedirect(request.path + "/" + (f"?{query}" if query else ""))
            message = f"No such API endpoint: did you mean {request.path}/ (with the trailing slash)?"
    return JsonResponse(error_body("not_found", message), status=404)
