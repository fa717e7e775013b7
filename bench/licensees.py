"""A licensee with research licences roomy enough for benchmark-sized slices.

Licences are written as rows already in research_active: the benchmarks measure
slices, not the review workflow.
"""
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, Organisation, User
from licensing import jobs
from licensing.models import Licence, LicencePhase, LicenceState, Slice
from licensing.services.slices import slice_request

# A byte cap no slice reaches, rather than none: the build then runs its byte-budget
# cut, as it does for every real research licence.
BYTES_CAP = 10**15


def applicant():
    with transaction.atomic():
        organisation, _ = Organisation.objects.get_or_create(
            slug="bench-vision",
            defaults={"name": "Bench Vision", "legal_name": "Bench Vision Ltd", "country": "GB",
                      "billing_address": "1 Bench Street\nLondon"},
        )
        user = User.objects.filter(email="bench@bench.example").first()
        if user is None:
            user = User.objects.create_user("bench@bench.example", None, full_name="Bench Applicant")
            Membership.objects.create(user=user, organisation=organisation, role=Membership.Role.OWNER)
    return user


def research_licence(user, *, max_assets):
    now = timezone.now()
    return Licence.objects.create(
        organisation=user.membership.organisation, applicant=user,
        state=LicenceState.RESEARCH_ACTIVE, phase=LicencePhase.RESEARCH,
        project_title="Benchmark", description="Benchmark licence.", intended_use="Benchmarks.",
        model_type="classifier", media_kinds=["image", "video"], estimated_volume=max_assets, team_size=1,
        funding_stage="seed", terms_accepted_at=now, terms_version="bench",
        max_assets=max_assets, max_bytes=BYTES_CAP, max_slices=None,
        research_starts_at=now, research_ends_at=now + timedelta(days=30),
    )


@contextmanager
def jobs_not_dispatched():
    """Services schedule their background work through the outbox, handed over on commit; a benchmark
    times the work itself, so the jobs stay written and are not handed to a worker."""
    with mock.patch.object(jobs, "dispatch", lambda *args, **kwargs: 0):
        yield


build_not_dispatched = jobs_not_dispatched


def requested_slice(user, *, size, seed):
    """A queued slice of a new licence, nothing granted to it yet."""
    licence = research_licence(user, max_assets=size)
    with build_not_dispatched():
        slice_ = slice_request(licence=licence, by=user, size=size, seed=seed)
    return Slice.objects.select_related("licence").get(pk=slice_.pk)


def byte_budget(licence):
    """What slice_build passes to selection_sql for this licence."""
    licence.refresh_from_db()
    cap = licence.caps["bytes"]
    return None if cap is None else max(cap - licence.used_bytes, 0)
