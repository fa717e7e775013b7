"""Requesting and building slices: the caps, the filters, the seed, opted-out contributors, refusals,
and the pages an applicant uses to ask for a slice and watch it being built."""
import html
import re
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from licensing.models import (
    RANK_SPACE,
    Asset,
    AuditEvent,
    ContributorConsentChange,
    Licence,
    Slice,
    SliceItem,
)
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.slices import SliceRefused, slice_build, slice_request
from tests.licensing.factories import (
    ContributorFactory,
    catalogue,
    commercial_licence,
    research_licence,
)

pytestmark = pytest.mark.django_db


def build(licence, by, **request):
    """Request a slice and run its build, as the job would once the request has committed."""
    slice_ = slice_request(licence=licence, by=by, **request)
    slice_build(slice_id=slice_.pk)
    slice_.refresh_from_db()
    return slice_


def granted(slice_):
    """The slice's asset ids in position order."""
    return list(SliceItem.objects.filter(slice=slice_).order_by("position").values_list("asset_id", flat=True))


def usage(licence):
    licence.refresh_from_db()
    return licence.used_assets, licence.used_bytes, licence.used_slices


def text_of(response):
    return html.unescape(response.content.decode())


# Requesting and building


def test_a_request_reserves_its_assets_and_one_slice_on_the_licence(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100, max_slices=3)
    catalogue(20)

    slice_ = slice_request(licence=licence, by=alice, size=8, kind="image", seed=77)

    assert (slice_.number, slice_.status, slice_.phase) == (1, "queued", "research")
    assert (slice_.size_requested, slice_.reserved_assets, slice_.seed) == (8, 8, 77)
    assert slice_.filters == {"kind": "image"}
    assert slice_.requested_by == alice
    assert usage(licence) == (8, 0, 1)
    assert not SliceItem.objects.exists()
    event = AuditEvent.objects.get(action="slice.request")
    assert (event.actor, event.target_id) == (alice, str(slice_.pk))
    assert (event.payload["size"], event.payload["seed"], event.payload["filters"]) == (8, 77, {"kind": "image"})


def test_a_build_grants_the_assets_asked_for_and_counts_their_bytes(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100)
    catalogue(20, bytes=2_500)

    slice_ = build(licence, alice, size=8, seed=1)

    assert (slice_.status, slice_.asset_count, slice_.total_bytes, slice_.progress) == ("ready", 8, 20_000, 100)
    assert (slice_.reserved_assets, slice_.failure_reason) == (0, "")
    assert slice_.started_at <= slice_.finished_at
    items = SliceItem.objects.filter(slice=slice_)
    assert sorted(items.values_list("position", flat=True)) == list(range(1, 9))
    assert set(items.values_list("licence", flat=True)) == {licence.pk}
    assert not items.filter(withdrawn_at__isnull=False).exists()
    assert usage(licence) == (8, 20_000, 1)


def test_a_build_gives_back_what_the_catalogue_could_not_fill(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100)
    catalogue(6)

    slice_ = build(licence, alice, size=10)

    assert (slice_.status, slice_.asset_count) == ("ready", 6)
    assert usage(licence) == (6, 600_000, 1)


def test_a_build_stops_at_the_bytes_that_remain_under_the_cap(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_bytes=350_000)
    catalogue(10, bytes=100_000)

    slice_ = build(licence, alice, size=10)

    assert (slice_.status, slice_.asset_count, slice_.total_bytes) == ("ready", 3, 300_000)
    assert usage(licence) == (3, 300_000, 1)


def test_a_build_with_too_few_bytes_left_for_one_asset_fails_and_gives_the_reservation_back(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_bytes=350_000, max_assets=100)
    catalogue(10, bytes=100_000)
    build(licence, alice, size=3)  # 300,000 of 350,000 bytes used: the request below is allowed

    slice_ = build(licence, alice, size=2)

    assert (slice_.status, slice_.asset_count, slice_.reserved_assets) == ("failed", 0, 0)
    assert slice_.failure_reason == ("Only 50,000 bytes remain under this licence's data cap of 350,000: not enough "
                                     "for the next matching asset. Ask the licensor for a larger cap.")
    assert not SliceItem.objects.filter(slice=slice_).exists()
    assert usage(licence) == (3, 300_000, 1)


def test_a_second_slice_leaves_out_the_assets_already_granted_to_the_licence(org_a, alice, org_b, bob):
    licence = research_licence(organisation=org_a, applicant=alice)
    other_licence = research_licence(organisation=org_b, applicant=bob)
    assets = catalogue(10)

    first = build(licence, alice, size=6, seed=3)
    second = build(licence, alice, size=6, seed=3)
    elsewhere = build(other_licence, bob, size=6, seed=3)

    assert second.asset_count == 4
    assert set(granted(first)) | set(granted(second)) == {a.pk for a in assets}
    assert not set(granted(first)) & set(granted(second))
    assert granted(elsewhere) == granted(first)  # another licence may be granted the same works


def test_the_database_refuses_a_second_grant_of_a_work_to_the_same_licence(org_a, alice):
    """What every selection keeps, the database keeps too: a licence pays for each work once."""
    licence = research_licence(organisation=org_a, applicant=alice)
    catalogue(3)
    first = build(licence, alice, size=3, seed=1)
    item = SliceItem.objects.filter(slice=first).first()
    other = Slice.objects.create(licence=licence, number=2, phase=licence.phase, seed=2, size_requested=1)

    with pytest.raises(IntegrityError), transaction.atomic():
        SliceItem.objects.create(slice=other, licence=licence, asset_id=item.asset_id, position=0)
    assert SliceItem.objects.filter(licence=licence, asset_id=item.asset_id).count() == 1


def test_filters_pick_only_the_matching_kind_resolution_duration_and_tags(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice)
    small = catalogue(3, width=640, height=480, tags=["city"])
    large = catalogue(3, width=3840, height=2160, tags=["nature"])
    clips = {
        seconds: catalogue(1, kind="video", mime_type="video/mp4", duration_seconds=seconds, tags=["city"])[0]
        for seconds in (3, 10, 30, 90)
    }

    videos = build(licence, alice, size=10, kind="video", min_duration=5, max_duration=60)
    big_images = build(licence, alice, size=10, kind="image", min_width=3000, min_height=2000)
    city = build(licence, alice, size=10, tags=["city"])

    assert sorted(granted(videos)) == [clips[10].pk, clips[30].pk]
    assert videos.filters == {"kind": "video", "min_duration": 5, "max_duration": 60}
    assert sorted(granted(big_images)) == [a.pk for a in large]
    assert sorted(granted(city)) == sorted([a.pk for a in small] + [clips[3].pk, clips[90].pk])


def test_durations_alone_ask_for_videos(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice)

    slice_ = slice_request(licence=licence, by=alice, size=5, min_duration=2)

    assert slice_.filters == {"kind": "video", "min_duration": 2}
    assert "videos" in slice_.describe_selection()


# The seed


def test_the_same_seed_gives_the_same_slice_on_another_licence_of_the_same_catalogue(org_a, alice, org_b, bob):
    catalogue(40)

    first = build(research_licence(organisation=org_a, applicant=alice), alice, size=15, seed=1234)
    second = build(research_licence(organisation=org_b, applicant=bob), bob, size=15, seed=1234)

    assert len(granted(first)) == 15
    assert granted(second) == granted(first)


def test_a_different_seed_orders_the_same_catalogue_differently(org_a, alice, org_b, bob):
    assets = catalogue(40)
    # Evenly spread ranks: random ones would now and then put both seeds' starting points between the
    # same two of only 40 works (test_slice_selection.py has the rest of the seed's story).
    for n, asset in enumerate(assets):
        Asset.objects.filter(pk=asset.pk).update(rank=(n * 17 % 40) * (RANK_SPACE // 40))

    first = build(research_licence(organisation=org_a, applicant=alice), alice, size=40, seed=1234)
    second = build(research_licence(organisation=org_b, applicant=bob), bob, size=40, seed=4321)

    assert sorted(granted(first)) == sorted(granted(second)) == [a.pk for a in assets]
    assert granted(second) != granted(first)
    assert granted(first) != [a.pk for a in assets]  # shuffled, not in catalogue order


# Contributors who opt out


def test_works_of_contributors_who_opted_out_never_enter_a_slice(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice)
    willing = catalogue(6)
    catalogue(6, contributor=ContributorFactory(opted_out=True))

    slice_ = build(licence, alice, size=12)

    assert (slice_.status, slice_.asset_count) == ("ready", 6)
    assert sorted(granted(slice_)) == [a.pk for a in willing]


def test_opting_out_later_withdraws_research_items_but_not_commercial_ones(org_a, alice, org_b, bob):
    leaving = ContributorFactory()
    theirs = catalogue(5, contributor=leaving)
    others = catalogue(5)
    research = build(research_licence(organisation=org_a, applicant=alice), alice, size=10)
    commercial = build(commercial_licence(organisation=org_b, applicant=bob), bob, size=10)
    assert (research.phase, commercial.phase) == ("research", "commercial")

    assert contributor_set_opt_out(contributor=leaving, opted_out=True, note="No AI training, please.") is True

    research_items = SliceItem.objects.filter(slice=research)
    assert sorted(research_items.filter(withdrawn_at__isnull=False).values_list("asset", flat=True)) == [
        a.pk for a in theirs
    ]
    assert not research_items.filter(asset__in=others, withdrawn_at__isnull=False).exists()
    assert not SliceItem.objects.filter(slice=commercial, withdrawn_at__isnull=False).exists()
    assert SliceItem.objects.filter(slice=commercial).count() == 10
    research.refresh_from_db()
    assert research.asset_count == 10  # the grant happened; the manifest marks the withdrawal
    change = ContributorConsentChange.objects.get(contributor=leaving)
    assert (change.opted_out, change.note) == (True, "No AI training, please.")
    # Asking again changes nothing and withdraws nothing twice.
    stamps = list(research_items.order_by("position").values_list("withdrawn_at", flat=True))
    assert contributor_set_opt_out(contributor=leaving, opted_out=True) is False
    assert list(research_items.order_by("position").values_list("withdrawn_at", flat=True)) == stamps


def test_new_slices_leave_out_a_contributor_who_opted_out_later(org_a, alice, org_b, bob):
    leaving = ContributorFactory()
    catalogue(5, contributor=leaving)
    others = catalogue(5)
    contributor_set_opt_out(contributor=leaving, opted_out=True)

    research = build(research_licence(organisation=org_a, applicant=alice), alice, size=10)
    commercial = build(commercial_licence(organisation=org_b, applicant=bob), bob, size=10)

    assert sorted(granted(research)) == sorted(granted(commercial)) == [a.pk for a in others]


# Refusals


@pytest.mark.parametrize(
    ("state", "phase", "said"),
    [
        ("submitted", "application", "submitted"),
        ("suspended", "research", "suspended"),
        ("expired", "research", "expired"),
        ("revoked", "commercial", "revoked"),
    ],
)
def test_a_licence_that_is_not_active_is_refused_a_slice_and_nothing_is_written(org_a, alice, state, phase, said):
    licence = research_licence(organisation=org_a, applicant=alice, state=state, phase=phase, max_assets=100)
    catalogue(5)

    with pytest.raises(SliceRefused) as refused:
        slice_request(licence=licence, by=alice, size=5)

    assert str(refused.value) == f"Slices can be requested only while the licence is active; it is {said}."
    assert not Slice.objects.exists()
    assert not AuditEvent.objects.filter(action="slice.request").exists()
    assert usage(licence) == (0, 0, 0)


def test_a_licence_past_its_end_date_is_refused_before_the_expiry_job_runs(org_a, alice):
    ended = timezone.now() - timedelta(hours=1)
    licence = research_licence(organisation=org_a, applicant=alice, research_ends_at=ended)

    with pytest.raises(SliceRefused) as refused:
        slice_request(licence=licence, by=alice, size=5)

    assert str(refused.value) == f"The licence ended on {ended:%d %B %Y}: no more slices can be requested."
    assert not Slice.objects.exists()


@pytest.mark.parametrize(
    ("caps", "used", "size", "message"),
    [
        ({"max_assets": 100}, {"used_assets": 95}, 10,
         "You asked for 10 assets but only 5 remain under this licence's cap of 100."),
        ({"max_slices": 2}, {"used_slices": 2}, 1,
         "No slices remain: this licence allows 2 and all have been requested."),
        ({"max_bytes": 1_000_000}, {"used_bytes": 1_000_000}, 1,
         "No data volume remains: this licence's cap of 1,000,000 bytes is used up."),
    ],
    ids=["assets", "slices", "bytes"],
)
def test_a_request_over_what_remains_is_refused_with_what_remains(org_a, alice, caps, used, size, message):
    licence = research_licence(organisation=org_a, applicant=alice, **caps, **used)
    before = usage(licence)

    with pytest.raises(SliceRefused) as refused:
        slice_request(licence=licence, by=alice, size=size)

    assert str(refused.value) == message
    assert usage(licence) == before
    assert not Slice.objects.exists()


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"size": 5, "kind": "video", "min_duration": 30, "max_duration": 10},
         "Cannot request this slice: min_duration must not be greater than max_duration."),
        ({"size": 5, "kind": "audio"}, "Cannot request this slice: kind must be one of image, video."),
        ({"size": 5, "kind": "image", "max_duration": 10},
         "Cannot request this slice: durations apply to videos only: drop them or ask for kind video."),
        ({"size": 5, "min_width": -1},
         "Cannot request this slice: min_width must be a whole number of pixels, 0 or more."),
        ({"size": 5, "tags": "city"}, "Cannot request this slice: tags must be a list of words."),
        ({"size": 0}, "Cannot request this slice: size must be a whole number of assets, 1 or more."),
        ({"size": 5, "seed": -3}, "Cannot request this slice: seed must be a whole number from 0 to 2147483647."),
    ],
    ids=["durations-reversed", "audio", "durations-on-images", "negative-width", "tags-not-a-list", "size-0", "seed"],
)
def test_a_request_with_bad_filters_is_refused_with_a_readable_message_and_nothing_written(
    org_a, alice, request_, message
):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100)

    with pytest.raises(SliceRefused) as refused:
        slice_request(licence=licence, by=alice, **request_)

    assert str(refused.value) == message
    assert usage(licence) == (0, 0, 0)
    assert not Slice.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_build_that_matches_nothing_fails_with_a_reason_and_gives_the_reservation_back(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100, max_slices=5)
    catalogue(10)  # images only
    earlier = build(licence, alice, size=4)

    slice_ = build(licence, alice, size=20, kind="video")

    assert slice_.status == "failed"
    assert slice_.failure_reason == (
        "No assets match these filters once opted-out contributors and assets already granted to this licence are "
        "left out. Widen the filters and ask again."
    )
    assert (slice_.reserved_assets, slice_.asset_count) == (0, 0)
    assert slice_.finished_at is not None
    assert not SliceItem.objects.filter(slice=slice_).exists()
    assert usage(licence) == (4, 400_000, 1)
    assert earlier.status == "ready"
    assert slice_build(slice_id=slice_.pk) is None  # a late redelivery changes nothing
    assert usage(licence) == (4, 400_000, 1)


def test_a_licence_suspended_before_its_build_ran_fails_the_slice_and_gets_its_reservation_back(org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100)
    catalogue(10)
    slice_ = slice_request(licence=licence, by=alice, size=5)
    Licence.objects.filter(pk=licence.pk).update(state="suspended", suspended_from="research_active")

    slice_build(slice_id=slice_.pk)

    slice_.refresh_from_db()
    assert slice_.status == "failed"
    assert slice_.failure_reason == "The licence became suspended before the slice was built."
    assert not SliceItem.objects.filter(slice=slice_).exists()
    assert usage(licence) == (0, 0, 0)


# Pages


def test_the_licence_page_offers_the_applicant_a_slice_form_with_the_remaining_caps(client_for, org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100, used_assets=40,
                               max_slices=10, used_slices=3)

    response = client_for(alice).get(f"/licences/{licence.pk}/")

    assert response.status_code == 200
    page = text_of(response)
    assert "Request a slice" in page
    assert "Remaining under this licence: 60 assets, unlimited data, 7 slices." in re.sub(r"\s+", " ", page)
    assert f'action="/licences/{licence.pk}/slices/"' in page
    for field in ("slice-size", "slice-kind", "slice-min_width", "slice-min_duration", "slice-tags", "slice-seed"):
        assert f'name="{field}"' in page


def test_a_reviewer_sees_the_slices_but_no_request_form(client_for, org_a, alice, rita):
    licence = research_licence(organisation=org_a, applicant=alice)
    catalogue(5)
    build(licence, alice, size=3)

    response = client_for(rita).get(f"/licences/{licence.pk}/")

    assert response.status_code == 200
    page = text_of(response)
    assert "Request a slice" not in page
    assert 'name="slice-size"' not in page
    assert f"/slices/{Slice.objects.get().pk}/manifest.jsonl" in page


def test_posting_the_form_requests_a_slice_and_shows_it_building(client_for, org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100)
    catalogue(10)
    client = client_for(alice)

    response = client.post(f"/licences/{licence.pk}/slices/",
                           {"slice-size": "5", "slice-kind": "image", "slice-tags": "city, night", "slice-seed": "42"})

    slice_ = Slice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/slices/{slice_.pk}/"
    assert (slice_.size_requested, slice_.seed, slice_.requested_by) == (5, 42, alice)
    assert slice_.filters == {"kind": "image", "tags": ["city", "night"]}
    assert usage(licence) == (5, 0, 1)
    # The job has not run (its dispatch waits for a commit this test never makes): the page polls.
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = text_of(page)
    assert "Slice 1 requested: it is being built, and this page follows its progress." in body
    assert f'hx-get="/slices/{slice_.pk}/"' in body
    assert "Building… this page updates by itself." in body
    assert "manifest.jsonl" not in body


def test_a_slice_page_shows_the_manifests_once_ready_and_stops_polling(client_for, org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice)
    catalogue(10, bytes=1_000)
    slice_ = build(licence, alice, size=7)
    client = client_for(alice)

    page = client.get(f"/slices/{slice_.pk}/")
    fragment = client.get(f"/slices/{slice_.pk}/", HTTP_HX_REQUEST="true")

    assert page.status_code == fragment.status_code == 200
    body = text_of(page)
    assert "hx-get" not in body
    assert "Ready" in body
    for fmt in ("manifest.jsonl", "manifest.csv", "croissant.json"):
        assert f'href="/slices/{slice_.pk}/{fmt}"' in body
    assert slice_.describe_selection() in body
    assert "<html" not in fragment.content.decode()
    assert f'href="/slices/{slice_.pk}/manifest.csv"' in text_of(fragment)


def test_a_failed_slice_page_says_why(client_for, org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice)
    slice_ = build(licence, alice, size=7)  # an empty catalogue

    body = text_of(client_for(alice).get(f"/slices/{slice_.pk}/"))

    assert "Failed" in body
    assert "No assets match these filters" in body
    assert "hx-get" not in body
    assert "manifest.jsonl" not in body


def test_a_refused_request_returns_to_the_licence_page_with_the_reason(client_for, org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100)
    client = client_for(alice)

    response = client.post(f"/licences/{licence.pk}/slices/", {"slice-size": "500", "slice-seed": "42"})

    assert response.status_code == 400
    assert "You asked for 500 assets but only 100 remain under this licence's cap of 100." in text_of(response)
    html = response.content.decode()
    assert 'name="slice-size" value="500"' in html and 'name="slice-seed" value="42"' in html, "nothing to retype"
    assert not Slice.objects.exists()
    assert usage(licence) == (0, 0, 0)


def test_a_form_with_errors_returns_to_the_licence_page_naming_the_field(client_for, org_a, alice):
    licence = research_licence(organisation=org_a, applicant=alice)

    response = client_for(alice).post(
        f"/licences/{licence.pk}/slices/",
        {"slice-size": "5", "slice-kind": "video", "slice-min_duration": "30", "slice-max_duration": "10"},
    )

    assert response.status_code == 400
    assert ("The slice request has errors: Maximum video duration (s): Must be at least the minimum duration."
            in text_of(response))
    assert 'name="slice-min_duration" value="30"' in response.content.decode()
    assert not Slice.objects.exists()


def test_another_organisation_can_neither_see_nor_request_slices_of_a_licence(client_for, org_a, alice, bob):
    licence = research_licence(organisation=org_a, applicant=alice)
    catalogue(5)
    slice_ = build(licence, alice, size=2)
    client = client_for(bob)

    assert client.get(f"/licences/{licence.pk}/").status_code == 404
    assert client.post(f"/licences/{licence.pk}/slices/", {"slice-size": "1"}).status_code == 404
    assert client.get(f"/slices/{slice_.pk}/").status_code == 404
    assert Slice.objects.count() == 1
    assert usage(licence) == (2, 200_000, 1)
