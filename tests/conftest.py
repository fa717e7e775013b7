import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from accounts.models import Membership, Organisation, User
from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER

BASE_DIR = Path(__file__).resolve().parent.parent
ARTIFACTS = BASE_DIR / "var" / "test-artifacts"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Hundreds of test users: the production hasher's deliberate slowness buys nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits and idempotency records live in the cache: no test inherits another's."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def tasks_in_process(request):
    """Tasks run in-process, as in the embedded runtime, except in tests that start a real worker."""
    from config.celery import app

    if request.node.get_closest_marker("worker"):
        yield
        return
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def make_user(email, *, organisation=None, role=Membership.Role.MEMBER, groups=(), password="pw-for-tests-123"):
    user = User.objects.create_user(email, password, full_name=email.split("@")[0].title())
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    if organisation is not None:
        Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


def make_organisation(name, **extra):
    defaults = {
        "legal_name": f"{name} Ltd",
        "country": "GB",
        "billing_address": f"1 {name} Street\nLondon",
        "vat_id": "GB123456789",
    }
    defaults.update(extra)
    return Organisation.objects.create(name=name, slug=name.lower().replace(" ", "-"), **defaults)


@pytest.fixture
def org_a(db):
    return make_organisation("Acme Vision")


@pytest.fixture
def org_b(db):
    return make_organisation("Blue Models")


@pytest.fixture
def alice(org_a):
    """Owner of org A, a start-up applying for licences."""
    return make_user("alice@acme.example", organisation=org_a, role=Membership.Role.OWNER)


@pytest.fixture
def amir(org_a):
    """A plain member of org A."""
    return make_user("amir@acme.example", organisation=org_a)


@pytest.fixture
def bob(org_b):
    """Owner of org B: must never see org A's things."""
    return make_user("bob@blue.example", organisation=org_b, role=Membership.Role.OWNER)


@pytest.fixture
def rita(db):
    return make_user("rita@licensor.example", groups=[REVIEWER])


@pytest.fixture
def adam(db):
    return make_user("adam@licensor.example", groups=[LICENSOR_ADMIN])


@pytest.fixture
def fiona(db):
    return make_user("fiona@licensor.example", groups=[FINANCE])


@pytest.fixture
def client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def live_database_url():
    """The pytest-django test database as a DATABASE_URL, for processes the tests start."""
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real Celery worker process (prefork pool, one child) on the test database and a test queue."""
    import redis

    from config.celery import app

    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    env = dict(os.environ)
    env["DATABASE_URL"] = live_database_url()
    env["CONN_MAX_AGE"] = "0"
    # Every usage report the worker processes is decoded by decoder processes, as a large one is: a prefork
    # pool child (a daemon) is seen to start them.
    env["ATTRIBUTION_DECODERS"], env["ATTRIBUTION_DECODERS_FROM_BYTES"] = "2", "0"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "celery-worker.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", settings.CELERY_TASK_DEFAULT_QUEUE,
         "-c", "1", "-l", "INFO", "-n", f"test-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
        cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Celery worker exited with {process.returncode}; see {ARTIFACTS / 'celery-worker.log'}")
        if app.control.ping(timeout=0.5):
            break
    else:
        process.kill()
        raise RuntimeError("Celery worker did not answer within 60 s")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def wait_for(predicate, timeout=30, interval=0.1, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")
