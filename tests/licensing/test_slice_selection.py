"""Which works a slice takes, on either path: the walk along the works' ranks from the point the seed
fixes, and the sort the walk falls back to when few works match. Both must give the same works in
the same order, leave out every work that may not be granted, and stop at the caps."""
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from licensing.models import RANK_SPACE, Asset
from licensing.selectors import slices as selection
from licensing.selectors.slices import RANGE, SORT, rank_start
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.slices import slice_build, slice_request
from tests.licensing.factories import ContributorFactory, catalogue, commercial_licence, research_licence
from tests.licensing.test_slices import build, granted

pytestmark = pytest.mark.django_db

PATHS = [RANGE, SORT]


@pytest.fixture
def on_path(monkeypatch):
    """Make every selection take `path`, as if the planner's estimates had chosen it."""
    def force(path):
        monkeypatch.setattr(selection, "selection_path", lambda slice_: path)
    return force


def set_ranks(assets, ranks):
    for asset, rank in zip(assets, ranks, strict=True):
        Asset.objects.filter(pk=asset.pk).update(rank=rank)


def in_slice_order(assets, seed):
    """The assets as a slice of `seed` orders them: by rank from the seed's point, then from 0."""
    start = rank_start(seed)
    ranked = Asset.objects.filter(pk__in=[a.pk for a in assets]).values_list("id", "rank")
    return [pk for pk, _ in sorted(ranked, key=lambda row: (row[1] < start, row[1], row[0]))]


def analyze():
    """Statistics for the planner's estimates. ANALYZE writes the table's row count outside any
    transaction, so tests that call it run in transaction=True mode: the flush after them resets it
    and no other test inherits a catalogue of thousands of works."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Asset._meta.db_table}")


@pytest.fixture
def builds_held(monkeypatch):
    """Requests commit here (transaction=True): keep their build jobs from running at once."""
    monkeypatch.setattr("licensing.jobs.dispatch", lambda job_ids, **kwargs: 0)


# Ranks


@pytest.mark.django_db(transaction=True)  # generate_catalog ANALYZEs the table (see analyze())
def test_every_new_work_gets_its_own_rank_in_the_range_and_keeps_it(alice):
    made = catalogue(50)
    call_command("generate_catalog", assets=200, contributors=5, seed=3)
    ranks = list(Asset.objects.values_list("rank", flat=True))
    assert len(ranks) == 250 and len(set(ranks)) == 250
    assert all(0 <= rank < RANK_SPACE for rank in ranks)
    # Spread over the range, not bunched: each half of it holds a fair share.
    assert 75 <= sum(rank < RANK_SPACE // 2 for rank in ranks) <= 175
    work = Asset.objects.get(pk=made[0].pk)
    rank = work.rank
    work.title = "Renamed"
    work.save()
    assert Asset.objects.get(pk=work.pk).rank == rank


# The seed


@pytest.mark.parametrize("path", PATHS)
def test_the_same_seed_gives_the_same_slice_and_both_paths_give_it(on_path, path, org_a, alice, org_b, bob):
    works = catalogue(300)
    on_path(path)
    first = build(research_licence(organisation=org_a, applicant=alice), alice, size=40, seed=99)
    on_path(RANGE if path == SORT else SORT)
    second = build(research_licence(organisation=org_b, applicant=bob), bob, size=40, seed=99)

    assert granted(first) == granted(second) == in_slice_order(works, 99)[:40]


@pytest.mark.parametrize("path", PATHS)
def test_different_seeds_start_in_different_places(on_path, path, org_a, alice, org_b, bob):
    works = catalogue(40)
    # Evenly spaced ranks, in an order unrelated to the ids: two seeds share a starting place only if
    # their points fall between the same two works, which random ranks of 40 works would now and then allow.
    set_ranks(works, [(n * 17 % 40) * (RANK_SPACE // 40) for n in range(40)])
    on_path(path)

    first = build(research_licence(organisation=org_a, applicant=alice), alice, size=40, seed=1234)
    second = build(research_licence(organisation=org_b, applicant=bob), bob, size=40, seed=4321)

    assert sorted(granted(first)) == sorted(granted(second)) == [a.pk for a in works]
    assert granted(first) != granted(second)
    assert granted(first) != [a.pk for a in works]  # shuffled, not in catalogue order
    assert (granted(first), granted(second)) == (in_slice_order(works, 1234), in_slice_order(works, 4321))


@pytest.mark.parametrize("path", PATHS)
def test_a_seed_near_the_top_of_the_range_wraps_around_to_fill_the_slice(on_path, path, org_a, alice):
    seed = max(range(2000), key=rank_start)
    start = rank_start(seed)
    assert start > RANK_SPACE * 0.99
    works = catalogue(20)
    above = [start + n * ((RANK_SPACE - start) // 4) for n in range(3)]
    below = [n * (start // 20) for n in range(1, 18)]
    set_ranks(works, above + below)
    on_path(path)

    slice_ = build(research_licence(organisation=org_a, applicant=alice), alice, size=10, seed=seed)

    assert (slice_.status, slice_.asset_count) == ("ready", 10)
    # The three works at or past the seed's point, then the lowest ranks from 0.
    assert granted(slice_) == [a.pk for a in works[:3]] + [a.pk for a in works[3:10]]


# What is never granted


@pytest.mark.parametrize("path", PATHS)
def test_works_that_may_not_be_granted_are_left_out_on_either_path(on_path, path, org_a, alice, org_b, bob):
    now = timezone.now()
    free = catalogue(12)
    leaving = ContributorFactory()
    opted_out = catalogue(4, contributor=leaving)
    contributor_set_opt_out(contributor=leaving, opted_out=True)
    taken_down = catalogue(3, taken_down_at=now, takedown_reason="Court order")
    reserved = catalogue(3, training_reserved=True, training_signal="notAllowed")
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=1000)
    # Another licence's exclusive deal over the works of its slices.
    deal = commercial_licence(organisation=org_b, applicant=bob, offer_exclusive=True, offer_made_at=now,
                              offer_coverage="slices")
    on_path(path)
    held = build(deal, bob, size=3, seed=5)
    assert held.asset_count == 3
    earlier = build(licence, alice, size=2, seed=5)
    assert not set(granted(earlier)) & set(granted(held))

    slice_ = build(licence, alice, size=100, seed=5)

    never = {a.pk for a in opted_out + taken_down + reserved} | set(granted(held)) | set(granted(earlier))
    assert sorted(granted(slice_)) == sorted({a.pk for a in free} - never)
    assert slice_.asset_count == 12 - 3 - 2


@pytest.mark.parametrize("path", PATHS)
def test_a_slice_stops_at_its_size_and_at_the_bytes_left_on_either_path(on_path, path, org_a, alice):
    works = catalogue(30, bytes=100_000)
    licence = research_licence(organisation=org_a, applicant=alice, max_bytes=750_000, max_assets=100)
    on_path(path)

    by_size = build(licence, alice, size=4, seed=8)
    by_bytes = build(licence, alice, size=20, seed=8)

    order = in_slice_order(works, 8)
    assert granted(by_size) == order[:4]
    assert granted(by_bytes) == order[4:7]  # 350,000 bytes were left: three works of 100,000
    assert (by_bytes.asset_count, by_bytes.total_bytes) == (3, 300_000)
    licence.refresh_from_db()
    assert (licence.used_assets, licence.used_bytes) == (7, 700_000)


# Which path


@pytest.mark.django_db(transaction=True)
def test_a_filter_few_works_pass_takes_the_sort_and_a_broad_one_the_walk(builds_held, org_a, alice):
    catalogue(2_950, kind="image", tags=["city"])
    rare = catalogue(20, kind="video", mime_type="video/mp4", duration_seconds=30.0, tags=["aerial"])
    catalogue(30, kind="video", mime_type="video/mp4", duration_seconds=30.0, tags=["city"])
    analyze()

    def requested(**request):  # each of a licence of its own, which was granted nothing yet
        licence = research_licence(organisation=org_a, applicant=alice, max_assets=10_000)
        return slice_request(licence=licence, by=alice, seed=11, **request)

    assert selection.selection_path(requested(size=50)) == RANGE
    assert selection.selection_path(requested(size=50, tags=["city"])) == RANGE
    selective = requested(size=15, kind="video", tags=["aerial"])
    assert selection.selection_path(selective) == SORT

    slice_build(slice_id=selective.pk)
    selective.refresh_from_db()
    assert (selective.status, granted(selective)) == ("ready", in_slice_order(rare, 11)[:15])


@pytest.mark.django_db(transaction=True)
def test_what_the_licence_was_granted_before_counts_against_the_walk(builds_held, org_a, alice, org_b, bob):
    works = catalogue(2_000)
    analyze()
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=10_000)
    first = slice_request(licence=licence, by=alice, size=1_990, seed=1)
    assert selection.selection_path(first) == RANGE
    slice_build(slice_id=first.pk)

    # Ten works are left to this licence: the walk would step over the 1,990 it holds to find them.
    last = slice_request(licence=licence, by=alice, size=10, seed=2)
    assert selection.selection_path(last) == SORT
    fresh = slice_request(licence=research_licence(organisation=org_b, applicant=bob), by=bob, size=10, seed=2)
    assert selection.selection_path(fresh) == RANGE
    slice_build(slice_id=last.pk)
    assert sorted(granted(last)) == sorted({a.pk for a in works} - set(granted(first)))


# Both paths, against the rules written out in Python

works_strategy = st.lists(
    st.fixed_dictionaries({
        "kind": st.sampled_from(["image", "video"]),
        "width": st.sampled_from([640, 1920, 3840]),
        "tag": st.sampled_from(["city", "aerial", "night"]),
        "bytes": st.integers(1, 5).map(lambda n: n * 1000),
        "rank": st.integers(0, RANK_SPACE - 1),
        "duration": st.sampled_from([5.0, 30.0, 90.0]),
        "contributor": st.integers(0, 2),
        "taken_down": st.sampled_from([False, False, False, True]),
        "reserved": st.sampled_from([False, False, False, True]),
    }),
    min_size=1, max_size=40,
)
filters_strategy = st.fixed_dictionaries({}, optional={
    "kind": st.sampled_from(["image", "video"]),
    "min_width": st.sampled_from([1000, 3000]),
    "tags": st.lists(st.sampled_from(["city", "aerial", "night"]), min_size=1, max_size=2, unique=True),
    "min_duration": st.sampled_from([10, 60]),
})


def passes(work, filters):
    if filters.get("kind") and work["kind"] != filters["kind"]:
        return False
    if work["width"] < filters.get("min_width", 0):
        return False
    if filters.get("min_duration") is not None and not (
            work["kind"] == "video" and work["duration"] >= filters["min_duration"]):
        return False
    return not filters.get("tags") or work["tag"] in filters["tags"]


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(works=works_strategy, filters=filters_strategy, size=st.integers(1, 30), seed=st.integers(0, 2**31 - 1),
       earlier=st.integers(0, 5), byte_cap=st.sampled_from([None, 20_000, 60_000]),
       opted_out=st.sets(st.integers(0, 2), max_size=1))
def test_both_paths_pick_what_the_rules_say_for_any_catalogue(org_a, alice, works, filters, size, seed, earlier,
                                                               byte_cap, opted_out):
    if filters.get("kind") == "image":
        filters.pop("min_duration", None)  # durations are for videos only: such a request is refused
    with transaction.atomic():
        people = [ContributorFactory(opted_out=n in opted_out) for n in range(3)]
        rows = []
        for work in works:
            video = work["kind"] == "video"
            rows += catalogue(1, contributor=people[work["contributor"]], kind=work["kind"], width=work["width"],
                              height=work["width"] * 9 // 16, tags=[work["tag"]], bytes=work["bytes"],
                              mime_type="video/mp4" if video else "image/jpeg",
                              duration_seconds=work["duration"] if video else None,
                              training_reserved=work["reserved"],
                              taken_down_at=timezone.now() if work["taken_down"] else None)
        set_ranks(rows, [work["rank"] for work in works])
        licence = research_licence(organisation=org_a, applicant=alice, max_assets=1000, max_bytes=byte_cap)
        before = []
        if earlier:
            first = build(licence, alice, size=earlier, seed=seed ^ 1)
            before = granted(first)
        licence.refresh_from_db()
        if licence.remaining["bytes"] == 0:
            transaction.set_rollback(True)
            return
        slice_ = slice_request(licence=licence, by=alice, size=size, seed=seed, **filters)

        start = rank_start(seed)
        eligible = sorted(
            ((work["rank"], row.pk, work["bytes"]) for work, row in zip(works, rows, strict=True)
             if passes(work, slice_.filters) and work["contributor"] not in opted_out and not work["reserved"]
             and not work["taken_down"] and row.pk not in before),
            key=lambda item: (item[0] < start, item[0], item[1]))[:size]
        budget = licence.remaining["bytes"]
        expected, used = [], 0
        for _, pk, size_in_bytes in eligible:
            used += size_in_bytes
            if budget is not None and used > budget:
                break
            expected.append(pk)

        for path in PATHS:
            sql, params = selection.picked_sql(slice_, budget, path=path)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                picked = [row[0] for row in cursor.fetchall()]
            assert picked == expected, path
        slice_build(slice_id=slice_.pk)
        assert granted(slice_) == expected
        transaction.set_rollback(True)



def test_a_feed_row_whose_tags_would_not_fit_the_walked_index_is_refused_and_the_rest_taken():
    from django.core.files.base import ContentFile

    from licensing.services.catalogue import ingest_run_create, ingest_run_execute

    header = ("external_id,kind,title,tags,width,height,duration_seconds,bytes,mime_type,sha256,storage_key,"
              "contributor_external_id,contributor_name,collection,rightsholders")
    many = "|".join(f"keyword-{n:03d}-{'x' * 20}" for n in range(90))  # 90 tags, about 2,900 bytes
    rows = [f"W-1,image,Harbour,{many},1920,1080,,1000,image/jpeg,{'a' * 64},,C-1,Ana,,",
            f"W-2,image,Dawn,sea|dawn,1920,1080,,1000,image/jpeg,{'b' * 64},,C-1,Ana,,"]
    content = (header + "\n" + "\n".join(rows) + "\n").encode()
    run = ingest_run_create(upload=ContentFile(content, name="feed.csv"), by=None, file_name="feed.csv",
                            schedule=False)
    run = ingest_run_execute(run_id=run.pk)

    assert (run.status, run.created, run.rejected) == ("done", 1, 1)
    assert [(r.line, r.reason) for r in run.rejections.all()] == [
        (2, "the tags take more than 2,000 bytes: give fewer")]
    assert list(Asset.objects.values_list("external_id", flat=True)) == ["W-2"]
