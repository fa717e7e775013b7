"""Usage reports: what a commercial licensee's model version earned, output by output, and who it drew on.

A report is a file (JSONL, or CSV with a JSON column of scores) kept in the default storage and
processed by a job. It is accepted whole or not at all: a report with one bad line books nothing
and lists every rejected line. Once processed it issues a usage invoice; the invoice's payments
are split between the contributors by the Shapley values of their scores (licensing/shapley.py),
and the part the scores do not explain falls back to the licence's pro-rata split.
"""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class UsageReportStatus(models.TextChoices):
    RECEIVED = "received", _("Received")
    PROCESSING = "processing", _("Processing")
    PROCESSED = "processed", _("Processed")
    REJECTED = "rejected", _("Rejected")


class UsageReportFormat(models.TextChoices):
    JSONL = "jsonl", _("JSON Lines")
    CSV = "csv", _("CSV")


class UsageReport(models.Model):
    version = models.ForeignKey("licensing.ModelVersion", on_delete=models.PROTECT, related_name="usage_reports")
    licence = models.ForeignKey("licensing.Licence", on_delete=models.PROTECT, related_name="usage_reports")
    # The licensee's own id for the report: sending the same one again is a no-op.
    reference = models.CharField(max_length=100)
    period_start = models.DateField()
    period_end = models.DateField()
    file = models.CharField(max_length=300, help_text=_("Storage key of the report as uploaded."))
    format = models.CharField(max_length=5, choices=UsageReportFormat.choices)
    bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    currency = models.CharField(max_length=3)
    attribution_rate = models.DecimalField(max_digits=5, decimal_places=4)
    status = models.CharField(max_length=10, choices=UsageReportStatus.choices, default=UsageReportStatus.RECEIVED)
    lines_read = models.PositiveIntegerField(default=0, help_text=_("Lines read so far."))
    progress = models.PositiveSmallIntegerField(default=0, help_text=_("Percent of the file read."))
    outputs = models.PositiveIntegerField(default=0)
    scores = models.BigIntegerField(default=0, help_text=_("Scores read, over every output."))
    zeroed_scores = models.BigIntegerField(
        default=0, help_text=_("Scores of contributors whose works did not train the version: counted as 0."))
    rejected_count = models.PositiveIntegerField(default=0)
    # [{"line": n, "reason": "…"}, …], the first REJECTIONS_KEPT of them; rejected_count counts all.
    rejected_lines = models.JSONField(default=list, blank=True)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    pool = models.DecimalField(max_digits=14, decimal_places=2, default=0,
                               help_text=_("The attribution rate times the revenue."))
    attributed = models.DecimalField(max_digits=14, decimal_places=2, default=0,
                                     help_text=_("The part of the pool the scores explain, split by Shapley values."))
    unexplained = models.DecimalField(max_digits=14, decimal_places=2, default=0,
                                      help_text=_("The rest of the pool, split pro rata over the licence's grants."))
    contributor_count = models.PositiveIntegerField(default=0)
    invoice = models.OneToOneField("licensing.Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="usage_report")
    error = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    api_key = models.ForeignKey("accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    REJECTIONS_KEPT = 10_000

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["licence", "reference"], name="usage_report_reference_once")]

    def __str__(self):
        return f"Usage report {self.reference} for {self.version_id}"

    @property
    def is_final(self):
        return self.status in (UsageReportStatus.PROCESSED, UsageReportStatus.REJECTED)


class UsageShare(models.Model):
    """One contributor's part of a processed report: enough to explain it without reading the file again,
    and the weights its payments are split by (cents of the whole pool, largest remainder over the report)."""

    # Indexed by usage_share_once, which leads with the report: a second index would only slow the COPY of a
    # report's shares. Both references are checked once per statement by triggers (migration 0024), not per
    # row by foreign keys: a report's 100,000 shares cost a second of row checks at commit otherwise.
    report = models.ForeignKey(UsageReport, on_delete=models.CASCADE, related_name="shares", db_index=False,
                               db_constraint=False)
    contributor = models.ForeignKey("licensing.Contributor", on_delete=models.PROTECT, related_name="usage_shares",
                                    db_constraint=False)
    outputs = models.PositiveIntegerField()
    score_sum = models.FloatField()
    shapley_sum = models.FloatField(help_text=_("Σ φ over the contributor's outputs."))
    cents = models.BigIntegerField(help_text=_("Their cents of the report's whole pool."))
    # The output that earned them most, by its line in the file: the one their page explains.
    top_line = models.PositiveIntegerField()
    top_output = models.CharField(max_length=200)

    class Meta:
        ordering = ["report", "-cents", "contributor"]
        constraints = [models.UniqueConstraint(fields=["report", "contributor"], name="usage_share_once")]

    def __str__(self):
        return f"{self.contributor_id}: {self.cents} cents of report {self.report_id}"

    @property
    def mean_score(self):
        return self.score_sum / self.outputs if self.outputs else 0.0
