from django.db import models
from django.utils.translation import gettext_lazy as _


class PreviewStatus(models.TextChoices):
    READY = "ready", _("Ready")
    PLACEHOLDER = "placeholder", _("No file: placeholder")
    FAILED = "failed", _("Failed")


class AssetPreview(models.Model):
    """The small, watermarked pictures the catalogue shows of a work: a thumbnail and a preview
    (for a video, a poster frame and a few seconds at low resolution). They are made by a job
    from the original, are served to anyone, and never stand in for the original, which stays
    behind a licence's signed links."""

    asset = models.OneToOneField("licensing.Asset", primary_key=True, on_delete=models.CASCADE,
                                 related_name="preview")
    status = models.CharField(max_length=12, choices=PreviewStatus.choices)
    colour = models.CharField(max_length=7, default="#d1d5db",
                              help_text=_("The original's dominant colour, shown while the thumbnail loads."))
    thumbnail_key = models.CharField(max_length=300, blank=True)
    thumbnail_width = models.PositiveIntegerField(default=0)
    thumbnail_height = models.PositiveIntegerField(default=0)
    preview_key = models.CharField(max_length=300, blank=True)
    preview_mime = models.CharField(max_length=40, blank=True)
    poster_key = models.CharField(max_length=300, blank=True, help_text=_("Videos only: the frame shown before play."))
    source_sha256 = models.CharField(max_length=64, blank=True,
                                     help_text=_("The original the previews were made from."))
    failure = models.TextField(blank=True)
    made_at = models.DateTimeField()

    class Meta:
        verbose_name = "asset preview"

    def __str__(self):
        return f"Preview of {self.asset_id} ({self.status})"

    @property
    def version(self):
        """Part of every preview URL: a new preview gets a new URL, so a year-long cache never shows an old one."""
        return int(self.made_at.timestamp())
