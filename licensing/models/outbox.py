"""The transactional outbox: background work written in the same transaction as the change that needs it.

A row commits with its change or not at all. After commit it is handed to Celery; if the
broker is unreachable the row simply waits, and beat's sweeper hands it over later. The
database, not the broker, is the source of truth for whether a job is done.
"""
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    WAITING = "waiting", _("Waiting")  # not handed to the broker yet, or handed back after a failure
    DISPATCHED = "dispatched", _("Dispatched")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")  # gave up after its last attempt; staff can retry it


class Job(models.Model):
    name = models.CharField(max_length=80, help_text=_("What to do, e.g. slice.build."))
    kwargs = models.JSONField(default=dict, help_text=_("Ids the task loads; never whole objects."))
    dedupe_key = models.CharField(
        max_length=200, null=True, blank=True, unique=True,
        help_text=_("Scheduling the same work again with this key is a no-op."),
    )
    state = models.CharField(max_length=12, choices=JobState.choices, default=JobState.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    run_after = models.DateTimeField(help_text=_("Not handed over before this time (backoff after a failure)."))
    dispatched_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text=_("Deliveries a worker started."))
    max_attempts = models.PositiveIntegerField(default=8)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The sweeper's question, answered from a small partial index however many jobs are done.
            models.Index(fields=["run_after"], name="job_pending_idx",
                         condition=Q(state__in=["waiting", "dispatched"])),
        ]

    def __str__(self):
        return f"{self.name} #{self.pk} ({self.get_state_display().lower()})"
