"""Delivery of a ready slice to training pipelines: its WebDataset tar shards.

A slice's shards are cut in item-position order. When items are withdrawn, only the shards
whose position range held them are written again, as a new version of the same shard number;
the old version is kept as a row (its links answer 410 naming the new index) and its file is
deleted, since it holds works that may no longer be delivered.
"""
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ShardSetState(models.TextChoices):
    PENDING = "pending", _("Pending")  # the job that writes the shards has not run yet
    READY = "ready", _("Ready")


class ShardSet(models.Model):
    """What a slice's shard index says about the slice as a whole. One per slice, locked by the job
    that writes its shards, so two writes of one slice's shards happen one after the other."""

    slice = models.OneToOneField("licensing.Slice", on_delete=models.CASCADE, related_name="shard_set")
    state = models.CharField(max_length=10, choices=ShardSetState.choices, default=ShardSetState.PENDING)
    builds = models.PositiveIntegerField(default=0, help_text=_("How many times shards were written for this slice."))
    items = models.PositiveIntegerField(default=0, help_text=_("Items in the current shards."))
    bytes = models.BigIntegerField(default=0, help_text=_("Bytes of the current shards' tar files."))
    left_out_without_file = models.PositiveIntegerField(
        default=0, help_text=_("Metadata-only catalogue rows: listed in the manifest, no file to put in a shard."))
    left_out_missing_file = models.PositiveIntegerField(
        default=0, help_text=_("Items whose file was not found in storage when the shards were written."))
    left_out_withdrawn = models.PositiveIntegerField(default=0,
                                                     help_text=_("Withdrawn items, left out of every shard."))
    built_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Shards of slice {self.slice_id} ({self.state})"


class Shard(models.Model):
    """One tar file of a slice: members `<asset_id>.<ext>` and `<asset_id>.json`, in position order."""

    slice = models.ForeignKey("licensing.Slice", on_delete=models.CASCADE, related_name="shards")
    number = models.PositiveIntegerField(help_text=_("0, 1, 2… in item-position order."))
    version = models.PositiveIntegerField(default=1, help_text=_("Raised each time the shard is written again."))
    first_position = models.PositiveIntegerField()
    last_position = models.PositiveIntegerField()
    storage_key = models.CharField(max_length=500)
    bytes = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    item_count = models.PositiveIntegerField()
    withdrawn_in_range = models.PositiveIntegerField(
        default=0, help_text="Withdrawn items in the position range when it was written: a later withdrawal "
                             "in the range raises the count and makes the shard stale.")
    missing_files = models.PositiveIntegerField(
        default=0, help_text=_("Items in the range whose file was not found in storage when it was written."))
    created_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slice", "number", "version"]
        constraints = [
            models.UniqueConstraint(fields=["slice", "number", "version"], name="shard_version_unique"),
            models.UniqueConstraint(fields=["slice", "number"], condition=Q(superseded_at__isnull=True),
                                    name="shard_one_current_version"),
        ]

    def __str__(self):
        return f"Shard {self.number} v{self.version} of slice {self.slice_id}"

    @property
    def is_current(self):
        return self.superseded_at is None

    @property
    def filename(self):
        return f"shard-{self.number:06d}.tar"


class SliceManifest(models.Model):
    """A ready slice's JSONL and CSV manifests, written once to storage by the delivery job (with the shards)
    and served as files: sendfile, Range and ETag like every download, instead of being built per request.

    The item links in the files carry a token without a timestamp, naming `link_key` (downloads.manifest_token),
    so the bytes are the same for every licensee request and hold no per-request secret. The key is rotated
    each time the files are written again (a withdrawal) and whenever the licence's access is revoked; a
    rewrite keeps the previous key working for SLICE_LINK_TTL_SECONDS, as a timestamped link would, so a
    pipeline half way through the old manifest is not cut off (withdrawn items still answer 410); a
    revocation ends it at once. Files are named by version, so a link never points at a half-written one."""

    slice = models.OneToOneField("licensing.Slice", on_delete=models.CASCADE, related_name="manifest_files")
    version = models.PositiveIntegerField(default=0, help_text="Raised each time the files are written.")
    link_key = models.CharField(max_length=32, blank=True, default="",
                                help_text="In every item link of the files written now; empty: none is valid.")
    previous_link_key = models.CharField(max_length=32, blank=True, default="")
    previous_link_key_until = models.DateTimeField(null=True, blank=True)
    stale = models.BooleanField(default=False, help_text="Set when access was revoked: written again by the job.")
    withdrawn_items = models.PositiveIntegerField(
        default=0, help_text="Withdrawn items of the slice when written: one more makes the files stale.")
    jsonl_key = models.CharField(max_length=500, blank=True, default="")
    jsonl_bytes = models.BigIntegerField(default=0)
    jsonl_sha256 = models.CharField(max_length=64, blank=True, default="")
    csv_key = models.CharField(max_length=500, blank=True, default="")
    csv_bytes = models.BigIntegerField(default=0)
    csv_sha256 = models.CharField(max_length=64, blank=True, default="")
    written_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Manifests of slice {self.slice_id} (version {self.version})"

    def file_of(self, fmt):
        """(storage key, bytes, sha256) of a written format, or None."""
        if fmt == "manifest.jsonl" and self.jsonl_key:
            return self.jsonl_key, self.jsonl_bytes, self.jsonl_sha256
        if fmt == "manifest.csv" and self.csv_key:
            return self.csv_key, self.csv_bytes, self.csv_sha256
        return None
