"""Slice jobs on PostgreSQL: requests racing for the caps, builds delivered twice, a worker
killed mid-build, and the outbox sweeper that hands lost jobs over again."""
import os
import signal
import subprocess
import threading
from datetime import timedelta

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from licensing import jobs, tasks
from licensing.models import Job, Licence, Slice, SliceItem
from licensing.services.slices import SliceRefused, slice_build, slice_request
from tests.conftest import wait_for
from tests.licensing.factories import AssetFactory, catalogue, research_licence


def run_at_once(count, action):
    """action(n) in `count` threads released together by a barrier; the results (or errors) in order."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(n):
        try:
            barrier.wait(timeout=20)
            results[n] = action(n)
        except Exception as error:  # the refusals are what is being counted
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


class UsageWatch:
    """Reads the licence's usage over and over from its own connection while requests race."""

    def __init__(self, licence):
        self.licence_pk, self.seen, self.stop = licence.pk, [], threading.Event()
        self.thread = threading.Thread(target=self.watch)

    def watch(self):
        try:
            while not self.stop.is_set():
                self.seen.append(Licence.objects.values_list("used_assets", "used_slices").get(pk=self.licence_pk))
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)


def request_without_building(monkeypatch, **request):
    """slice_request with the build job held back, as when the broker has not delivered it yet."""
    held = []
    with monkeypatch.context() as patch:
        patch.setattr(jobs, "dispatch", lambda job_ids, **kwargs: held.extend(job_ids))
        slice_ = slice_request(**request)
    assert held == [Job.objects.get(dedupe_key=f"slice.build:{slice_.pk}").pk]
    return slice_


def item_positions(slice_):
    return list(SliceItem.objects.filter(slice=slice_).order_by("position").values_list("position", flat=True))


# Concurrent requests against the caps


@pytest.mark.django_db(transaction=True)
def test_twenty_requests_at_once_never_grant_more_assets_than_the_cap(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100, max_slices=50)
    catalogue(150, bytes=1_000)

    with UsageWatch(licence) as watch:
        results = run_at_once(20, lambda n: slice_request(licence=licence, by=alice, size=10, seed=n))

    granted = [r for r in results if isinstance(r, Slice)]
    refused = [r for r in results if isinstance(r, SliceRefused)]
    assert (len(granted), len(refused)) == (10, 10), results
    assert {str(r) for r in refused} == {
        "You asked for 10 assets but only 0 remain under this licence's cap of 100."
    }
    assert watch.seen and max(assets for assets, _ in watch.seen) <= 100
    licence.refresh_from_db()
    assert (licence.used_assets, licence.used_slices, licence.used_bytes) == (100, 10, 100_000)
    slices = Slice.objects.filter(licence=licence)
    assert sorted(s.number for s in slices) == list(range(1, 11))
    assert {(s.status, s.asset_count) for s in slices} == {("ready", 10)}
    assert SliceItem.objects.filter(licence=licence).count() == 100
    assert SliceItem.objects.filter(licence=licence).values("asset").distinct().count() == 100


@pytest.mark.django_db(transaction=True)
def test_twenty_requests_at_once_never_grant_more_slices_than_the_cap(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_slices=5)
    catalogue(20)

    with UsageWatch(licence) as watch:
        results = run_at_once(20, lambda n: slice_request(licence=licence, by=alice, size=2, seed=n))

    granted = [r for r in results if isinstance(r, Slice)]
    refused = [r for r in results if isinstance(r, SliceRefused)]
    assert (len(granted), len(refused)) == (5, 15), results
    assert {str(r) for r in refused} == {"No slices remain: this licence allows 5 and all have been requested."}
    assert watch.seen and max(slices for _, slices in watch.seen) <= 5
    licence.refresh_from_db()
    assert (licence.used_slices, licence.used_assets) == (5, 10)
    assert Slice.objects.filter(licence=licence).count() == 5
    assert SliceItem.objects.filter(licence=licence).count() == 10


# Duplicate deliveries


@pytest.mark.django_db
def test_a_build_delivered_twice_grants_one_set_of_items(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100)
    catalogue(30, bytes=1_000)
    # In a test transaction the request's on-commit dispatch never runs: the slice waits, queued.
    slice_ = slice_request(licence=licence, by=alice, size=12, seed=5)
    assert slice_.status == "queued"

    first = slice_build(slice_id=slice_.pk)
    second = slice_build(slice_id=slice_.pk)
    tasks.build_slice.delay(slice_.pk)
    tasks.build_slice.delay(slice_.pk)

    assert first is not None and second is None
    slice_.refresh_from_db()
    licence.refresh_from_db()
    assert (slice_.status, slice_.asset_count, slice_.total_bytes, slice_.attempts) == ("ready", 12, 12_000, 1)
    assert item_positions(slice_) == list(range(1, 13))
    assert (licence.used_assets, licence.used_bytes, licence.used_slices) == (12, 12_000, 1)


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_building_at_the_same_moment_grant_one_set_of_items(org_a, alice, monkeypatch):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100)
    catalogue(30, bytes=1_000)
    slice_ = request_without_building(monkeypatch, licence=licence, by=alice, size=12, seed=5)

    results = run_at_once(2, lambda n: slice_build(slice_id=slice_.pk))

    assert sorted(r is None for r in results) == [False, True], results
    slice_.refresh_from_db()
    licence.refresh_from_db()
    assert (slice_.status, slice_.asset_count, slice_.total_bytes) == ("ready", 12, 12_000)
    assert item_positions(slice_) == list(range(1, 13))
    assert (licence.used_assets, licence.used_bytes, licence.used_slices) == (12, 12_000, 1)


# The sweeper


@pytest.mark.django_db
def test_the_sweeper_resends_a_slice_left_queued_past_the_grace_period(org_a, alice, settings):
    settings.JOB_DISPATCH_GRACE_SECONDS = 10
    licence = research_licence(organisation=org_a, applicant=alice)
    catalogue(10)
    # In a test transaction the on-commit hand-over never runs: both jobs wait, as after a broker outage.
    lost = slice_request(licence=licence, by=alice, size=4, seed=1)
    recent = slice_request(licence=licence, by=alice, size=4, seed=2)
    Job.objects.filter(dedupe_key=f"slice.build:{lost.pk}").update(run_after=timezone.now() - timedelta(seconds=11))

    assert tasks.sweep_jobs() == 1

    lost.refresh_from_db()
    recent.refresh_from_db()
    assert (lost.status, lost.asset_count) == ("ready", 4)
    assert (recent.status, recent.asset_count) == ("queued", 0)
    assert not SliceItem.objects.filter(slice=recent).exists()
    job = Job.objects.get(dedupe_key=f"slice.build:{lost.pk}")
    assert (job.state, job.attempts) == ("done", 1)


@pytest.mark.django_db
def test_the_sweeper_resends_a_build_stuck_past_its_lease_and_leaves_finished_slices_alone(org_a, alice, settings):
    licence = research_licence(organisation=org_a, applicant=alice)
    catalogue(10)
    stuck = slice_request(licence=licence, by=alice, size=3, seed=1)
    done = slice_request(licence=licence, by=alice, size=3, seed=2)
    done_job = Job.objects.get(dedupe_key=f"slice.build:{done.pk}")
    tasks.build_slice(slice_id=done.pk, job_id=done_job.pk)
    long_ago = timezone.now() - timedelta(seconds=settings.JOB_LEASE_SECONDS + 1)
    # The worker that took the stuck build died: the job was handed over, started, and never finished.
    Slice.objects.filter(pk=stuck.pk).update(status="building", started_at=long_ago)
    Job.objects.filter(dedupe_key=f"slice.build:{stuck.pk}").update(state="dispatched", dispatched_at=long_ago,
                                                                    attempts=1, run_after=long_ago)
    Job.objects.filter(pk=done_job.pk).update(dispatched_at=long_ago, run_after=long_ago)

    assert tasks.sweep_jobs() == 1
    assert tasks.sweep_jobs() == 0

    stuck.refresh_from_db()
    assert (stuck.status, stuck.asset_count) == ("ready", 3)
    assert SliceItem.objects.filter(slice=done).count() == 3
    licence.refresh_from_db()
    assert (licence.used_assets, licence.used_slices) == (6, 2)
    stuck_job = Job.objects.get(dedupe_key=f"slice.build:{stuck.pk}")
    assert (stuck_job.state, stuck_job.attempts) == ("done", 2), "each delivery is counted"


# A real worker


def broker_is_idle():
    """Nothing waiting in the queue and nothing delivered but unacknowledged."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return broker.llen(settings.CELERY_TASK_DEFAULT_QUEUE) == 0 and broker.hlen("unacked") == 0


def pool_children(worker):
    found = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True)
    return {int(pid) for pid in found.stdout.split()}


def pool_children_running_the_build(slice_id):
    """The pool children the worker says are running this slice's build job right now."""
    from config.celery import app

    replies = app.control.inspect(timeout=2, limit=1).active() or {}
    return {
        job["worker_pid"]
        for jobs in replies.values()
        for job in jobs
        if job["name"] == "licensing.tasks.build_slice" and list(job["args"]) == [slice_id]
        and job["worker_pid"] is not None  # None: received, not yet handed to a pool child
    }


def backends_waiting_in_the_item_insert(*, besides):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
            "AND query LIKE %s AND pid <> %s",
            ["%INSERT INTO " + SliceItem._meta.db_table + "%", besides],
        )
        return [row[0] for row in cursor.fetchall()]


def separate_connection():
    db = connection.settings_dict
    return psycopg.connect(dbname=db["NAME"], user=db["USER"] or "postgres", password=db["PASSWORD"] or None,
                           host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_builds_a_requested_slice_once_when_its_job_arrives_twice(celery_worker_process, org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100)
    catalogue(30, bytes=1_000)

    slice_ = slice_request(licence=licence, by=alice, size=15, seed=9)
    tasks.build_slice.delay(slice_.pk)

    wait_for(lambda: Slice.objects.get(pk=slice_.pk).status == "ready", message="the slice to be ready")
    wait_for(broker_is_idle, message="both deliveries to be handled")
    slice_.refresh_from_db()
    licence.refresh_from_db()
    assert (slice_.asset_count, slice_.total_bytes, slice_.failure_reason) == (15, 15_000, "")
    assert item_positions(slice_) == list(range(1, 16))
    assert (licence.used_assets, licence.used_bytes, licence.used_slices) == (15, 15_000, 1)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_build_leaves_no_half_slice_and_the_redelivered_job_builds_it_once(
    celery_worker_process, org_a, alice, monkeypatch
):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100)
    catalogue(40, bytes=1_000)
    clip = AssetFactory(kind="video", mime_type="video/mp4", duration_seconds=5.0)  # never picked: images asked for
    slice_ = request_without_building(monkeypatch, licence=licence, by=alice, size=20, kind="image", seed=3)

    # Another transaction holds an uncommitted item at the slice's last position: the build's
    # INSERT writes the rows before it, then waits, inside its own open transaction.
    blocker = separate_connection()
    try:
        blocker.execute(
            f"INSERT INTO {SliceItem._meta.db_table} (slice_id, licence_id, asset_id, position) "
            "VALUES (%s, %s, %s, 20)", [slice_.pk, licence.pk, clip.pk],
        )
        tasks.build_slice.delay(slice_.pk)
        wait_for(lambda: backends_waiting_in_the_item_insert(besides=blocker.info.backend_pid),
                 message="the build to be half-way through its INSERT")
        [child] = pool_children(celery_worker_process)
        assert pool_children_running_the_build(slice_.pk) == {child}
        assert Slice.objects.get(pk=slice_.pk).status == "building"
        assert not SliceItem.objects.filter(slice=slice_).exists()

        os.kill(child, signal.SIGKILL)

        # The worker puts the job back (acks_late, reject_on_worker_lost) and a new pool child takes
        # it, while the dead child's database session still waits where it was.
        wait_for(lambda: pool_children(celery_worker_process) - {child}, message="a new pool child")
        wait_for(lambda: pool_children_running_the_build(slice_.pk) - {child}, timeout=15,
                 message="the redelivered build to run on the new pool child")
        assert not SliceItem.objects.filter(slice=slice_).exists()
        assert Slice.objects.get(pk=slice_.pk).status == "building"
        licence.refresh_from_db()
        assert (licence.used_assets, licence.used_bytes, licence.used_slices) == (20, 0, 1)
    finally:
        blocker.rollback()
        blocker.close()

    wait_for(lambda: Slice.objects.get(pk=slice_.pk).is_finished, timeout=30, message="the slice to be built")
    wait_for(broker_is_idle, message="the job to be acknowledged")
    slice_.refresh_from_db()
    licence.refresh_from_db()
    assert (slice_.status, slice_.asset_count, slice_.total_bytes, slice_.failure_reason) == ("ready", 20, 20_000, "")
    assert item_positions(slice_) == list(range(1, 21))
    assert not SliceItem.objects.filter(slice=slice_, asset=clip).exists()
    assert (licence.used_assets, licence.used_bytes, licence.used_slices) == (20, 20_000, 1)
    assert len(pool_children(celery_worker_process)) == 1
