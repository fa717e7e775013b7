from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Every work's rank is drawn from [0, RANK_SPACE); a slice starts at a point of it (selectors/slices.py).
RANK_SPACE = 2**63


class CatalogueRank(models.Func):
    """A whole number spread uniformly over [0, 2**63), as a column default: the rank of a new work.

    Drawn by the database as the row is written, so every way a work enters the catalogue
    (a feed's upsert, generate_catalog's COPY, the demo, a test factory) gives it one without
    code of its own. On PostgreSQL it is a hash of the next value of a sequence of its own:
    unrelated to the id and to every other column, so the works of any filter spread evenly
    over the range, and, unlike random(), not volatile, which would make every COPY into the
    table insert row by row. A fresh catalogue loaded in the same order gets the same ranks."""

    output_field = models.BigIntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        # SQLite's random() is a signed 64-bit integer: its sign bit cleared, 63 uniform bits.
        return "(random() & 9223372036854775807)", []

    def as_postgresql(self, compiler, connection, **extra_context):
        return f"(hashint8extended(nextval('{RANK_SEQUENCE}'), 0) & 9223372036854775807)", []


RANK_SEQUENCE = "licensing_asset_rank_seq"


class MediaKind(models.TextChoices):
    """The kinds of work the catalogue holds: the one definition every layer uses."""

    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")

    @classmethod
    def plural_choices(cls):
        """For asking which kinds someone wants: "Images", "Videos"."""
        return [(cls.IMAGE, _("Images")), (cls.VIDEO, _("Videos"))]

class Contributor(models.Model):
    """A photographer or film maker whose works are in the catalogue."""

    # The licensor's own id for the contributor, as its catalogue feeds name them (unique: Meta).
    external_id = models.CharField(max_length=100, null=True, blank=True)
    display_name = models.CharField(max_length=200)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="contributor"
    )
    opted_out = models.BooleanField(_("opted out of AI training"), default=False)
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
        # A constraint rather than unique=True: on PostgreSQL that would add a second, pattern-matching
        # index, which feeds only pay for.
        constraints = [models.UniqueConstraint(fields=["external_id"], name="contributor_external_id_unique")]

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


class TrainingSignal(models.TextChoices):
    """What a file's own C2PA/CAWG training-and-mining assertion says about AI training."""

    NONE = "", _("None in the file")
    ALLOWED = "allowed", _("Allowed")
    NOT_ALLOWED = "notAllowed", _("Not allowed")
    CONSTRAINED = "constrained", _("Constrained")


class Asset(models.Model):
    Kind = MediaKind

    # The licensor's own id for the work: catalogue feeds upsert by it (unique: Meta). Empty for rows made
    # otherwise.
    external_id = models.CharField(max_length=100, null=True, blank=True)
    collection = models.ForeignKey("licensing.Collection", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="works")

    # Indexed by asset_contributor_kind_idx, which leads with the contributor.
    contributor = models.ForeignKey(Contributor, on_delete=models.PROTECT, related_name="assets", db_index=False)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    title = models.CharField(max_length=300)
    tags = models.JSONField(default=list, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    duration_seconds = models.FloatField(null=True, blank=True, help_text=_("Videos only."))
    bytes = models.BigIntegerField()
    mime_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    storage_key = models.CharField(
        max_length=500, blank=True, help_text="Path in the media storage; empty for metadata-only rows."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(null=True, blank=True, help_text=_("When a feed last changed the row."))

    # Taken down for legal reasons: withdrawn from every slice, research and commercial.
    taken_down_at = models.DateTimeField(null=True, blank=True)
    takedown_reason = models.TextField(blank=True, default="", db_default="")

    # Rights signals read from the file by the verification job.
    training_signal = models.CharField(max_length=12, choices=TrainingSignal.choices, blank=True,
                                       default="", db_default="")
    training_signal_text = models.TextField(blank=True, default="", db_default="",
                                            help_text=_("The assertion's constraint text, or why."))
    # No index: almost always empty, and every feed row would pay for it.
    training_signal_cleared_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                                   on_delete=models.SET_NULL, related_name="+", db_index=False)
    training_signal_cleared_at = models.DateTimeField(null=True, blank=True)
    # Slice selection reads this one flag: set for notAllowed, and for constrained until staff clear it.
    training_reserved = models.BooleanField(default=False, db_default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_problems = models.TextField(blank=True, default="", db_default="",
                                             help_text=_("What the file says that the row does not."))
    # The work's fixed place in the order slices draw from: random, and never changed.
    rank = models.BigIntegerField(db_default=CatalogueRank(), editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["kind", "width", "height"], name="asset_kind_resolution_idx"),
            models.Index(fields=["duration_seconds"], condition=models.Q(kind="video"), name="asset_video_duration_idx"),
            models.Index(fields=["contributor", "kind"], name="asset_contributor_kind_idx"),
            # What a royalty split reads of each granted work, without its row: an index-only scan.
            models.Index(fields=["id"], include=["contributor", "kind"], name="asset_payee_idx"),
            # A seeded slice is a walk along this index from the seed's point (selectors/slices.py). It
            # holds every column the walk filters on and returns, so the walk reads only index
            # pages, which lie in rank order: k works cost about k entries however large the
            # catalogue is. The filtered columns are keys, so the index checks them itself, entry
            # by entry, without handing each entry up first. Works that can never be granted are
            # left out of it.
            models.Index(fields=["rank", "id", "kind", "width", "height", "duration_seconds"], name="asset_rank_idx",
                         include=["bytes", "contributor", "collection", "tags"],
                         condition=models.Q(taken_down_at__isnull=True, training_reserved=False)),
        ]
        constraints = [models.UniqueConstraint(fields=["external_id"], name="asset_external_id_unique")]

    def __str__(self):
        return self.title

    @property
    def has_file(self):
        return bool(self.storage_key)

    @property
    def reserved_from_training(self):
        """Whether a rightsholder reserved this work from AI training (an opt-out, a file's signal, a takedown)."""
        return bool(self.training_reserved or self.taken_down_at or self.contributor.opted_out)

class IngestStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    VERIFYING = "verifying", _("Verifying files")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class IngestRun(models.Model):
    """One catalogue feed brought in: its counts, its progress, and the rows it refused."""

    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        JSONL = "jsonl", _("JSON Lines")

    file_name = models.CharField(max_length=300)
    storage_key = models.CharField(max_length=500)
    format = models.CharField(max_length=5, choices=Format.choices)
    status = models.CharField(max_length=10, choices=IngestStatus.choices, default=IngestStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    files_checked = models.PositiveIntegerField(default=0)
    files_mismatched = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Ingest {self.pk} of {self.file_name}"

    @property
    def is_finished(self):
        return self.status in (IngestStatus.DONE, IngestStatus.FAILED)


class IngestRejection(models.Model):
    """A feed row that was not taken, with its line in the file and why."""

    run = models.ForeignKey(IngestRun, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField()
    external_id = models.CharField(max_length=200, blank=True)
    reason = models.TextField()

    class Meta:
        ordering = ["run", "line", "id"]

    def __str__(self):
        return f"line {self.line}: {self.reason}"
