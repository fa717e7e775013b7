"""An opt-out and a slice build at the same moment, on PostgreSQL: whichever commits second sees
the other's work, so no work of a contributor who opted out is left live in a research slice."""
import threading

import pytest
from django.db import connection

from licensing.models import Contributor, SliceItem
from licensing.services import slices as slice_services
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.slices import slice_build, slice_request
from tests.licensing.factories import ContributorFactory, catalogue, commercial_licence, research_licence

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(action):
    outcome = {}

    def run():
        try:
            outcome["result"] = action()
        except Exception as error:
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def hold_build_at(monkeypatch, name):
    """Pause the build inside its transaction right after `name` ran; returns (reached, release)."""
    reached, release = threading.Event(), threading.Event()
    original = getattr(slice_services, name)

    def paused(*args, **kwargs):
        result = original(*args, **kwargs)
        reached.set()
        assert release.wait(timeout=30), "the test never released the build"
        return result

    monkeypatch.setattr(slice_services, name, paused)
    return reached, release


def queued_slice(monkeypatch, licence, by, size):
    monkeypatch.setattr("licensing.jobs.dispatch", lambda job_ids, **kwargs: 0)  # the test runs the build itself
    return slice_request(licence=licence, by=by, size=size, seed=7)


def live_items_of(contributor, slice_):
    return SliceItem.objects.filter(slice=slice_, asset__contributor=contributor, withdrawn_at__isnull=True).count()


def test_an_opt_out_committed_while_the_selection_runs_leaves_none_of_the_works_in_the_slice(org_a, alice, monkeypatch):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=1000)
    leaving = ContributorFactory()
    catalogue(40, contributor=leaving)
    catalogue(40)
    slice_ = queued_slice(monkeypatch, licence, alice, 60)
    reached, release = hold_build_at(monkeypatch, "_insert_items")

    build, outcome = in_thread(lambda: slice_build(slice_id=slice_.pk))
    assert reached.wait(timeout=30)
    # The build's items are written but not committed: the opt-out cannot see them to withdraw them.
    contributor_set_opt_out(contributor=leaving, opted_out=True, by=None, note="during the build")
    release.set()
    build.join(timeout=30)

    assert "error" not in outcome, outcome
    slice_.refresh_from_db()
    assert slice_.status == "ready"
    assert live_items_of(leaving, slice_) == 0
    assert not SliceItem.objects.filter(slice=slice_, asset__contributor=leaving).exists()
    kept = SliceItem.objects.filter(slice=slice_).count()
    assert 0 < kept < 60 and slice_.asset_count == kept
    licence.refresh_from_db()
    assert licence.used_assets == kept, "the cap counts only what the slice holds"


def test_an_opt_out_arriving_while_the_build_is_committing_waits_and_then_withdraws_the_works(
    org_a, alice, monkeypatch
):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=1000)
    leaving = ContributorFactory()
    catalogue(30, contributor=leaving)
    slice_ = queued_slice(monkeypatch, licence, alice, 30)
    reached, release = hold_build_at(monkeypatch, "_drop_contributors_who_opted_out_meanwhile")

    build, built = in_thread(lambda: slice_build(slice_id=slice_.pk))
    assert reached.wait(timeout=30)
    opt_out, opted = in_thread(
        lambda: contributor_set_opt_out(contributor=Contributor.objects.get(pk=leaving.pk), opted_out=True, by=None))
    opt_out.join(timeout=1.5)
    assert opt_out.is_alive(), "the opt-out waits for the build that holds the consent lock"
    release.set()
    build.join(timeout=30)
    opt_out.join(timeout=30)

    assert "error" not in built and "error" not in opted, (built, opted)
    slice_.refresh_from_db()
    assert (slice_.status, slice_.asset_count) == ("ready", 30)
    assert live_items_of(leaving, slice_) == 0
    assert SliceItem.objects.filter(slice=slice_, withdrawn_at__isnull=False).count() == 30


def test_an_opt_out_after_the_upgrade_keeps_every_grant_of_the_commercial_licence_and_says_so(org_a, alice, client):
    """One truth: a licence that became commercial keeps the works granted in its research phase too,
    and the confirmation page counts them as kept."""
    leaving = ContributorFactory()
    catalogue(6, contributor=leaving)
    upgraded = commercial_licence(organisation=org_a, applicant=alice)
    researching = research_licence(organisation=org_a, applicant=alice)
    old = slice_request(licence=upgraded, by=alice, size=3, seed=1)
    slice_build(slice_id=old.pk)
    old.__class__.objects.filter(pk=old.pk).update(phase="research")  # granted before the upgrade
    new = slice_request(licence=researching, by=alice, size=4, seed=2)
    slice_build(slice_id=new.pk)

    from licensing.selectors.contributors import opt_out_effect

    effect = opt_out_effect(contributor=leaving)
    assert (effect["research_items"], effect["research_licences"]) == (4, 1)
    assert (effect["commercial_items"], effect["commercial_licences"]) == (3, 1)

    contributor_set_opt_out(contributor=leaving, opted_out=True, by=None)

    assert live_items_of(leaving, old) == 3
    assert live_items_of(leaving, new) == 0
