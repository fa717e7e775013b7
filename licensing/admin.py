from django.contrib import admin

from licensing.models import Asset, Contributor, ContributorConsentChange


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
    search_fields = ["title", "sha256"]
    raw_id_fields = ["contributor"]
    show_full_result_count = False
