from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SliceStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    BUILDING = "building", _("Building")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class Slice(models.Model):
    """A set of catalogue assets granted to one licence, built by a job from the filters asked for.

    The row is the job's state: queued, building, ready or failed. Its reservation
    (assets and one slice) is held on the licence from the request until the build
    ends, when what was not used is given back.
    """

    licence = models.ForeignKey("licensing.Licence", on_delete=models.PROTECT, related_name="slices")
    number = models.PositiveIntegerField(help_text=_("1, 2, 3… within the licence."))
    phase = models.CharField(max_length=12, help_text=_("The licence's phase when the slice was granted."))
    filters = models.JSONField(default=dict)
    seed = models.BigIntegerField()
    size_requested = models.PositiveIntegerField()
    reserved_assets = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=SliceStatus.choices, default=SliceStatus.QUEUED)
    failure_reason = models.TextField(blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    asset_count = models.PositiveIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["licence", "number"], name="slice_number_per_licence")]
        indexes = [models.Index(fields=["status", "created_at"], name="slice_status_idx")]

    def __str__(self):
        return f"Slice {self.number} of {self.licence}"

    @property
    def is_finished(self):
        return self.status in (SliceStatus.READY, SliceStatus.FAILED)

    def describe_selection(self):
        f = self.filters
        if f.get("whole_collections"):
            return ("Every work of the collections the commercial offer covers, with no size cap, except works "
                    "taken down, reserved from AI training or whose contributor opted out.")
        parts = [{"image": "images", "video": "videos"}.get(f.get("kind"), "images and videos")]
        if f.get("min_width") and f.get("min_height"):
            parts.append(f"at least {f['min_width']}×{f['min_height']} px")
        elif f.get("min_width"):
            parts.append(f"at least {f['min_width']} px wide")
        elif f.get("min_height"):
            parts.append(f"at least {f['min_height']} px high")
        if f.get("min_duration") is not None or f.get("max_duration") is not None:
            parts.append(f"video duration {f.get('min_duration') or 0}–{f.get('max_duration') or '∞'} s")
        if f.get("tags"):
            parts.append("tagged " + " or ".join(f["tags"]))
        return (
            f"Up to {self.size_requested} {', '.join(parts)}, from contributors who have not opted out of AI training, "
            f"excluding assets already granted to this licence, in a pseudo-random order fixed by seed {self.seed}."
        )


class SliceItem(models.Model):
    """One asset granted in a slice. `licence` repeats the slice's licence so that "already granted
    to this licence" is one index probe per candidate asset. A licence is granted a work once: every
    selection leaves out what the licence holds (withdrawn items included), and builds of one licence
    run one at a time under its row lock; the constraint says so to the database."""

    # The composite indexes below lead with each of these columns; a second index per key would
    # only slow the slice build's INSERT. `licence` copies the slice's licence, which the slice's
    # key already guarantees. The asset key is checked by a trigger on asset deletes (migration
    # 0010) instead of on every granted row: the per-row check locked each picked asset and cost
    # a 100,000-asset build more than its whole selection. The slice key likewise, by a trigger on
    # slice deletes (migration 0018): items are written only by the build of a slice it holds
    # locked, and the check of each at commit cost a build as much as writing the items.
    slice = models.ForeignKey(Slice, on_delete=models.CASCADE, related_name="items", db_index=False,
                              db_constraint=False)
    licence = models.ForeignKey("licensing.Licence", on_delete=models.PROTECT, related_name="+", db_index=False,
                                db_constraint=False)
    asset = models.ForeignKey("licensing.Asset", on_delete=models.PROTECT, related_name="grants", db_index=False,
                              db_constraint=False)
    position = models.PositiveIntegerField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # Why it was withdrawn, as the licensee is told: "opt_out" for a contributor's opt-out, else the
    # licensor's reason (a takedown, a file's own training assertion).
    withdrawal_reason = models.TextField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["slice", "position"]
        constraints = [
            # Also the index of "already granted to this licence", and of a slice's item by its work
            # (with the slice's licence). Unique per licence rather than per slice, it implies the
            # latter and spares the build a fifth index to write.
            models.UniqueConstraint(fields=["licence", "asset"], name="slice_item_unique_licence_asset"),
            models.UniqueConstraint(fields=["slice", "position"], name="slice_item_unique_position"),
        ]
        indexes = [
            models.Index(fields=["asset"], name="sliceitem_asset_idx"),
            # The few withdrawn items of a slice, for the counts of what trained a model, and of a licence in
            # its withdrawals feed's cursor order. Building a slice inserts none (withdrawn_at is empty), so
            # neither costs the build anything.
            models.Index(fields=["slice"], condition=models.Q(withdrawn_at__isnull=False),
                         name="sliceitem_withdrawn_idx"),
            models.Index(fields=["licence", "withdrawn_at", "id"], name="sliceitem_withdrawals_feed_idx",
                         condition=models.Q(withdrawn_at__isnull=False)),
        ]

    def __str__(self):
        return f"{self.asset_id} in {self.slice_id}"
