import copy

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from licensing.models import (
    UsageReport,
    UsageReportFormat,
    AIModel,
    Asset,
    Invoice,
    InvoiceLine,
    Licence,
    Modality,
    ModelVersion,
    Slice,
    TrainingDeclaration,
)
from licensing.services.slices import (
    MAX_DURATION_SECONDS,
    MAX_PIXELS,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    SliceRefused,
    clean_filters,
)


def absolute(name, *args):
    return settings.SITE_URL + reverse(name, args=args)


class ModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer that maps its model's fields once per class, not once per instance.

    DRF rebuilds every field from the model's metadata each time a serializer is made, which
    was a quarter of a slice read's time. The mapping depends only on the class, so the unbound
    fields are kept and each serializer gets its own deep copy, as DRF does for declared fields.
    """

    def get_fields(self):
        cls = type(self)
        if "_fields_built" not in cls.__dict__:
            cls._fields_built = super().get_fields()
        return copy.deepcopy(cls._fields_built)


class CapsSerializer(serializers.Serializer):
    assets = serializers.IntegerField(allow_null=True)
    bytes = serializers.IntegerField(allow_null=True)
    slices = serializers.IntegerField(allow_null=True)


class OfferSerializer(serializers.Serializer):
    fee = serializers.DecimalField(max_digits=12, decimal_places=2, source="offer_fee")
    currency = serializers.CharField(source="offer_currency")
    billing_period = serializers.CharField(source="offer_billing_period")
    term_months = serializers.IntegerField(source="offer_term_months")
    scope = serializers.CharField(source="offer_scope")
    territory = serializers.CharField(source="offer_territory")
    made_at = serializers.DateTimeField(source="offer_made_at")
    accepted_at = serializers.DateTimeField(source="offer_accepted_at", allow_null=True)


class LicenceLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    slices = serializers.URLField()
    terms = serializers.URLField()
    web = serializers.URLField()
    withdrawals = serializers.URLField()


class LicenceSerializer(ModelSerializer):
    organisation = serializers.CharField(source="organisation.name")
    caps = CapsSerializer()
    usage = CapsSerializer()
    remaining = CapsSerializer()
    offer = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Licence
        fields = ["id", "project_title", "organisation", "state", "phase", "caps", "usage", "remaining",
                  "research_starts_at", "research_ends_at", "commercial_starts_at", "commercial_ends_at",
                  "offer", "created_at", "updated_at", "links"]

    def get_offer(self, licence) -> OfferSerializer(allow_null=True):
        return OfferSerializer(licence).data if licence.offer_made_at else None

    def get_links(self, licence) -> LicenceLinksSerializer:
        return {
            "self": absolute("api:licence-detail", licence.pk),
            "slices": absolute("api:licence-slices", licence.pk),
            "terms": absolute("api:licence-terms", licence.pk),
            "web": absolute("licence_detail", licence.pk),
            "withdrawals": absolute("api:licence-withdrawals", licence.pk),
        }


class SliceLinksSerializer(serializers.Serializer):
    self = serializers.URLField()
    items = serializers.URLField()
    manifest_jsonl = serializers.URLField()
    manifest_csv = serializers.URLField()
    croissant = serializers.URLField()
    dataset_card = serializers.URLField()
    shards = serializers.URLField()


class SliceFiltersSerializer(serializers.Serializer):
    """The filters a slice was asked with. The limits are the slice service's, stated here for the schema."""

    kind = serializers.ChoiceField(choices=Asset.Kind.choices, required=False)
    min_width = serializers.IntegerField(min_value=0, max_value=MAX_PIXELS, required=False)
    min_height = serializers.IntegerField(min_value=0, max_value=MAX_PIXELS, required=False)
    min_duration = serializers.FloatField(min_value=0, max_value=MAX_DURATION_SECONDS, required=False)
    max_duration = serializers.FloatField(min_value=0, max_value=MAX_DURATION_SECONDS, required=False)
    tags = serializers.ListField(child=serializers.CharField(min_length=1, max_length=MAX_TAG_LENGTH),
                                 required=False, max_length=MAX_TAGS)


_DATETIME = serializers.DateTimeField()
# SliceFiltersSerializer's fields, as its to_representation turns a stored value into JSON.
_FILTER_VALUES = {"kind": str, "min_width": int, "min_height": int, "min_duration": float, "max_duration": float,
                  "tags": lambda tags: [None if tag is None else str(tag) for tag in tags]}


def _filters_representation(filters):
    return {key: None if filters[key] is None else convert(filters[key])
            for key, convert in _FILTER_VALUES.items() if key in filters}


class SliceSerializer(ModelSerializer):
    licence = serializers.IntegerField(source="licence_id")
    filters = SliceFiltersSerializer()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Slice
        fields = ["id", "licence", "number", "phase", "status", "progress", "size_requested", "filters", "seed",
                  "asset_count", "total_bytes", "failure_reason", "created_at", "started_at", "finished_at", "links"]

    def to_representation(self, slice_):
        """What the fields give (a test holds the two equal for slices of every kind of filter), written out:
        a slice is what pipelines poll, and building and walking sixteen fields per read was a third of its
        time. The fields stay declared for the schema and for `fields_representation`."""
        when = _DATETIME.to_representation
        return {
            "id": slice_.pk, "licence": slice_.licence_id, "number": slice_.number, "phase": slice_.phase,
            "status": slice_.status, "progress": slice_.progress, "size_requested": slice_.size_requested,
            "filters": _filters_representation(slice_.filters), "seed": slice_.seed,
            "asset_count": slice_.asset_count, "total_bytes": slice_.total_bytes,
            "failure_reason": slice_.failure_reason,
            "created_at": when(slice_.created_at), "started_at": slice_.started_at and when(slice_.started_at),
            "finished_at": slice_.finished_at and when(slice_.finished_at), "links": self.get_links(slice_),
        }

    def fields_representation(self, slice_):
        """The representation DRF's fields make."""
        return super().to_representation(slice_)

    def get_links(self, slice_) -> SliceLinksSerializer:
        return {
            "self": absolute("api:slice-detail", slice_.pk),
            "items": absolute("api:slice-items", slice_.pk),
            "manifest_jsonl": absolute("api:slice-manifest", slice_.pk, "manifest.jsonl"),
            "manifest_csv": absolute("api:slice-manifest", slice_.pk, "manifest.csv"),
            "croissant": absolute("api:slice-manifest", slice_.pk, "croissant.json"),
            "dataset_card": absolute("api:slice-manifest", slice_.pk, "README.md"),
            "shards": absolute("api:slice-shards", slice_.pk),
        }


class SliceRequestSerializer(SliceFiltersSerializer):
    size = serializers.IntegerField(min_value=1, max_value=1_000_000, help_text="How many assets.")
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False,
                                    help_text="The same seed over the same catalogue gives the same slice.")

    def validate(self, data):
        if data.get("min_duration") is not None and data.get("max_duration") is not None \
                and data["min_duration"] > data["max_duration"]:
            raise serializers.ValidationError({"max_duration": ["Must be at least min_duration."]})
        if data.get("kind") == "image" and ("min_duration" in data or "max_duration" in data):
            raise serializers.ValidationError({"kind": ["Durations apply to videos only."]})
        try:
            clean_filters(**{key: value for key, value in data.items() if key not in ("size", "seed")})
        except SliceRefused as refusal:
            raise serializers.ValidationError(refusal.fields or {"non_field_errors": [str(refusal)]}) from None
        return data


class SliceItemSerializer(serializers.Serializer):
    asset_id = serializers.IntegerField()
    position = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    mime_type = serializers.CharField()
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    duration_seconds = serializers.FloatField(allow_null=True)
    contributor_ref = serializers.CharField()
    withdrawn = serializers.BooleanField()
    withdrawn_at = serializers.DateTimeField(allow_null=True)
    withdrawal_reason = serializers.CharField(
        allow_null=True, help_text="Why it was withdrawn: opt_out, or the licensor's reason (a takedown's, say).")
    download_url = serializers.URLField(
        help_text="Expiring and bound to the licence. A withdrawn item's link answers 410 Gone: delete the item.")


class InvoiceLineSerializer(ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["position", "description", "quantity", "unit_price", "tax_rate", "net_amount", "tax_amount",
                  "gross_amount"]


class InvoiceSerializer(ModelSerializer):
    number = serializers.CharField(source="display_number")
    licence = serializers.IntegerField(source="licence_id")
    corrects = serializers.SerializerMethodField()
    balance = serializers.DecimalField(max_digits=12, decimal_places=2)
    lines = InvoiceLineSerializer(many=True)
    pdf = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = ["id", "number", "kind", "reason", "status", "licence", "currency", "tax_rate", "net_total",
                  "tax_total", "gross_total", "balance", "issued_at", "due_date", "paid_at", "period_start",
                  "period_end", "buyer", "issuer", "corrects", "lines", "pdf"]

    def get_corrects(self, invoice) -> str | None:
        return invoice.corrects.display_number if invoice.corrects_id else None

    def get_pdf(self, invoice) -> str:
        return absolute("api:invoice-pdf", invoice.pk)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField()
    request_id = serializers.CharField(
        required=False, help_text="The id the request is logged under, also sent as X-Request-ID: quote it when "
                                  "asking about an error.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


# --- AI models ------------------------------------------------------------------

class AIModelSerializer(ModelSerializer):
    links = serializers.SerializerMethodField()

    class Meta:
        model = AIModel
        fields = ["id", "name", "slug", "modality", "purpose", "is_public", "model_card_url", "created_at", "links"]

    def get_links(self, model) -> dict[str, str]:
        links = {"self": absolute("api:model-detail", model.pk), "versions": absolute("api:model-versions", model.pk),
                 "web": absolute("model_detail", model.pk)}
        if model.is_public:
            links["public_page"] = absolute("public_model", model.organisation.slug, model.slug)
        return links


class AIModelCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=80, required=False, allow_blank=True)
    modality = serializers.ChoiceField(choices=Modality.choices)
    purpose = serializers.CharField(allow_blank=True, required=False, default="")
    is_public = serializers.BooleanField(required=False, default=False)
    model_card_url = serializers.URLField(required=False, allow_blank=True, default="")


class TrainingDeclarationSerializer(ModelSerializer):
    slice = serializers.IntegerField(source="slice_id")
    licence = serializers.IntegerField(source="slice.licence_id")
    supersedes = serializers.IntegerField(source="supersedes_id", allow_null=True)
    superseded_by = serializers.SerializerMethodField()

    class Meta:
        model = TrainingDeclaration
        fields = ["id", "slice", "licence", "whole_slice", "item_count", "left_out_count", "supersedes",
                  "superseded_by", "note", "created_at"]

    def get_superseded_by(self, declaration) -> int | None:
        try:
            return declaration.superseded_by.pk
        except TrainingDeclaration.superseded_by.RelatedObjectDoesNotExist:
            return None


class TrainingTotalsSerializer(serializers.Serializer):
    images = serializers.IntegerField()
    videos = serializers.IntegerField()
    video_hours = serializers.FloatField()
    bytes = serializers.IntegerField()
    contributors = serializers.IntegerField()
    left_out = serializers.IntegerField(help_text="Works left out: withdrawn before the declaration.")
    withdrawn_after = serializers.IntegerField(help_text="Works withdrawn after they were declared.")
    first_delivered = serializers.DateTimeField(allow_null=True)
    last_delivered = serializers.DateTimeField(allow_null=True)
    phases = serializers.ListField(child=serializers.CharField())


class ModelVersionSerializer(ModelSerializer):
    model = serializers.IntegerField(source="model_id")
    links = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = ["id", "model", "label", "trained_from", "trained_to", "note", "released", "released_at",
                  "created_at", "links"]

    def get_links(self, version) -> dict[str, str]:
        args = (version.model_id, version.pk)
        return {"self": absolute("api:model-version-detail", *args),
                "declarations": absolute("api:model-version-declarations", *args),
                "release": absolute("api:model-version-release", *args),
                "eu_summary": absolute("api:model-version-eu-summary", *args),
                "dataset_card": absolute("api:model-version-card", *args),
                "web": absolute("model_version", *args)}


class ModelVersionDetailSerializer(ModelVersionSerializer):
    declarations = TrainingDeclarationSerializer(many=True, source="declaration_list")
    training = TrainingTotalsSerializer(source="training_total")

    class Meta(ModelVersionSerializer.Meta):
        fields = ModelVersionSerializer.Meta.fields + ["declarations", "training"]


class ModelVersionCreateSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=60)
    trained_from = serializers.DateField(required=False, allow_null=True)
    trained_to = serializers.DateField(required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DeclarationRequestSerializer(serializers.Serializer):
    slice = serializers.IntegerField(min_value=1, help_text="The id of one of your organisation's ready slices.")
    asset_ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, allow_null=True, allow_empty=False, max_length=1_000_000,
        help_text="Only these items of the slice trained the version. Leave out for the whole slice.")
    supersedes = serializers.IntegerField(required=False, allow_null=True, min_value=1,
                                          help_text="The declaration of this version this one corrects.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class UsageReportSerializer(ModelSerializer):
    version = serializers.IntegerField(source="version_id")
    licence = serializers.IntegerField(source="licence_id")
    invoice = serializers.IntegerField(source="invoice_id", allow_null=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = UsageReport
        fields = ["id", "reference", "version", "licence", "period_start", "period_end", "format", "bytes", "sha256",
                  "status", "lines_read", "outputs", "rejected_count", "currency", "revenue", "pool", "invoice",
                  "created_at", "processed_at", "links"]

    def get_links(self, report) -> dict[str, str]:
        return {"self": absolute("api:usage-report-detail", report.version.model_id, report.version_id, report.pk)}


class RejectedLineSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    reason = serializers.CharField()


class UsageReportDetailSerializer(UsageReportSerializer):
    rejected_lines = RejectedLineSerializer(many=True)

    class Meta(UsageReportSerializer.Meta):
        fields = UsageReportSerializer.Meta.fields + [
            "progress", "scores", "zeroed_scores", "attribution_rate", "attributed", "unexplained",
            "contributor_count", "error", "rejected_lines"]


class UsageReportUploadSerializer(serializers.Serializer):
    """The fields beside the file: in the multipart form, or as query parameters of a raw JSONL or CSV body."""

    reference = serializers.CharField(max_length=100, help_text="Your id for the report: sent again, it is a no-op.")
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    licence = serializers.IntegerField(required=False, min_value=1, max_value=2**31 - 1,
                                       help_text="Needed only when the version was trained under several licences.")
    format = serializers.ChoiceField(choices=UsageReportFormat.choices, required=False)
    file = serializers.FileField(required=False, help_text="The report, in a multipart upload.")
