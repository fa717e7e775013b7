"""The v1 API for training pipelines: an organisation's licences, slices, manifests and invoices."""
from dataclasses import asdict

import django_filters
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, parsers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from licensing import downloads
from licensing.api.authentication import ApiKeyAuthentication
from licensing.api.errors import error_body
from licensing.api.idempotency import idempotent
from licensing.api.pagination import StatedPageSize
from licensing.api.parsers import (
    ApiJSONParser,
    UsageReportBodyParser,
    UsageReportCsvParser,
    UsageReportJsonlParser,
)
from licensing.api.permissions import HasScope
from licensing.api.serializers import (
    AIModelCreateSerializer,
    AIModelSerializer,
    DeclarationRequestSerializer,
    ErrorSerializer,
    InvoiceSerializer,
    LicenceSerializer,
    ModelVersionCreateSerializer,
    ModelVersionDetailSerializer,
    ModelVersionSerializer,
    SliceItemSerializer,
    SliceRequestSerializer,
    SliceSerializer,
    TrainingDeclarationSerializer,
    UsageReportDetailSerializer,
    UsageReportSerializer,
    UsageReportUploadSerializer,
)
from licensing.api.throttling import ApiKeyRateThrottle
from licensing.manifests.http import (
    MANIFEST_FORMATS,
    stream_manifest,
    version_card_response,
)
from licensing.models import (
    AIModel,
    Invoice,
    Licence,
    LicencePhase,
    LicenceState,
    ModelVersion,
    Slice,
    SliceItem,
    SliceStatus,
    UsageReport,
)
from licensing.selectors.ai_models import (
    declarations_of,
    eu_summary,
    models_of_organisation,
    version_training,
)
from licensing.selectors.attribution import report_of_version, reports_of_version
from licensing.selectors.billing import invoices_of_organisation
from licensing.selectors.licences import licences_of_organisation
from licensing.selectors.slices import manifest_item_of, slices_of_organisation
from licensing.services.ai_models import (
    ModelRefused,
    ai_model_register,
    model_version_add,
    model_version_release,
    training_declare,
)
from licensing.services.attribution import UsageReportRefused, usage_report_upload
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
    """The slice's manifest, streamed: JSONL, CSV or Croissant 1.1 JSON-LD; or its dataset card (README.md)."""

    required_scopes = {"GET": "slices:read"}

    @extend_schema(
        tags=["slices"], operation_id="v1_slices_manifest",
        parameters=[OBJECT_ID, OpenApiParameter("fmt", str, OpenApiParameter.PATH,
                                                enum=list(MANIFEST_FORMATS))],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR, (200, "text/csv"): OpenApiTypes.STR,
                   (200, "text/markdown"): OpenApiTypes.STR,
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
        return stream_manifest(slice_, fmt, request=request)


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


# --- AI models ------------------------------------------------------------------------

VERSION_ID = OpenApiParameter("version_id", {"type": "integer", "minimum": 1}, OpenApiParameter.PATH)
IDEMPOTENCY_KEY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                   description="Send the same key to retry safely: the first response is replayed.")
REFUSED = {
    400: OpenApiResponse(ErrorSerializer, description="Invalid fields."),
    409: OpenApiResponse(ErrorSerializer, description="The same Idempotency-Key is still in flight."),
    422: OpenApiResponse(ErrorSerializer, description="Refused: the message says why; `fields` names the "
                                                      "offending values."),
}


def _refused(code, refusal):
    return Response(error_body(code, str(refusal), refusal.fields), status=status.HTTP_422_UNPROCESSABLE_ENTITY)


class ModelApiView(ApiView):
    def get_throttles(self):
        self.throttle_scope = "api-write" if self.request.method == "POST" else "api-read"
        return super().get_throttles()

    def ai_models(self):
        if self.documenting:
            return AIModel.objects.none()
        return models_of_organisation(organisation_id=self.organisation_id)

    def ai_model(self):
        return generics.get_object_or_404(self.ai_models(), pk=self.kwargs["pk"])

    def version(self, model=None):
        return generics.get_object_or_404(ModelVersion.objects.select_related("model__organisation"),
                                          model=model or self.ai_model(), pk=self.kwargs["version_id"])


class ModelList(ModelApiView, generics.ListAPIView):
    """Your organisation's AI models; POST registers one."""

    required_scopes = {"GET": "models:read", "POST": "models:write"}
    serializer_class = AIModelSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        return self.ai_models()

    @extend_schema(tags=["models"], responses={200: AIModelSerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["models"], request=AIModelCreateSerializer, parameters=[IDEMPOTENCY_KEY],
                   responses={201: AIModelSerializer, **REFUSED, **ERRORS})
    @idempotent
    def post(self, request, *args, **kwargs):
        data = AIModelCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            model = ai_model_register(organisation=request.auth.organisation, by=None, api_key=request.auth,
                                      **data.validated_data)
        except ModelRefused as refusal:
            return _refused("model_refused", refusal)
        return Response(AIModelSerializer(model).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["models"], parameters=[OBJECT_ID], responses={200: AIModelSerializer, **ERRORS})
class ModelDetail(ModelApiView, generics.RetrieveAPIView):
    """One of your AI models."""

    required_scopes = {"GET": "models:read"}
    serializer_class = AIModelSerializer

    def get_queryset(self):
        return self.ai_models()


class ModelVersions(ModelApiView, generics.ListAPIView):
    """A model's versions, newest first; POST adds one."""

    required_scopes = {"GET": "models:read", "POST": "models:write"}
    serializer_class = ModelVersionSerializer
    pagination_class = NewestFirst

    def get_queryset(self):
        if self.documenting:
            return ModelVersion.objects.none()
        return ModelVersion.objects.filter(model=self.ai_model())

    @extend_schema(tags=["models"], parameters=[OBJECT_ID], responses={200: ModelVersionSerializer(many=True),
                                                                       **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["models"], parameters=[OBJECT_ID, IDEMPOTENCY_KEY], request=ModelVersionCreateSerializer,
                   responses={201: ModelVersionSerializer, **REFUSED, **ERRORS})
    @idempotent
    def post(self, request, *args, **kwargs):
        model = self.ai_model()
        data = ModelVersionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            version = model_version_add(model=model, by=None, api_key=request.auth, **data.validated_data)
        except ModelRefused as refusal:
            return _refused("version_refused", refusal)
        return Response(ModelVersionSerializer(version).data, status=status.HTTP_201_CREATED)


def _version_detail(version):
    version.declaration_list = list(declarations_of(version=version))
    version.training_total = version_training(version=version)["total"]
    return ModelVersionDetailSerializer(version).data


@extend_schema(tags=["models"], parameters=[OBJECT_ID, VERSION_ID],
               responses={200: ModelVersionDetailSerializer, **ERRORS})
class ModelVersionDetail(ModelApiView, APIView):
    """A version with every declaration (superseded ones too, marked) and what the declarations in force count."""

    required_scopes = {"GET": "models:read"}

    def get(self, request, pk, version_id):
        return Response(_version_detail(self.version()))


class ModelVersionDeclarations(ModelApiView, APIView):
    """Declare that the version was trained on a slice: all of it, or the items of `asset_ids`."""

    required_scopes = {"POST": "models:write"}

    @extend_schema(tags=["models"], parameters=[OBJECT_ID, VERSION_ID, IDEMPOTENCY_KEY],
                   request=DeclarationRequestSerializer,
                   responses={201: TrainingDeclarationSerializer, **REFUSED, **ERRORS})
    @idempotent
    def post(self, request, pk, version_id):
        version = self.version()
        data = DeclarationRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not self.slices().filter(pk=values["slice"]).exists():
            raise NotFound(f"No slice {values['slice']}: it does not exist or belongs to another organisation.")
        try:
            declaration = training_declare(version=version, by=None, api_key=request.auth, slice_id=values["slice"],
                                           asset_ids=values.get("asset_ids"), supersedes_id=values.get("supersedes"),
                                           note=values.get("note", ""))
        except ModelRefused as refusal:
            return _refused("declaration_refused", refusal)
        return Response(TrainingDeclarationSerializer(declaration).data, status=status.HTTP_201_CREATED)


class ModelVersionRelease(ModelApiView, APIView):
    """Release the version: its declarations become append-only; a public model shows it on its page."""

    required_scopes = {"POST": "models:write"}

    @extend_schema(tags=["models"], parameters=[OBJECT_ID, VERSION_ID], request=None,
                   responses={200: ModelVersionDetailSerializer, 422: REFUSED[422], **ERRORS})
    def post(self, request, pk, version_id):
        version = self.version()
        try:
            model_version_release(version=version, by=None, api_key=request.auth)
        except ModelRefused as refusal:
            return _refused("release_refused", refusal)
        return Response(_version_detail(version))


@extend_schema(tags=["models"], parameters=[OBJECT_ID, VERSION_ID],
               responses={(200, "application/json"): OpenApiTypes.OBJECT, **ERRORS})
class ModelVersionEuSummary(ModelApiView, APIView):
    """The EU AI Act public summary of training content, drafted: fields from records marked `records`."""

    required_scopes = {"GET": "models:read"}

    def get(self, request, pk, version_id):
        return Response(eu_summary(version=self.version()))


@extend_schema(tags=["models"], parameters=[OBJECT_ID, VERSION_ID],
               responses={(200, "text/markdown"): OpenApiTypes.STR, **ERRORS})
class ModelVersionCard(ModelApiView, APIView):
    """The dataset card (README.md, Hugging Face front matter) of the licensed works that trained the version."""

    required_scopes = {"GET": "models:read"}

    def get(self, request, pk, version_id):
        return version_card_response(self.version())


# --- Usage reports ------------------------------------------------------------------------

REPORT_ID = OpenApiParameter("report_id", {"type": "integer", "minimum": 1}, OpenApiParameter.PATH)
REPORT_BODY_TYPES = ("application/x-ndjson", "application/jsonl", "text/csv")


class UsageReports(ModelApiView, generics.ListAPIView):
    """A version's usage reports, newest first, with their status; POST sends one.

    Send the report as a multipart upload (`file`, with `reference`, `period_start`, `period_end` and, when
    the version was trained under several licences, `licence`), or as the raw body (`application/x-ndjson`
    or `text/csv`) with those fields as query parameters. One output per line: JSONL objects
    `{"output_id", "revenue", "currency" (optional), "scores": {contributor id: score}, "asset_scores":
    {asset id: score}}`, or CSV with the header `output_id,revenue,currency,scores[,asset_scores]` and the
    score columns as JSON objects. The report is processed by a job: follow its `links.self`."""

    required_scopes = {"GET": "models:read", "POST": "models:write"}
    serializer_class = UsageReportSerializer
    pagination_class = NewestFirst
    parser_classes = [parsers.MultiPartParser, UsageReportBodyParser, UsageReportJsonlParser, UsageReportCsvParser,
                      ApiJSONParser]

    def get_queryset(self):
        if self.documenting:
            return UsageReport.objects.none()
        return reports_of_version(version=self.version())

    @extend_schema(tags=["usage"], parameters=[OBJECT_ID, VERSION_ID],
                   responses={200: UsageReportSerializer(many=True), **ERRORS})
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=["usage"], parameters=[OBJECT_ID, VERSION_ID, IDEMPOTENCY_KEY],
                   request={"multipart/form-data": UsageReportUploadSerializer,
                            **{media: OpenApiTypes.BINARY for media in REPORT_BODY_TYPES}},
                   responses={202: UsageReportDetailSerializer, 200: UsageReportDetailSerializer, **REFUSED,
                              **ERRORS})
    @idempotent
    def post(self, request, *args, **kwargs):
        version = self.version()
        raw = request.content_type.split(";")[0].strip().lower() in REPORT_BODY_TYPES
        fields = request.query_params if raw else request.data
        if not hasattr(fields, "get"):  # a JSON body that is not an object
            fields = {}
        data = UsageReportUploadSerializer(data={key: fields.get(key) for key in UsageReportUploadSerializer().fields
                                                 if key != "file" and fields.get(key) not in (None, "")})
        data.is_valid(raise_exception=True)
        values = data.validated_data
        upload = request.FILES.get("file")
        if upload is None:
            return Response(error_body("invalid", "Send the report: a multipart `file`, or the raw body as "
                                                  "application/x-ndjson or text/csv.", {"file": ["Missing."]}),
                            status=status.HTTP_400_BAD_REQUEST)
        try:
            report, created = usage_report_upload(
                version=version, upload=upload, reference=values["reference"], period_start=values["period_start"],
                period_end=values["period_end"], api_key=request.auth, licence_id=values.get("licence"),
                file_format=values.get("format") or ("csv" if request.content_type.startswith("text/csv") else None))
        except UsageReportRefused as refusal:
            return _refused("usage_report_refused", refusal)
        return Response(UsageReportDetailSerializer(report).data,
                        status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)


@extend_schema(tags=["usage"], parameters=[OBJECT_ID, VERSION_ID, REPORT_ID],
               responses={200: UsageReportDetailSerializer, **ERRORS})
class UsageReportDetail(ModelApiView, APIView):
    """A usage report: its status and progress, its counts, and every rejected line by number and reason."""

    required_scopes = {"GET": "models:read"}

    def get(self, request, pk, version_id, report_id):
        return Response(UsageReportDetailSerializer(report_of_version(version=self.version(), pk=report_id)).data)
