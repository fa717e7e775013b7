"""AI models a licensee trained, their versions, and which slices trained each version.

The provenance chain every work answers to: contributor → asset → slice item → slice
→ licence → declaration → model version. Declarations are the licensee's word, kept as
given: once a version is released they are never changed or deleted, and a correction
is a new declaration that supersedes the old one (both stay on the record).
"""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class Modality(models.TextChoices):
    IMAGE = "image", "Images"
    VIDEO = "video", "Video"
    BOTH = "both", "Images and video"


class Disclosure(models.TextChoices):
    """What a commercial offer asks the licensee to disclose about the models its slices trained."""

    PUBLIC = "public", "A public model page"
    LICENSOR = "licensor", "To the licensor only"
    NONE = "none", "No disclosure"


class AIModel(models.Model):
    organisation = models.ForeignKey("accounts.Organisation", on_delete=models.PROTECT, related_name="ai_models")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, help_text="Its address on the public model page; unique in your organisation.")
    modality = models.CharField(max_length=5, choices=Modality.choices)
    purpose = models.TextField(help_text="What the model does and what it is for.")
    is_public = models.BooleanField(
        "public model", default=False,
        help_text="A public model has a page anyone can read, saying which licensed works trained it.")
    model_card_url = models.URLField("model card", blank=True)
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
    label = models.CharField(max_length=60, help_text="For example 1.0 or 2026-03.")
    trained_from = models.DateField(null=True, blank=True)
    trained_to = models.DateField(null=True, blank=True)
    note = models.TextField(blank=True)
    released = models.BooleanField(default=False)
    released_at = models.DateTimeField(null=True, blank=True)
    # The provider's own answers to the EU AI Act summary's fields, by field id; the fields Tessera
    # fills from its records are never stored here.
    eu_summary_answers = models.JSONField(default=dict, blank=True)
    eu_summary_updated_at = models.DateTimeField(null=True, blank=True)
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
    item_count = models.PositiveIntegerField(help_text="Items the declaration covered when it was made.")
    left_out_count = models.PositiveIntegerField(
        default=0, help_text="Items of a whole slice left out: withdrawn before the declaration.")
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
