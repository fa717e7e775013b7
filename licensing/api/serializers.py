import copy

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from licensing.models import Asset, Invoice, InvoiceLine, Licence, Slice


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
    shards = serializers.URLField()


class SliceFiltersSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=Asset.Kind.choices, required=False)
    min_width = serializers.IntegerField(min_value=0, required=False)
    min_height = serializers.IntegerField(min_value=0, required=False)
    min_duration = serializers.FloatField(min_value=0, required=False)
    max_duration = serializers.FloatField(min_value=0, required=False)
    tags = serializers.ListField(child=serializers.CharField(min_length=1, max_length=50), required=False,
                                 max_length=20)


class SliceSerializer(ModelSerializer):
    licence = serializers.IntegerField(source="licence_id")
    filters = SliceFiltersSerializer()
    links = serializers.SerializerMethodField()

    class Meta:
        model = Slice
        fields = ["id", "licence", "number", "phase", "status", "progress", "size_requested", "filters", "seed",
                  "asset_count", "total_bytes", "failure_reason", "created_at", "started_at", "finished_at", "links"]

    def get_links(self, slice_) -> SliceLinksSerializer:
        return {
            "self": absolute("api:slice-detail", slice_.pk),
            "items": absolute("api:slice-items", slice_.pk),
            "manifest_jsonl": absolute("api:slice-manifest", slice_.pk, "manifest.jsonl"),
            "manifest_csv": absolute("api:slice-manifest", slice_.pk, "manifest.csv"),
            "croissant": absolute("api:slice-manifest", slice_.pk, "croissant.json"),
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
    download_url = serializers.URLField(allow_null=True, help_text="Expiring; null for withdrawn items.")


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
    request_id = serializers.CharField(required=False, help_text="Only on an unexpected error (500): the id it is "
                                                                 "logged under, also sent as X-Request-ID.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()
