"""A broker outage on a real stack: gunicorn whose broker is unreachable, PostgreSQL, then a real worker.

While the broker is down, people use the site as usual: a pipeline requests a slice over the API
(and retries it with its Idempotency-Key), a reviewer approves an application and an applicant
accepts an offer through the pages. Each answers at once and as normal; the work waits in the
outbox. When the broker is back, the sweeper hands the waiting jobs over and a real worker runs
each of them once: the slice is built, the invoice issued with its PDF, the e-mails sent.
"""
import re
import socket
import time
from contextlib import ExitStack
from datetime import timedelta
from decimal import Decimal

import pytest
import redis
import requests
from django.conf import settings
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone

from accounts.api_keys import api_key_create
from accounts.models import ApiKey
from bench.serving import gunicorn_serving
from licensing import tasks
from licensing.models import Invoice, Job, LicenceEvent, LicencePhase, LicenceState, SentEmail, Slice
from tests.conftest import ARTIFACTS, live_database_url, wait_for
from tests.licensing.factories import LicenceFactory, catalogue, research_licence

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# What "answers at once" means here: a request on loopback takes tens of milliseconds; one that
# waits on the broker's connection retries takes seconds.
PROMPT = 1.5


@pytest.fixture
def refusing_broker():
    """A broker URL on a port where nothing listens: every connection is refused at once."""
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", 1)) != 0, "something listens on port 1: no outage there"
    return "redis://127.0.0.1:1/0"


@pytest.fixture
def silent_broker():
    """A broker URL whose connections never complete, as when its host is down or the network drops
    packets: a listener that never accepts, its backlog full, so the kernel ignores each new SYN."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    backlog = []
    for _ in range(4):
        pending = socket.socket()
        pending.setblocking(False)
        pending.connect_ex(("127.0.0.1", port))
        backlog.append(pending)
    time.sleep(0.2)
    with socket.socket() as probe:
        probe.settimeout(0.5)
        with pytest.raises(TimeoutError):
            probe.connect(("127.0.0.1", port))
    yield f"redis://127.0.0.1:{port}/0"
    for pending in backlog:
        pending.close()
    listener.close()


@pytest.fixture
def serve():
    """serve(broker_url, workers=..., **env) -> the base URL of gunicorn as in production, on the test
    database and cache, with this broker; stopped after the test. Its log: var/test-artifacts/."""
    with ExitStack() as servers:
        def start(broker_url, *, workers, **env):
            env = {"DATABASE_URL": live_database_url(), "CONN_MAX_AGE": "0", "CELERY_BROKER_URL": broker_url, **env}
            port = servers.enter_context(gunicorn_serving(name="broker-outage", workers=workers, timeout=30,
                                                          env=env, log_dir=ARTIFACTS))
            return f"http://127.0.0.1:{port}"

        yield start


def session_of(user, base):
    """A browser's session for `user`: the sessionid of a forced login, sent as a cookie."""
    client = Client()
    client.force_login(user)
    browser = requests.Session()
    browser.cookies.set(settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value,
                        domain="127.0.0.1")
    browser.base = base
    return browser


def timed(method, url, **kwargs):
    started = time.monotonic()
    response = method(url, timeout=30, allow_redirects=False, **kwargs)
    return response, time.monotonic() - started


def post_form(browser, licence, action, **fields):
    """What the browser does: load the licence page, then post the action's form with its CSRF token."""
    page = browser.get(f"{browser.base}/licences/{licence.pk}/", timeout=30)
    assert page.status_code == 200, page.status_code
    html = page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    version = re.search(rf'name="{action}-version" value="(\d+)"', html).group(1)
    data = {"csrfmiddlewaretoken": token, f"{action}-version": version,
            **{f"{action}-{name}": value for name, value in fields.items()}}
    return timed(browser.post, f"{browser.base}/licences/{licence.pk}/{action}/", data=data,
                 headers={"Referer": f"{browser.base}/licences/{licence.pk}/"})


def warm_up(base, api_key):
    """A first read, so the timings below are not a new worker's first import of the views."""
    assert requests.get(f"{base}/api/v1/licences/", headers={"Authorization": f"Bearer {api_key}"},
                        timeout=30).status_code == 200


def broker_is_idle():
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return broker.llen(settings.CELERY_TASK_DEFAULT_QUEUE) == 0 and broker.hlen("unacked") == 0


def test_a_broker_outage_loses_no_work_and_the_jobs_run_once_when_it_is_back(
        serve, refusing_broker, request, settings, org_a, alice, rita, adam, fiona):
    # Every job asks the broker (no pause after a failure): each request shows what one attempt costs.
    base = serve(refusing_broker, workers=1, JOB_BROKER_PAUSE_SECONDS="0")
    catalogue(10, bytes=1_000)
    for_slices = research_licence(organisation=org_a, applicant=alice, max_assets=100, max_slices=10)
    submitted = LicenceFactory(organisation=org_a, applicant=alice, state=LicenceState.SUBMITTED,
                               phase=LicencePhase.APPLICATION)
    now = timezone.now()
    offered = LicenceFactory(
        organisation=org_a, applicant=alice, state=LicenceState.UPGRADE_OFFERED, phase=LicencePhase.RESEARCH,
        max_assets=100, max_bytes=10**9, max_slices=3, research_starts_at=now - timedelta(days=30),
        research_ends_at=now + timedelta(days=60), offer_fee=Decimal("12000.00"), offer_currency="EUR",
        offer_billing_period="annual", offer_term_months=12, offer_scope="Train a commercial segmentation model",
        offer_territory="Worldwide", offer_made_at=now - timedelta(days=1),
    )
    _, api_key = api_key_create(organisation=org_a, by=None, name="pipeline", scopes=list(ApiKey.SCOPES),
                                expires_days=30)
    assert not Job.objects.exists()
    took = {}

    # --- The broker is down -------------------------------------------------------------------
    pipeline = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": "outage-slice-1"}
    slices_url = f"{base}/api/v1/licences/{for_slices.pk}/slices/"
    warm_up(base, api_key)
    first, took["API slice request"] = timed(requests.post, slices_url, json={"size": 4, "seed": 11},
                                             headers=pipeline)
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "queued"

    again, took["API retry, same key"] = timed(requests.post, slices_url, json={"size": 4, "seed": 11},
                                               headers=pipeline)
    assert again.status_code == 202, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert Slice.objects.filter(licence=for_slices).count() == 1, "the retry made a second slice"

    reviewer = session_of(rita, base)
    approved, took["reviewer's approve form"] = post_form(reviewer, submitted, "approve", max_assets=100,
                                                          max_gigabytes="1", max_slices=3, duration_days=30)
    assert approved.status_code == 302, approved.status_code
    assert approved.headers["Location"] == f"/licences/{submitted.pk}/"
    told = reviewer.get(base + approved.headers["Location"], timeout=30)
    assert told.status_code == 200
    assert "Research licence approved: the applicant can now request data slices." in told.text

    applicant = session_of(alice, base)
    accepted, took["applicant's accept-offer form"] = post_form(applicant, offered, "accept_offer", agree="on")
    assert accepted.status_code == 302, accepted.status_code
    told = applicant.get(base + accepted.headers["Location"], timeout=30)
    assert told.status_code == 200
    assert "Offer accepted: the invoice is on its way" in told.text

    for what, seconds in took.items():
        print(f"broker down: {what} answered in {seconds * 1000:.0f} ms")
    slow = {what: round(seconds, 2) for what, seconds in took.items() if seconds > PROMPT}
    assert not slow, f"requests waited on the unreachable broker: {slow}"

    slice_ = Slice.objects.get(licence=for_slices)
    submitted.refresh_from_db()
    offered.refresh_from_db()
    assert (slice_.status, submitted.state, offered.state) == ("queued", "research_active", "awaiting_payment")
    approve_event = LicenceEvent.objects.get(licence=submitted, action="approve")
    accept_event = LicenceEvent.objects.get(licence=offered, action="accept_offer")
    waiting = {(job.name, tuple(sorted(job.kwargs.items()))): job for job in Job.objects.all()}
    assert set(waiting) == {
        ("slice.build", (("slice_id", slice_.pk),)),
        ("licence.notify", (("event_id", approve_event.pk),)),
        ("licence.notify", (("event_id", accept_event.pk),)),
        ("invoice.issue_commercial", (("licence_id", offered.pk),)),
    }
    for job in waiting.values():
        assert (job.state, job.attempts, job.dispatched_at) == ("waiting", 0, None), job
        # The broker refused the connection: not some other failure to find or send the task.
        assert job.last_error.startswith("dispatch: "), job.last_error
        assert "Connection refused" in job.last_error, job.last_error
    assert not Invoice.objects.filter(licence=offered).exists()
    assert not SentEmail.objects.exists()

    # --- The broker is back -------------------------------------------------------------------
    settings.JOB_DISPATCH_GRACE_SECONDS = 0
    started = time.monotonic()
    request.getfixturevalue("celery_worker_process")  # the real broker, the test queue; at once if running
    back = time.monotonic()
    print(f"broker back: worker ready after {back - started:.2f} s")

    assert tasks.sweep_jobs() == 4

    # The four that waited, and what they scheduled in turn: the invoice's PDF and the slice's shards.
    expected = {"slice.build", "licence.notify", "invoice.issue_commercial", "invoice.render_pdf", "slice.shards"}

    def all_done():
        jobs = list(Job.objects.all())
        return {job.name for job in jobs} == expected and all(job.state == "done" for job in jobs)

    wait_for(all_done, timeout=30, message="every job to be done")
    recovery = time.monotonic() - back
    print(f"broker back: every job done {recovery:.2f} s later (one sweep, then the worker)")
    wait_for(broker_is_idle, timeout=10, message="every delivery to be acknowledged")

    jobs = {job.name: job for job in Job.objects.filter(name__in=["slice.build", "invoice.issue_commercial",
                                                                   "invoice.render_pdf"])}
    assert set(jobs) == {"slice.build", "invoice.issue_commercial", "invoice.render_pdf"}
    assert [(job.name, job.state, job.attempts, job.last_error) for job in Job.objects.exclude(attempts=1)] == [], \
        "every job ran exactly once"
    assert set(Job.objects.values_list("state", flat=True)) == {"done"}

    slice_.refresh_from_db()
    assert (slice_.status, slice_.asset_count, slice_.total_bytes) == ("ready", 4, 4_000)
    invoice = Invoice.objects.get(licence=offered)
    assert (invoice.status, invoice.reason, invoice.gross_total) == ("issued", "commercial", Decimal("14280.00"))
    assert jobs["invoice.render_pdf"].kwargs == {"invoice_id": invoice.pk}
    assert invoice.pdf and default_storage.exists(invoice.pdf), "the invoice's PDF is stored"
    with default_storage.open(invoice.pdf) as pdf:
        assert pdf.read(5) == b"%PDF-"
    assert set(SentEmail.objects.values_list("key", flat=True)) == {
        f"licence-event:{approve_event.pk}:alice@acme.example",
        *(f"licence-event:{accept_event.pk}:{email}"
          for email in ("alice@acme.example", "fiona@licensor.example", "adam@licensor.example")),
        f"invoice-issued:{invoice.pk}:alice@acme.example",
    }

    # The pipeline, polling, sees its slice ready; its retry still answers with the first response.
    polled = requests.get(f"{base}/api/v1/slices/{slice_.pk}/", headers={"Authorization": f"Bearer {api_key}"},
                          timeout=30)
    assert polled.status_code == 200 and polled.json()["status"] == "ready"
    replayed = requests.post(slices_url, json={"size": 4, "seed": 11}, headers=pipeline, timeout=30)
    assert replayed.status_code == 202 and replayed.json() == first.json()
    assert Slice.objects.filter(licence=for_slices).count() == 1

    default_storage.delete(invoice.pdf)


def test_a_broker_that_never_answers_holds_a_request_no_longer_than_the_connection_timeout(
        serve, silent_broker, org_a, alice, rita):
    # One gunicorn worker: the requests after the first meet the process that found the broker gone.
    base = serve(silent_broker, workers=1, JOB_BROKER_PAUSE_SECONDS="60")
    catalogue(5, bytes=1_000)
    for_slices = research_licence(organisation=org_a, applicant=alice, max_assets=100, max_slices=10)
    submitted = LicenceFactory(organisation=org_a, applicant=alice, state=LicenceState.SUBMITTED,
                               phase=LicencePhase.APPLICATION)
    _, api_key = api_key_create(organisation=org_a, by=None, name="pipeline", scopes=list(ApiKey.SCOPES),
                                expires_days=30)
    pipeline = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": "silent-slice-1"}
    slices_url = f"{base}/api/v1/licences/{for_slices.pk}/slices/"
    warm_up(base, api_key)

    first, waited = timed(requests.post, slices_url, json={"size": 2, "seed": 3}, headers=pipeline)
    print(f"silent broker: API slice request answered in {waited * 1000:.0f} ms")
    assert first.status_code == 202, first.text
    # One connection timeout, not the kernel's SYN retries (about two minutes, past gunicorn's timeout).
    assert waited < settings.CELERY_BROKER_CONNECTION_TIMEOUT + PROMPT
    again, _ = timed(requests.post, slices_url, json={"size": 2, "seed": 3}, headers=pipeline)
    assert again.status_code == 202 and again.headers.get("Idempotent-Replayed") == "true"
    assert Slice.objects.filter(licence=for_slices).count() == 1

    approved, waited = post_form(session_of(rita, base), submitted, "approve", max_assets=100, max_gigabytes="1",
                                 max_slices=3, duration_days=30)
    print(f"silent broker: approve form answered in {waited * 1000:.0f} ms")
    assert approved.status_code == 302
    assert waited < PROMPT, "the process already knows the broker is unreachable: it does not wait again"

    slice_ = Slice.objects.get(licence=for_slices)
    build = Job.objects.get(dedupe_key=f"slice.build:{slice_.pk}")
    notify = Job.objects.get(name="licence.notify")
    assert (build.state, notify.state) == ("waiting", "waiting")
    assert build.last_error == "dispatch: Timeout connecting to server", build.last_error
    assert notify.last_error.startswith("dispatch: not tried: the broker could not be reached "), notify.last_error
