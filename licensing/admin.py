from django.contrib import admin

from licensing import jobs
from licensing.models import (
    AIModel,
    Asset,
    AuditEvent,
    Collection,
    Contributor,
    ContributorConsentChange,
    IngestRun,
    Invoice,
    Job,
    Licence,
    LicenceEvent,
    ModelVersion,
    Payment,
    RoyaltyEntry,
    RoyaltyPool,
    Shard,
    Slice,
    TrainingDeclaration,
    WebhookDelivery,
    WebhookEndpoint,
)
from licensing.services.previews import previews_schedule


class ConsentChangeInline(admin.TabularInline):
    model = ContributorConsentChange
    extra = 0
    can_delete = False
    readonly_fields = ["opted_out", "changed_at", "changed_by", "note"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Contributor)
class ContributorAdmin(admin.ModelAdmin):
    list_display = ["display_name", "user", "opted_out", "opt_out_changed_at", "public_profile"]
    list_filter = ["opted_out", "public_profile"]
    search_fields = ["display_name", "user__email"]
    readonly_fields = ["opted_out", "opt_out_changed_at"]
    raw_id_fields = ["user"]
    inlines = [ConsentChangeInline]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "kind", "width", "height", "bytes", "contributor"]
    list_filter = ["kind"]
    search_fields = ["title", "sha256", "external_id"]
    raw_id_fields = ["contributor", "collection"]
    readonly_fields = ["taken_down_at", "takedown_reason", "training_signal", "training_signal_text",
                       "training_reserved", "training_signal_cleared_at", "training_signal_cleared_by"]
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change or {"storage_key", "sha256"} & set(form.changed_data):
            previews_schedule(asset_ids=[obj.pk])


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists everything; changes go through the workflow and the pages, which keep the audit trail."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LicenceEventInline(admin.TabularInline):
    model = LicenceEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "actor_label", "action", "from_state", "to_state", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Licence)
class LicenceAdmin(ReadOnlyAdmin):
    list_display = ["id", "project_title", "organisation", "state", "phase", "used_assets", "max_assets", "updated_at"]
    list_filter = ["state", "phase"]
    search_fields = ["project_title", "organisation__name"]
    inlines = [LicenceEventInline]


@admin.register(Slice)
class SliceAdmin(ReadOnlyAdmin):
    list_display = ["id", "licence", "number", "phase", "status", "asset_count", "total_bytes", "created_at"]
    list_filter = ["status", "phase"]


@admin.register(Shard)
class ShardAdmin(ReadOnlyAdmin):
    list_display = ["slice", "number", "version", "item_count", "bytes", "sha256", "created_at", "superseded_at"]
    list_filter = ["superseded_at"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ["url", "organisation", "active", "created_at"]
    # The signing secrets are the organisation's: not shown to staff.
    exclude = ["secret", "previous_secret"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["message", "endpoint", "state", "attempts", "last_attempt_at"]
    list_filter = ["state"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["display_number", "kind", "organisation", "status", "gross_total", "currency", "issued_at"]
    list_filter = ["status", "kind", "series"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "amount", "currency", "received_on", "reference", "method"]


@admin.register(RoyaltyPool)
class RoyaltyPoolAdmin(ReadOnlyAdmin):
    list_display = ["id", "licence", "amount", "currency", "contributor_count", "created_at"]


@admin.register(RoyaltyEntry)
class RoyaltyEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "contributor", "licence", "amount", "currency", "reason", "created_at"]
    list_filter = ["reason"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "target_type", "target_id", "actor", "api_key", "organisation"]
    list_filter = ["action"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """The outbox: what waits, what failed and why. Staff retry failed jobs from here."""

    list_display = ["id", "name", "state", "attempts", "created_at", "run_after", "dispatched_at", "done_at",
                    "short_error"]
    list_filter = ["state", "name"]
    search_fields = ["name", "dedupe_key", "last_error"]
    readonly_fields = [f.name for f in Job._meta.fields]
    actions = ["retry_jobs"]

    @admin.display(description="Last error")
    def short_error(self, job):
        return job.last_error[:120]

    @admin.action(description="Retry the selected failed jobs now")
    def retry_jobs(self, request, queryset):
        handed = jobs.retry(job_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{handed} failed job{'s' if handed != 1 else ''} handed to the workers again.")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TrainingDeclarationInline(admin.TabularInline):
    model = TrainingDeclaration
    fk_name = "version"
    extra = 0
    can_delete = False
    fields = readonly_fields = ["slice", "whole_slice", "item_count", "left_out_count", "supersedes", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(AIModel)
class AIModelAdmin(ReadOnlyAdmin):
    list_display = ["name", "organisation", "modality", "is_public", "created_at"]
    list_filter = ["is_public", "modality"]
    search_fields = ["name", "organisation__name"]


@admin.register(ModelVersion)
class ModelVersionAdmin(ReadOnlyAdmin):
    list_display = ["model", "label", "released", "released_at"]
    list_filter = ["released"]
    inlines = [TrainingDeclarationInline]


@admin.register(IngestRun)
class IngestRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "file_name", "status", "rows", "created", "changed", "unchanged", "rejected", "created_at"]
    list_filter = ["status"]


@admin.register(Collection)
class CollectionAdmin(ReadOnlyAdmin):
    list_display = ["name", "owner_organisation", "owner_contributor", "created_at"]
    search_fields = ["name"]
