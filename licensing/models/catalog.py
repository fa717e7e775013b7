from django.conf import settings
from django.db import models


class MediaKind(models.TextChoices):
    """The kinds of work the catalogue holds: the one definition every layer uses."""

    IMAGE = "image", "Image"
    VIDEO = "video", "Video"

    @classmethod
    def plural_choices(cls):
        """For asking which kinds someone wants: "Images", "Videos"."""
        return [(cls.IMAGE, "Images"), (cls.VIDEO, "Videos")]

class Contributor(models.Model):
    """A photographer or film maker whose works are in the catalogue."""

    display_name = models.CharField(max_length=200)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="contributor"
    )
    opted_out = models.BooleanField("opted out of AI training", default=False)
    opt_out_changed_at = models.DateTimeField(null=True, blank=True)
    public_profile = models.BooleanField(
        default=False, help_text="May Tessera name this contributor on public transparency pages?"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["display_name"]
        indexes = [
            # Slice selection joins on the few contributors who opted out.
            models.Index(fields=["id"], condition=models.Q(opted_out=True), name="contributor_opted_out_idx"),
        ]

    def __str__(self):
        return self.display_name


class ContributorConsentChange(models.Model):
    """History of a contributor's AI-training choice: appended on every change, never edited."""

    contributor = models.ForeignKey(Contributor, on_delete=models.CASCADE, related_name="consent_changes")
    opted_out = models.BooleanField()
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return f"{self.contributor}: {'opted out' if self.opted_out else 'opted in'} at {self.changed_at:%Y-%m-%d}"


class Asset(models.Model):
    Kind = MediaKind

    # Indexed by asset_contributor_kind_idx, which leads with the contributor.
    contributor = models.ForeignKey(Contributor, on_delete=models.PROTECT, related_name="assets", db_index=False)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    title = models.CharField(max_length=300)
    tags = models.JSONField(default=list, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    duration_seconds = models.FloatField(null=True, blank=True, help_text="Videos only.")
    bytes = models.BigIntegerField()
    mime_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(
        max_length=500, blank=True, help_text="Path in the media storage; empty for metadata-only rows."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["kind", "width", "height"], name="asset_kind_resolution_idx"),
            models.Index(fields=["duration_seconds"], condition=models.Q(kind="video"), name="asset_video_duration_idx"),
            models.Index(fields=["contributor", "kind"], name="asset_contributor_kind_idx"),
        ]

    def __str__(self):
        return self.title

    @property
    def has_file(self):
        return bool(self.storage_key)
