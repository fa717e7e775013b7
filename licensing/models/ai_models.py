"""AI models a licensee trained, their versions, and which slices trained each version.

The provenance chain every work answers to: contributor → asset → slice item → slice
→ licence → declaration → model version. Declarations are the licensee's word, kept as
given: once a version is released they are never changed or deleted, and a correction
is a new declaration that supersedes the old one (both stay on the record).
"""
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Modality(models.TextChoices):
    IMAGE = "image", _("Images")
    VIDEO = "video", _("Video")
    BOTH = "both", _("Images and video")


class Disclosure(models.TextChoices):
    """What a commercial offer asks the licensee to disclose about the models its slices trained."""

    PUBLIC = "public", _("A public model page")
    LICENSOR = "licensor", _("To the licensor only")
    NONE = "none", _("No disclosure")


class AIModel(models.Model):
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="ai_models")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80,
                            help_text=_("Its address on the public model page; unique in your organisation."))
    modality = models.CharField(max_length=5, choices=Modality.choices)
    purpose = models.TextField(help_text=_("What the model does and what it is for."))
    is_public = models.BooleanField(
        _("public model"), default=False,
        help_text=_("A public model has a page anyone can read, saying which licensed works trained it."))
    model_card_url = models.URLField(_("model card"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [models.UniqueConstraint(fields=["organisation", "slug"], name="aimodel_slug_per_org")]

    def __str__(self):
        return self.name


class ModelVersion(models.Model):
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="versions")
    label = models.CharField(max_length=60, help_text=_("For example 1.0 or 2026-03."))
    trained_from = models.DateField(null=True, blank=True)
    trained_to = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    released = models.BooleanField(default=False)
    released_at = models.DateTimeField(null=True, blank=True)
    # The provider's own answers to the EU AI Act summary's fields, by field id; the fields Tessera
    # fills from its records are never stored here.
    eu_summary_answers = models.JSONField(default=dict, blank=True)
    eu_summary_updated_at = models.DateTimeField(null=True, blank=True)
    # What the declarations in force cover, counted whenever they change (declarations are append-only
    # and slices never gain items, so only withdrawals move afterwards; those are counted live):
    # {"licences": [{"licence", "phase", counts…}], "total": {counts…}}.
    training_counts = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model", "-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["model", "label"], name="modelversion_label_per_model")]

    def __str__(self):
        return f"{self.model} {self.label}"

    @property
    def versioned_name(self):
        return f"{self.model.name} {self.label}"


class TrainingDeclaration(models.Model):
    """"This version was trained on this slice": all of it, or the listed items (DeclaredItem rows).

    A whole-slice declaration covers the items not withdrawn when it was made: works whose
    contributors had opted out by then were left out of the training. It no longer counts
    once another declaration supersedes it.
    """

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="declarations")
    slice = models.ForeignKey("licensing.Slice", on_delete=models.PROTECT, related_name="declarations")
    whole_slice = models.BooleanField(default=True)
    supersedes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="superseded_by")
    item_count = models.PositiveIntegerField(help_text=_("Items the declaration covered when it was made."))
    left_out_count = models.PositiveIntegerField(
        default=0, help_text=_("Items of a whole slice left out: withdrawn before the declaration."))
    note = models.CharField(max_length=300, blank=True)
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    api_key = models.ForeignKey("accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The moment that splits a whole slice's items into trained on and left out: set by the service.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["version", "slice"], name="declaration_version_slice_idx")]

    def __str__(self):
        return f"{self.version} trained on {self.slice}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError("Training declarations are append-only: declare again, superseding this one.")
        super().save(*args, **kwargs)


class DeclaredItem(models.Model):
    """One slice item of a subset declaration."""

    declaration = models.ForeignKey(TrainingDeclaration, on_delete=models.CASCADE, related_name="items",
                                    db_index=False)
    slice_item = models.ForeignKey("licensing.SliceItem", on_delete=models.PROTECT, related_name="declarations")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["declaration", "slice_item"], name="declared_item_unique")]

    def __str__(self):
        return f"{self.slice_item_id} in declaration {self.declaration_id}"


# --- Which items a declaration covers, in SQL ---------------------------------------
# Services count them when declarations change (the version's training_counts); selectors read
# provenance through the same definition, so "trained on" means one thing everywhere.

TABLES = {"declaration": "licensing.TrainingDeclaration", "declared": "licensing.DeclaredItem",
          "item": "licensing.SliceItem", "slice": "licensing.Slice", "asset": "licensing.Asset",
          "version": "licensing.ModelVersion"}


def table_of(name):
    return apps.get_model(TABLES[name])._meta.db_table


def counted_items_cte(where_version, contributor_filter="", *, only_withdrawn=False):
    """(CTE) `used`: one row per item a declaration covers — (version_id, asset_id, slice_id, withdrawn_at,
    counted), counted = 0 for the items of a whole slice left out because they were withdrawn first.
    only_withdrawn keeps the withdrawn items alone: few, and found through sliceitem_withdrawn_idx."""
    if only_withdrawn:
        contributor_filter += " AND i.withdrawn_at IS NOT NULL"
    return f"""
        active AS (
            SELECT d.id, d.version_id, d.slice_id, d.whole_slice, d.created_at
            FROM {table_of('declaration')} d JOIN {table_of('version')} v ON v.id = d.version_id
            WHERE {where_version}
              AND NOT EXISTS (SELECT 1 FROM {table_of('declaration')} n WHERE n.supersedes_id = d.id)
        ),
        used AS (
            SELECT d.version_id, i.asset_id, i.slice_id, i.withdrawn_at,
                   CASE WHEN i.withdrawn_at IS NOT NULL AND i.withdrawn_at <= d.created_at THEN 0 ELSE 1 END
                       AS counted
            FROM active d JOIN {table_of('item')} i ON i.slice_id = d.slice_id
            WHERE d.whole_slice {contributor_filter}
            UNION ALL
            SELECT d.version_id, i.asset_id, i.slice_id, i.withdrawn_at, 1
            FROM active d JOIN {table_of('declared')} di ON di.declaration_id = d.id
                 JOIN {table_of('item')} i ON i.id = di.slice_item_id
            WHERE NOT d.whole_slice {contributor_filter}
        )
    """


def training_counts_sql(cte, *, by_licence):
    """The counts of the `used` items: per licence and phase, or (by_licence=False) across them.

    Hash aggregates in three steps rather than COUNT(DISTINCT …), which sorts the items once per
    count: one row per asset first (an asset in two declared slices counts once, as trained if
    either trained it), then per contributor (in asset order, so the asset rows are read in the order
    they lie), then the totals."""
    keys = "s.licence_id, s.phase, " if by_licence else ""
    outer = "p.licence_id, p.phase, " if by_licence else ""
    final = "licence_id, phase, " if by_licence else ""
    return f"""
        WITH {cte},
        per_asset AS (
            SELECT {keys}u.asset_id,
                   MAX(u.counted) AS counted,
                   MAX(CASE WHEN u.counted = 1 AND u.withdrawn_at IS NOT NULL THEN 1 ELSE 0 END) AS withdrawn,
                   MIN(s.finished_at) AS first_delivered, MAX(s.finished_at) AS last_delivered
            FROM used u JOIN {table_of('slice')} s ON s.id = u.slice_id
            GROUP BY {keys}u.asset_id
        ),
        per_contributor AS (
            SELECT {outer}a.contributor_id,
                   SUM(CASE WHEN p.counted = 1 AND a.kind = 'image' THEN 1 ELSE 0 END) AS images,
                   SUM(CASE WHEN p.counted = 1 AND a.kind = 'video' THEN 1 ELSE 0 END) AS videos,
                   SUM(CASE WHEN p.counted = 1 AND a.kind = 'video' THEN COALESCE(a.duration_seconds, 0) ELSE 0 END)
                       AS video_seconds,
                   SUM(CASE WHEN p.counted = 1 THEN a.bytes ELSE 0 END) AS bytes,
                   MAX(p.counted) AS trained,
                   SUM(1 - p.counted) AS left_out,
                   SUM(p.withdrawn) AS withdrawn,
                   MIN(CASE WHEN p.counted = 1 THEN p.first_delivered END) AS first_delivered,
                   MAX(CASE WHEN p.counted = 1 THEN p.last_delivered END) AS last_delivered
            FROM per_asset p JOIN {table_of('asset')} a ON a.id = p.asset_id
            GROUP BY {outer}a.contributor_id
        )
        SELECT {final}SUM(images), SUM(videos), SUM(video_seconds), SUM(bytes), SUM(trained), SUM(left_out),
               SUM(withdrawn), MIN(first_delivered), MAX(last_delivered)
        FROM per_contributor
        {"GROUP BY licence_id, phase ORDER BY licence_id, phase" if by_licence else ""}
    """


def withdrawn_after_sql(cte, *, by_licence):
    """Works trained on and withdrawn since: the one count that changes after the declarations are made."""
    keys = "s.licence_id, s.phase, " if by_licence else ""
    return f"""
        WITH {cte}
        SELECT {keys}COUNT(DISTINCT u.asset_id)
        FROM used u JOIN {table_of('slice')} s ON s.id = u.slice_id
        WHERE u.counted = 1
        {"GROUP BY s.licence_id, s.phase" if by_licence else ""}
    """


def count_row(row):
    """A row of training_counts_sql as JSON can store it."""
    counts = dict(zip(TRAINING_COUNT_KEYS, row))
    for key in ("images", "videos", "bytes", "contributors", "left_out", "withdrawn_after"):
        counts[key] = int(counts[key] or 0)
    counts["video_seconds"] = float(counts["video_seconds"] or 0)
    for key in ("first_delivered", "last_delivered"):
        value = counts[key]
        counts[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return counts


TRAINING_COUNT_KEYS = ("images", "videos", "video_seconds", "bytes", "contributors", "left_out", "withdrawn_after",
               "first_delivered", "last_delivered")
