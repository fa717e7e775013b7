"""Catalogue feeds: valid, invalid and repeated feeds; the report's lines; the command; the page."""
import hashlib
import io
import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from licensing.models import Asset, Collection, Contributor, IngestRun, Rightsholder
from licensing.services.catalogue import catalogue_verify, ingest_run_create, ingest_run_execute
from tests.conftest import make_organisation

SHA = "a" * 64
HEADER = ("external_id,kind,title,tags,width,height,duration_seconds,bytes,mime_type,sha256,storage_key,"
          "contributor_external_id,contributor_name,collection,rightsholders")


def csv_feed(*lines):
    return (HEADER + "\n" + "\n".join(lines) + "\n").encode()


def image_row(external_id, *, title="Harbour at dawn", contributor="C-1", name="Ana Ribeiro", collection="",
              rights="", width=1920, sha=SHA, key="", size=1000, tags="sea|dawn"):
    return (f"{external_id},image,{title},{tags},{width},1080,,{size},image/jpeg,{sha},{key},{contributor},{name},"
            f"{collection},{rights}")


def ingest(content, name="feed.csv", by=None):
    run = ingest_run_create(upload=ContentFile(content, name=name), by=by, file_name=name, schedule=False)
    return ingest_run_execute(run_id=run.pk)


def reasons(run):
    return [(r.line, r.reason) for r in run.rejections.all()]


@pytest.mark.django_db
def test_a_valid_feed_creates_its_works_contributors_and_collections():
    run = ingest(csv_feed(
        image_row("W-1", collection="Harbours"),
        image_row("W-2", title="Night market", contributor="C-2", name="Bo Chen", collection="Harbours"),
        "W-3,video,Tide,sea,3840,2160,12.5,2000000,video/mp4," + "b" * 64 + ",,C-1,Ana Ribeiro,,",
    ))
    assert (run.status, run.rows, run.created, run.changed, run.unchanged, run.rejected) == ("done", 3, 3, 0, 0, 0)
    assert set(Contributor.objects.values_list("external_id", "display_name")) == {
        ("C-1", "Ana Ribeiro"), ("C-2", "Bo Chen")}
    harbours = Collection.objects.get(name="Harbours")
    assert harbours.owner_contributor.external_id == "C-1"
    assert sorted(harbours.works.values_list("external_id", flat=True)) == ["W-1", "W-2"]
    video = Asset.objects.get(external_id="W-3")
    assert (video.kind, video.duration_seconds, video.width, video.tags) == ("video", 12.5, 3840, ["sea"])
    assert Asset.objects.get(external_id="W-1").tags == ["sea", "dawn"]


@pytest.mark.django_db
def test_the_same_feed_a_second_time_changes_nothing():
    feed = csv_feed(image_row("W-1", collection="Harbours"), image_row("W-2", rights="contributor:C-1=100"))
    ingest(feed)
    before = list(Asset.objects.order_by("pk").values())
    again = ingest(feed)
    assert (again.created, again.changed, again.unchanged, again.rejected) == (0, 0, 2, 0)
    assert list(Asset.objects.order_by("pk").values()) == before


@pytest.mark.django_db
def test_a_changed_row_is_updated_in_place_and_counted_once():
    ingest(csv_feed(image_row("W-1"), image_row("W-2")))
    first = Asset.objects.get(external_id="W-1")
    run = ingest(csv_feed(image_row("W-1", title="Harbour at dusk"), image_row("W-2")))
    assert (run.created, run.changed, run.unchanged) == (0, 1, 1)
    changed = Asset.objects.get(external_id="W-1")
    assert (changed.pk, changed.title) == (first.pk, "Harbour at dusk")


@pytest.mark.django_db
def test_every_rejected_row_is_reported_with_its_line_and_the_rest_is_taken():
    run = ingest(csv_feed(
        image_row("W-1"),                                   # line 2
        image_row("W-2", width="wide"),                     # line 3
        "W-3,sculpture,Bust,,10,10,,5,image/jpeg," + SHA + ",,C-1,Ana,,",  # line 4
        image_row("W-4", sha="xyz"),                        # line 5
        image_row("W-1", title="Duplicate"),                # line 6
        "W-6,video,Clip,,10,10,,5,video/mp4," + SHA + ",,C-1,Ana,,",  # line 7: no duration
        "W-7,image,Short row",                              # line 8
        image_row("W-8", key="../etc/passwd"),              # line 9
        image_row("", title="No id"),                       # line 10
    ))
    assert (run.status, run.rows, run.created, run.rejected) == ("done", 9, 1, 8)
    assert reasons(run) == [
        (3, "width must be a whole number, not “wide”"),
        (4, "kind must be image or video, not “sculpture”"),
        (5, "sha256 must be 64 hexadecimal digits"),
        (6, "external id W-1 is already on line 2"),
        (7, "duration_seconds is empty: a video needs its length in seconds"),
        (8, "has 3 fields where the header names 15"),
        (9, "storage_key must be a relative path inside the media storage"),
        (10, "external_id is empty"),
    ]
    assert list(Asset.objects.values_list("external_id", flat=True)) == ["W-1"]


@pytest.mark.django_db
def test_shares_that_do_not_add_up_are_refused_naming_the_work():
    studio = make_organisation("Lighthouse Films", kind="studio")
    run = ingest(csv_feed(
        image_row("W-1", rights=f"contributor:C-1=60|organisation:{studio.slug}=30"),
        image_row("W-2", rights=f"contributor:C-1=60|organisation:{studio.slug}=40"),
        image_row("W-3", rights="contributor:C-404=100"),
    ))
    assert reasons(run) == [
        (2, "the rightsholders' shares of work W-1 add to 90%, not 100%"),
        (4, "rightsholder contributor C-404 of work W-3 is not in the catalogue or this feed"),
    ]
    assert list(Asset.objects.values_list("external_id", flat=True)) == ["W-2"]
    shares = {(r.contributor_id and r.contributor.external_id, r.organisation_id, r.share_bp)
              for r in Rightsholder.objects.all()}
    assert shares == {("C-1", None, 6000), (None, studio.pk, 4000)}


@pytest.mark.django_db
def test_a_jsonl_feed_reads_lists_and_numbers_and_reports_its_lines():
    studio = make_organisation("Lighthouse Films", kind="studio")
    rows = [
        {"external_id": "F-1", "kind": "video", "title": "Opening", "tags": ["film"], "width": 1920, "height": 800,
         "duration_seconds": 95.5, "bytes": 50_000_000, "mime_type": "video/mp4", "sha256": SHA,
         "contributor_external_id": "C-9", "contributor_name": "Dir Ector", "collection": "Lighthouse catalogue",
         "rightsholders": [{"organisation": studio.slug, "share": 70}, {"contributor": "C-9", "share": 30}]},
        "not json",
        {"external_id": "F-2", "kind": "image", "title": 5},
    ]
    content = "\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows).encode()
    run = ingest(content, name="films.jsonl")
    assert (run.created, run.rejected) == (1, 2)
    assert [line for line, _ in reasons(run)] == [2, 3]
    assert reasons(run)[0][1].startswith("is not JSON")
    film = Asset.objects.get(external_id="F-1")
    assert film.collection.name == "Lighthouse catalogue"
    assert sorted(film.rightsholders.values_list("share_bp", flat=True)) == [3000, 7000]


@pytest.mark.django_db
def test_a_feed_without_the_required_columns_fails_as_a_whole_and_says_which():
    run = ingest(b"external_id,title\nW-1,Harbour\n")
    assert run.status == "failed"
    assert "lacks the columns kind, width, height, bytes, mime_type, sha256" in run.failure_reason
    assert not Asset.objects.exists()


@pytest.mark.django_db
def test_verification_reads_the_file_and_flags_what_differs(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "navy").save(buffer, "PNG")
    data = buffer.getvalue()
    default_storage.save("works/good.png", ContentFile(data))
    default_storage.save("works/bad.png", ContentFile(data))
    sha = hashlib.sha256(data).hexdigest()
    feed = csv_feed(
        f"W-1,image,Good,,64,48,,{len(data)},image/png,{sha},works/good.png,C-1,Ana,,",
        f"W-2,image,Bad,,640,480,,{len(data) + 1},image/png,{'0' * 64},works/bad.png,C-1,Ana,,",
        f"W-3,image,Missing,,64,48,,10,image/png,{sha},works/missing.png,C-1,Ana,,",
    )
    run = ingest(feed)
    assert run.status == "verifying"
    catalogue_verify(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.files_checked, run.files_mismatched) == ("done", 3, 2)
    good, bad, missing = (Asset.objects.get(external_id=e) for e in ("W-1", "W-2", "W-3"))
    assert good.verified_at and good.verification_problems == ""
    assert bad.verification_problems.splitlines() == [
        f"The file has {len(data):,} bytes; the row says {len(data) + 1:,}.",
        f"The file's SHA-256 is {sha}; the row says {'0' * 64}.",
        "The file is 64×48 px; the row says 640×480.",
    ]
    assert missing.verification_problems == "No file in storage at works/missing.png."
    again = ingest(feed)
    assert (again.status, again.changed, again.unchanged) == ("done", 0, 3)


@pytest.mark.django_db
def test_the_command_brings_a_feed_in_and_prints_the_report(tmp_path, capsys):
    path = tmp_path / "feed.csv"
    path.write_bytes(csv_feed(image_row("W-1"), image_row("W-2", width="0")))
    call_command("ingest_catalog", str(path))
    out = capsys.readouterr().out
    assert "2 rows, 1 new, 0 changed, 0 unchanged, 1 rejected." in out
    assert "line 3: width must be from 1 to 2,147,483,647, not 0" in out
    call_command("ingest_catalog", str(path))
    assert "0 new, 0 changed, 1 unchanged, 1 rejected." in capsys.readouterr().out
    with pytest.raises(CommandError, match="neither a CSV"):
        bad = tmp_path / "feed.xlsx"
        bad.write_bytes(b"x")
        call_command("ingest_catalog", str(bad))


@pytest.mark.django_db
def test_staff_upload_a_feed_on_the_page_and_read_its_report(client_for, rita, alice, settings, tmp_path,
                                                             django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = str(tmp_path)
    client = client_for(rita)
    upload = ContentFile(csv_feed(image_row("W-1"), image_row("W-2", sha="nope")), name="feed.csv")
    with django_capture_on_commit_callbacks(execute=True):  # the job runs in-process once the request commits
        response = client.post("/catalogue/ingest/", {"feed": upload})
    run = IngestRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/catalogue/ingest/{run.pk}/"
    page = client.get(f"/catalogue/ingest/{run.pk}/").content.decode()
    assert "sha256 must be 64 hexadecimal digits" in page and "<td>3</td>" in page
    assert client.post("/catalogue/ingest/", {"feed": ContentFile(b"x", name="feed.pdf")}).status_code == 400
    rejected = b"".join(client.get(f"/catalogue/ingest/{run.pk}/rejected.csv").streaming_content).decode()
    assert rejected.splitlines() == ["line,external_id,reason", "3,W-2,sha256 must be 64 hexadecimal digits"]
    assert client.get("/catalogue/ingest/999999/").status_code == 404
    assert client_for(alice).get(f"/catalogue/ingest/{run.pk}/").status_code == 403


def asset_indexes():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname",
                       [Asset._meta.db_table])
        return cursor.fetchall()


@pytest.mark.django_db
def test_a_feed_read_in_many_chunks_gives_the_same_catalogue_and_report(monkeypatch):
    from licensing.services import catalogue as service

    studio = make_organisation("Lighthouse Films", kind="studio")
    feed = csv_feed(
        image_row("W-1", collection="Harbours"),
        image_row("W-2", rights=f"contributor:C-9=50|organisation:{studio.slug}=50"),
        image_row("W-3", width="x"),
        image_row("W-4", contributor="C-9", name="Late Named"),
        image_row("W-5", contributor="C-9", name="Named Last", collection="Harbours"),
        image_row("W-1"),
    )
    from licensing import feeds

    monkeypatch.setattr(feeds, "BLOCK_CHARS", 1)  # a line a block
    monkeypatch.setattr(service, "CHUNK_ROWS", 2)
    monkeypatch.setattr(service, "KEYS_CHECKED_ONCE_FROM", 2)  # checks the foreign keys once, as for a large feed
    dropped = []
    monkeypatch.setattr(service._BulkLoad, "drop", lambda keys, indexes, original=service._BulkLoad.drop: (
        dropped.append(indexes) or original(keys, indexes=indexes)))
    indexes_before = asset_indexes()
    run = ingest(feed)
    assert dropped == [True], "a feed that adds more than a quarter of the catalogue builds the indexes again"
    assert asset_indexes() == indexes_before
    assert (run.rows, run.created, run.changed, run.unchanged, run.rejected) == (6, 4, 0, 0, 2)
    assert [line for line, _ in reasons(run)] == [4, 7]
    assert Contributor.objects.get(external_id="C-9").display_name == "Named Last"
    assert Asset.objects.get(external_id="W-2").rightsholders.count() == 2
    assert Collection.objects.get(name="Harbours").works.count() == 2
    again = ingest(feed)
    assert (again.created, again.changed, again.unchanged, again.rejected) == (0, 0, 4, 2)
    assert dropped == [True], "a feed that changes nothing keeps the keys (and the table open to readers)"


@pytest.mark.django_db
def test_verification_reads_a_videos_dimensions_and_duration(settings, tmp_path):
    import random

    from licensing.management.commands.seed_demo import render_video

    settings.MEDIA_ROOT = str(tmp_path)
    data = render_video(random.Random(1), 64, 48, frames=50, fps=25)  # two seconds
    default_storage.save("works/clip.mp4", ContentFile(data))
    sha = hashlib.sha256(data).hexdigest()
    run = ingest(csv_feed(
        f"V-1,video,Clip,,64,48,2.0,{len(data)},video/mp4,{sha},works/clip.mp4,C-1,Ana,,",
        f"V-2,video,Clip said longer,,64,48,9.0,{len(data)},video/mp4,{sha},works/clip.mp4,C-1,Ana,,",
    ))
    catalogue_verify(run_id=run.pk)
    assert Asset.objects.get(external_id="V-1").verification_problems == ""
    problems = Asset.objects.get(external_id="V-2").verification_problems
    assert problems.startswith("The file runs 2.") and problems.endswith("s; the row says 9.00 s.")


@pytest.mark.django_db
def test_quoted_values_line_breaks_and_a_feed_of_only_the_required_columns_are_staged_as_they_say():
    feed = (HEADER + "\r\n"
            + image_row("W-1", title='"Harbour, at ""dawn"""', tags='"sea|sea"') + "\r\n"
            + image_row("W-2", title='"Two\nlines"') + "\r\n"
            + image_row("W-3", title="Plain") + "\r\n").encode()
    run = ingest(feed)
    assert (run.created, run.rejected) == (3, 0)
    assert Asset.objects.get(external_id="W-1").title == 'Harbour, at "dawn"'
    assert Asset.objects.get(external_id="W-1").tags == ["sea"]
    assert Asset.objects.get(external_id="W-2").title == "Two\nlines"
    assert Asset.objects.get(external_id="W-3").title == "Plain"

    minimal = ("kind,external_id,title,width,height,bytes,mime_type,sha256,contributor_external_id,contributor_name\n"
               f"image,M-1,Bare,10,20,30,image/png,{SHA},C-7,Cy\n").encode()
    run = ingest(minimal)
    assert (run.created, run.rejected) == (1, 0)
    bare = Asset.objects.get(external_id="M-1")
    assert (bare.width, bare.height, bare.bytes, bare.tags, bare.duration_seconds, bare.storage_key,
            bare.collection) == (10, 20, 30, [], None, "", None)
    assert ingest(minimal).unchanged == 1


@pytest.mark.django_db
def test_a_contributor_is_named_by_the_last_line_even_when_a_later_chunk_renames_them(monkeypatch):
    from licensing import feeds
    from licensing.services import catalogue as service

    monkeypatch.setattr(feeds, "BLOCK_CHARS", 1)
    monkeypatch.setattr(service, "CHUNK_ROWS", 1)
    feed = csv_feed(image_row("W-1", contributor="C-1", name="First"), image_row("W-2", contributor="C-1", name="Last"))
    ingest(feed)
    assert Contributor.objects.get(external_id="C-1").display_name == "Last"
    ingest(csv_feed(image_row("W-3", contributor="C-1", name="Renamed")))
    assert Contributor.objects.get(external_id="C-1").display_name == "Renamed"
