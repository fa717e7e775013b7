"""Background work through the transactional outbox: what services call to schedule work, and the dispatcher.

    jobs.schedule("slice.build", slice_id=slice_.pk, dedupe=f"slice.build:{slice_.pk}")

writes a `Job` row in the caller's transaction. After commit the row is handed to Celery.
If the broker is unreachable, the request goes on exactly as it would have: the failure is
logged and the row waits for beat's sweeper, which also hands over again jobs whose worker
was lost (dispatched, not done, past the lease). A request waits for the broker at most one
connection timeout: once a connection failed, the process leaves its jobs waiting, unasked, for
JOB_BROKER_PAUSE_SECONDS. Tasks run the service through `run`, which counts the delivery and
marks the row done; the dedupe key makes scheduling the same work twice a no-op. Services never
import tasks: a job names its task here, as a string.
"""
import random
import time
from dataclasses import dataclass
from datetime import timedelta

import orjson
import structlog
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from config.celery import app
from licensing.db import copy_rows
from licensing.models import Job, JobState

log = structlog.get_logger(__name__)

# Job name -> the Celery task that does it. Each task takes the job's kwargs and `job_id`.
TASKS = {
    "licence.notify": "licensing.tasks.notify_licence_event",
    "invoice.issue_commercial": "licensing.tasks.issue_commercial_invoice",
    "invoice.issue_research_fee": "licensing.tasks.issue_research_fee_invoice",
    "invoice.render_pdf": "licensing.tasks.render_invoice_pdf",
    "royalties.pool": "licensing.tasks.create_royalty_pool",
    "royalties.reverse": "licensing.tasks.reverse_royalties_for_credit_note",
    "slice.build": "licensing.tasks.build_slice",
    "slice.grant_collections": "licensing.tasks.grant_collections",
    "catalogue.ingest": "licensing.tasks.ingest_catalogue",
    "catalogue.verify": "licensing.tasks.verify_catalogue",
    "usage_report.process": "licensing.tasks.process_usage_report",
    "attribution.pool": "licensing.tasks.create_attribution_pool",
    "email.send": "licensing.tasks.send_email",
    "slice.shards": "licensing.tasks.write_slice_shards",
    "webhook.deliver": "licensing.tasks.deliver_webhook",
    "previews.make": "licensing.tasks.make_previews",
}


@dataclass(frozen=True)
class Backoff:
    """How a failing job is retried: `first` seconds after the first failure, multiplied by `factor`
    after each further one, at most `cap`, for `attempts` deliveries in all; `jitter` spreads the
    retries of many jobs that failed together (a receiver that was down) by up to that fraction."""

    first: float = 30
    factor: float = 2
    cap: float = 6 * 3600
    attempts: int = 8
    jitter: float = 0.0

    def delay(self, attempts):
        seconds = min(self.first * self.factor ** max(attempts - 1, 0), self.cap)
        return seconds * (1 + random.uniform(0, self.jitter)) if self.jitter else seconds

    def span(self):
        """Seconds from the first attempt to the last, without jitter."""
        return sum(min(self.first * self.factor ** n, self.cap) for n in range(self.attempts - 1))


DEFAULT_BACKOFF = Backoff()
# Standard Webhooks asks for retries spread over a receiver's outage: 15 s, 1 min, 4 min … at most
# 9 h apart: nine deliveries over about 24 hours (span() says 23.7 h, before jitter).
BACKOFF = {
    "webhook.deliver": Backoff(first=15, factor=4, cap=9 * 3600, attempts=9, jitter=0.1),
}


def backoff_for(name):
    return BACKOFF.get(name, DEFAULT_BACKOFF)


class UnknownJob(ValueError):
    pass


def task_of(name):
    """The Celery task for a job: registered in every process by LicensingConfig.ready, which imports
    licensing.tasks (services never do)."""
    return app.tasks[TASKS[name]]


def schedule(name, *, dedupe=None, max_attempts=None, **kwargs):
    """Write the job in the current transaction; hand it to Celery once that commits.
    `max_attempts` overrides the job name's backoff policy."""
    if name not in TASKS:
        raise UnknownJob(f"No job is called {name!r}.")
    now = timezone.now()
    fields = {"name": name, "kwargs": kwargs, "run_after": now,
              "max_attempts": max_attempts or backoff_for(name).attempts}
    if dedupe is not None:
        job, created = Job.objects.get_or_create(dedupe_key=dedupe, defaults=fields)
        if not created:
            return job
    else:
        job = Job.objects.create(**fields)
    transaction.on_commit(lambda: dispatch([job.pk]), robust=True)
    return job


def schedule_many(name, kwargs_list, *, dedupe):
    """`schedule` for a batch, in one INSERT: `dedupe(kwargs)` gives each job's key."""
    if name not in TASKS:
        raise UnknownJob(f"No job is called {name!r}.")
    now = timezone.now()
    attempts = backoff_for(name).attempts
    kwargs_list = list(kwargs_list)
    keys = [dedupe(kwargs) for kwargs in kwargs_list]
    if connection.vendor == "postgresql":
        ids = _insert_new_jobs(name, kwargs_list, keys, now, attempts)
    else:
        Job.objects.bulk_create([Job(name=name, kwargs=kwargs, dedupe_key=key, run_after=now, max_attempts=attempts)
                                 for kwargs, key in zip(kwargs_list, keys)], batch_size=2000, ignore_conflicts=True)
        ids = None
    if ids is None or len(ids) < len(keys):  # some were scheduled before: those still waiting are handed over too
        ids = list(Job.objects.filter(dedupe_key__in=keys, state=JobState.WAITING).values_list("pk", flat=True))
    transaction.on_commit(lambda: dispatch(ids), robust=True)
    return len(ids)


JOB_COLUMNS = ("name", "kwargs", "dedupe_key", "state", "created_at", "run_after", "attempts", "max_attempts",
               "last_error")


def _insert_new_jobs(name, kwargs_list, keys, now, attempts):
    """The ids of the jobs written, those whose dedupe key is new: the rows go through COPY into a scratch
    table and from there in one INSERT that skips known keys (a month end writes 10,000 at once)."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS job_batch AS SELECT {', '.join(JOB_COLUMNS)} "
                       f"FROM {Job._meta.db_table} WITH NO DATA")
    copy_rows("job_batch", JOB_COLUMNS, (
        (name, orjson.dumps(kwargs).decode(), key, JobState.WAITING, now, now, 0, attempts, "")
        for kwargs, key in zip(kwargs_list, keys)))
    columns = ", ".join(JOB_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {Job._meta.db_table} ({columns}) SELECT {columns} FROM job_batch "
                       "ON CONFLICT DO NOTHING RETURNING id")
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute("TRUNCATE job_batch")
    return ids


class _Broker:
    """This process's memory of the broker failing to connect: when and why, until the pause is over."""

    failed_at = None
    error = ""

    @classmethod
    def failed(cls, error):
        cls.failed_at, cls.error = time.monotonic(), str(error)

    @classmethod
    def resting(cls):
        """Why not to ask the broker now, or None."""
        if cls.failed_at is None:
            return None
        ago = time.monotonic() - cls.failed_at
        if ago >= settings.JOB_BROKER_PAUSE_SECONDS:
            cls.failed_at = None
            return None
        return f"not tried: the broker could not be reached {ago:.1f} s before ({cls.error})"


def dispatch(job_ids, *, now=None):
    """Hand waiting jobs to the broker. Never raises: a job the broker refused, or was not asked to take
    (it could not be reached a moment ago), waits for the sweeper."""
    handed = 0
    jobs = list(Job.objects.filter(pk__in=list(job_ids), state=JobState.WAITING))
    for position, job in enumerate(jobs):
        reason = _Broker.resting()
        if reason is not None:
            _left_waiting(jobs[position:], reason)
            break
        handed += _hand_over(job, from_state=JobState.WAITING, now=now)
    return handed


def _left_waiting(jobs, reason):
    Job.objects.filter(pk__in=[job.pk for job in jobs], state=JobState.WAITING).update(
        last_error=f"dispatch: {reason}"[:2000])
    log.warning("job_dispatch_deferred", jobs=len(jobs), reason=reason)


def _hand_over(job, *, from_state, now=None):
    now = now or timezone.now()
    # Marked first, by compare-and-swap: a worker may finish the job before apply_async returns,
    # and two sweepers must not both hand the same row over.
    claimed = Job.objects.filter(pk=job.pk, state=from_state, dispatched_at=job.dispatched_at).update(
        state=JobState.DISPATCHED, dispatched_at=now
    )
    if not claimed:
        return 0
    try:
        task_of(job.name).apply_async(kwargs={**job.kwargs, "job_id": job.pk})
    except Exception as error:  # the broker is down or refused: the row waits, the caller is not told
        if isinstance(error, (OperationalError, OSError)):
            _Broker.failed(error)
        Job.objects.filter(pk=job.pk, state=JobState.DISPATCHED).update(
            state=JobState.WAITING, dispatched_at=None, last_error=f"dispatch: {error}"[:2000]
        )
        log.warning("job_dispatch_failed", job=job.pk, name=job.name, error=str(error))
        return 0
    return 1


def due(*, now=None):
    """Jobs the sweeper hands over: waiting past the moment their request had to hand them over, or
    dispatched and not done past the lease (the broker lost them, or their worker died)."""
    now = now or timezone.now()
    return Job.objects.filter(
        Q(state=JobState.WAITING, run_after__lte=now - timedelta(seconds=settings.JOB_DISPATCH_GRACE_SECONDS))
        | Q(state=JobState.DISPATCHED, dispatched_at__lte=now - timedelta(seconds=settings.JOB_LEASE_SECONDS))
    ).order_by("run_after", "id")


def sweep(*, now=None, limit=1000):
    handed = 0
    for job in due(now=now)[:limit]:
        if _Broker.resting() is not None:  # the rest keep their last error and wait for the next sweep
            break
        handed += _hand_over(job, from_state=job.state, now=now)
    if handed:
        log.warning("jobs_handed_over_by_sweeper", jobs=handed)
    return handed


def retry(*, job_ids, now=None):
    """Staff's retry of failed jobs: a fresh set of attempts, handed over now."""
    now = now or timezone.now()
    ids = list(Job.objects.filter(pk__in=list(job_ids), state=JobState.FAILED).values_list("pk", flat=True))
    Job.objects.filter(pk__in=ids).update(state=JobState.WAITING, run_after=now, attempts=0, dispatched_at=None)
    return dispatch(ids, now=now)


def backoff(attempts, name=None):
    """Seconds before the next attempt: by default 30 s, 1 min, 2 min … doubling, at most six hours;
    a job name in BACKOFF has its own policy."""
    return backoff_for(name).delay(attempts)


def run(job_id, service, **kwargs):
    """Run one delivery of a job: count it, call the service, mark the row done.

    A delivery of a job already done does nothing. A failure is recorded with its error and
    the job waits for its backoff (or fails for good after its last attempt); the service is
    written to be run again, so a delivery that died half-way is simply repeated."""
    if job_id is None:  # called directly, not through the outbox
        return service(**kwargs)
    started = Job.objects.filter(pk=job_id).exclude(state=JobState.DONE).update(
        attempts=F("attempts") + 1, started_at=timezone.now()
    )
    if not started:
        return None
    try:
        result = service(**kwargs)
    except Exception as error:
        _failed(job_id, error)
        raise
    Job.objects.filter(pk=job_id).update(state=JobState.DONE, done_at=timezone.now(), last_error="")
    return result


def _failed(job_id, error):
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    now = timezone.now()
    if job.attempts >= job.max_attempts:
        state, run_after = JobState.FAILED, job.run_after
    else:
        state, run_after = JobState.WAITING, now + timedelta(seconds=backoff(job.attempts, job.name))
    Job.objects.filter(pk=job_id).update(state=state, run_after=run_after, dispatched_at=None,
                                         last_error=f"{type(error).__name__}: {error}"[:2000])
    log.error("job_failed", job=job_id, name=job.name, attempts=job.attempts, final=state == JobState.FAILED,
              error=str(error))
