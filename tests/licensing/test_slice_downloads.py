"""A granted slice as the licensee's pipeline reads it over HTTP: manifests (JSONL, CSV, Croissant),
and the signed, expiring download links in them."""
import csv
import hashlib
import io
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.shortcuts import resolve_url

from licensing import downloads
from licensing.manifests import COLUMNS
from licensing.models import SliceItem
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.licences import licence_suspend
from licensing.services.slices import slice_build, slice_request
from tests.licensing.factories import (
    AssetFactory,
    ContributorFactory,
    catalogue,
    commercial_licence,
    research_licence,
)

FORMATS = ("manifest.jsonl", "manifest.csv", "croissant.json")


def build(licence, by, **request):
    slice_ = slice_request(licence=licence, by=by, **request)
    slice_build(slice_id=slice_.pk)
    slice_.refresh_from_db()
    return slice_


def stored_asset(contributor, n, *, kind="image"):
    """A catalogue asset with a real (small) file behind it in the media storage."""
    content = f"{kind} {n} by {contributor.pk}: ".encode() + bytes(range(256)) * (n + 1)
    mime = "video/mp4" if kind == "video" else "image/jpeg"
    key = default_storage.save(f"catalogue/{contributor.pk}/{kind}-{n}.bin", ContentFile(content))
    return AssetFactory(contributor=contributor, kind=kind, mime_type=mime, bytes=len(content),
                        sha256=hashlib.sha256(content).hexdigest(), storage_key=key,
                        duration_seconds=4.5 if kind == "video" else None, title=f"{kind.title()} {n}")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def local(url):
    """The path of an absolute link the app wrote, for the test client."""
    assert url.startswith(settings.SITE_URL + "/"), url
    return url[len(settings.SITE_URL):]


def body_of(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def jsonl_items(client, slice_):
    response = client.get(f"/slices/{slice_.pk}/manifest.jsonl")
    assert response.status_code == 200, body_of(response)
    return [json.loads(line) for line in body_of(response).decode().splitlines()]


def link_of(client, slice_, asset):
    (item,) = [i for i in jsonl_items(client, slice_) if i["asset_id"] == asset.pk]
    return local(item["download_url"])


@pytest.fixture
def granted(media, org_a, alice):
    """Alice's research licence with one slice of three stored works by two contributors."""
    keeps, leaves = ContributorFactory(display_name="Keeps"), ContributorFactory(display_name="Leaves")
    assets = [stored_asset(keeps, 1), stored_asset(keeps, 2, kind="video"), stored_asset(leaves, 3)]
    licence = research_licence(organisation=org_a, applicant=alice, max_assets=100)
    slice_ = build(licence, alice, size=10, seed=8)
    assert slice_.asset_count == 3
    return {"licence": licence, "slice": slice_, "assets": assets, "keeps": keeps, "leaves": leaves}


# Downloads


@pytest.mark.django_db
def test_the_signed_link_downloads_the_file_with_its_checksum(client_for, alice, granted, client):
    links = {item["asset_id"]: item for item in jsonl_items(client_for(alice), granted["slice"])}
    client.logout()  # a training pipeline holds the link, not a session

    for asset in granted["assets"]:
        response = client.get(local(links[asset.pk]["download_url"]))
        content = body_of(response)
        assert response.status_code == 200
        assert content == default_storage.open(asset.storage_key).read()
        assert hashlib.sha256(content).hexdigest() == asset.sha256 == links[asset.pk]["sha256"]
        assert len(content) == asset.bytes == links[asset.pk]["bytes"]
        assert response["X-Checksum-SHA256"] == asset.sha256
        assert response["Content-Type"] == asset.mime_type
        extension = ".mp4" if asset.kind == "video" else ".jpg"
        assert response["Content-Disposition"] == f'attachment; filename="{asset.pk}{extension}"'
        assert "tdm-reservation" not in response


@pytest.mark.django_db
def test_a_withdrawn_item_answers_410_gone_and_says_so(client_for, alice, granted, client):
    link = link_of(client_for(alice), granted["slice"], granted["assets"][2])
    contributor_set_opt_out(contributor=granted["leaves"], opted_out=True)
    withdrawn_at = SliceItem.objects.get(asset=granted["assets"][2]).withdrawn_at

    response = client.get(link)

    assert response.status_code == 410
    assert response.content.decode() == (
        f"Withdrawn: the contributor opted out of AI training on {withdrawn_at:%d %B %Y}. "
        "Delete this item from your copies of the slice."
    )
    still_granted = client.get(link_of(client_for(alice), granted["slice"], granted["assets"][0]))
    assert still_granted.status_code == 200


@pytest.mark.django_db
def test_a_commercial_grant_still_downloads_after_an_opt_out_with_a_tdm_reservation(media, org_b, bob, client_for):
    leaves = ContributorFactory()
    asset = stored_asset(leaves, 1)
    slice_ = build(commercial_licence(organisation=org_b, applicant=bob), bob, size=5)
    link = link_of(client_for(bob), slice_, asset)
    contributor_set_opt_out(contributor=leaves, opted_out=True)

    response = client_for(bob).get(link)

    assert response.status_code == 200
    assert body_of(response) == default_storage.open(asset.storage_key).read()
    assert response["tdm-reservation"] == "1"


@pytest.mark.django_db
def test_an_asset_outside_the_slice_or_a_tampered_link_answers_404(client_for, alice, bob, org_b, granted, client):
    link = link_of(client_for(alice), granted["slice"], granted["assets"][0])
    token = link.split("/")[2]
    outsider = stored_asset(ContributorFactory(), 9)  # in the catalogue, not in the slice
    videos_only = build(research_licence(organisation=org_b, applicant=bob), bob, size=10, kind="video")
    assert not SliceItem.objects.filter(slice=videos_only, asset=granted["assets"][0]).exists()
    other_token = downloads.slice_token(videos_only)

    assert client.get(f"/dl/{token}/assets/{outsider.pk}").status_code == 404
    assert client.get(f"/dl/{other_token}/assets/{granted['assets'][0].pk}").status_code == 404
    tampered = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    assert client.get(f"/dl/{tampered}/assets/{granted['assets'][0].pk}").status_code == 404
    assert client.get(f"/dl/not-a-token/assets/{granted['assets'][0].pk}").status_code == 404
    assert client.get(link).status_code == 200  # the untouched link still works


@pytest.mark.django_db
def test_an_expired_link_answers_403_and_says_to_fetch_the_manifest_again(granted, client):
    asset = granted["assets"][0]
    signed_at = time.time() - settings.SLICE_LINK_TTL_SECONDS - 60
    with mock.patch("django.core.signing.time.time", return_value=signed_at):
        stale = downloads.slice_token(granted["slice"])

    for url in (f"/dl/{stale}/assets/{asset.pk}", f"/dl/{stale}/manifest.csv"):
        response = client.get(url)
        assert response.status_code == 403
        assert response.content.decode() == (
            "This download link has expired. Fetch the slice's manifest again for fresh links."
        )
    assert client.get(f"/dl/{downloads.slice_token(granted['slice'])}/assets/{asset.pk}").status_code == 200


@pytest.mark.django_db
def test_a_metadata_only_asset_answers_that_there_is_no_file(client_for, org_a, alice):
    (asset,) = catalogue(1)  # no storage_key
    slice_ = build(research_licence(organisation=org_a, applicant=alice), alice, size=1)

    response = client_for(alice).get(link_of(client_for(alice), slice_, asset))

    assert response.status_code == 404
    assert response.content.decode() == (
        f"Asset {asset.pk} is a metadata-only catalogue row: there is no file to download."
    )


@pytest.mark.django_db
def test_a_file_missing_from_storage_answers_404_and_says_so(client_for, alice, granted):
    asset = granted["assets"][0]
    default_storage.delete(asset.storage_key)

    response = client_for(alice).get(link_of(client_for(alice), granted["slice"], asset))

    assert response.status_code == 404
    assert response.content.decode() == (
        f"The file of asset {asset.pk} is missing from storage; the licensor has been told."
    )


@pytest.mark.django_db
def test_the_links_of_a_suspended_licence_answer_403(client_for, alice, adam, granted, client):
    link = link_of(client_for(alice), granted["slice"], granted["assets"][0])
    token = link.split("/")[2]
    licence_suspend(licence=granted["licence"], by=adam, reason="Unpaid invoice.")

    for url in (link, f"/dl/{token}/manifest.csv"):
        response = client.get(url)
        assert response.status_code == 403
        assert response.content.decode() == "The licence is suspended: its downloads are closed."


@pytest.mark.django_db
def test_another_organisation_gets_404_for_the_slice_and_its_manifests(client_for, bob, granted):
    client = client_for(bob)
    slice_id = granted["slice"].pk

    assert client.get(f"/slices/{slice_id}/").status_code == 404
    for fmt in FORMATS:
        response = client.get(f"/slices/{slice_id}/{fmt}")
        assert response.status_code == 404
        assert str(granted["assets"][0].pk) not in response.content.decode()


@pytest.mark.django_db
def test_manifests_need_a_login_and_a_known_format(client, client_for, alice, granted):
    slice_id = granted["slice"].pk

    anonymous = client.get(f"/slices/{slice_id}/manifest.jsonl")
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"{resolve_url(settings.LOGIN_URL)}?next=/slices/{slice_id}/manifest.jsonl"
    assert client_for(alice).get(f"/slices/{slice_id}/manifest.xml").status_code == 404


# Manifests


@pytest.mark.django_db
def test_the_jsonl_manifest_has_one_line_per_item_with_its_fields_and_withdrawals(client_for, alice, granted):
    contributor_set_opt_out(contributor=granted["leaves"], opted_out=True)
    items = list(SliceItem.objects.filter(slice=granted["slice"]).select_related("asset").order_by("position"))

    response = client_for(alice).get(f"/slices/{granted['slice'].pk}/manifest.jsonl")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Cache-Control"] == "private, no-store"
    lines = [json.loads(line) for line in body_of(response).decode().splitlines()]
    assert [line["asset_id"] for line in lines] == [item.asset_id for item in items]
    for line, item in zip(lines, items):
        asset = item.asset
        assert list(line) == list(COLUMNS)
        assert {k: line[k] for k in ("kind", "title", "mime_type", "bytes", "sha256", "width", "height")} == {
            "kind": asset.kind, "title": asset.title, "mime_type": asset.mime_type, "bytes": asset.bytes,
            "sha256": asset.sha256, "width": asset.width, "height": asset.height,
        }
        assert line["duration_seconds"] == asset.duration_seconds
        assert line["contributor_ref"] == f"contributor-{asset.contributor_id}"
        assert line["download_url"].endswith(f"/assets/{asset.pk}")
        leaving = asset.contributor_id == granted["leaves"].pk
        assert line["withdrawn"] is leaving
        assert (datetime.fromisoformat(line["withdrawn_at"]) if leaving else None) == item.withdrawn_at
    assert "Leaves" not in body_of(response).decode()  # a reference, never the contributor's name


@pytest.mark.django_db
def test_the_csv_manifest_has_a_header_and_one_row_per_item_with_withdrawals(client_for, alice, granted):
    contributor_set_opt_out(contributor=granted["leaves"], opted_out=True)
    items = list(SliceItem.objects.filter(slice=granted["slice"]).select_related("asset").order_by("position"))

    response = client_for(alice).get(f"/slices/{granted['slice'].pk}/manifest.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(body_of(response).decode(), newline="")))
    assert list(rows[0]) == list(COLUMNS)
    assert [int(row["asset_id"]) for row in rows] == [item.asset_id for item in items]
    for row, item in zip(rows, items):
        assert row["sha256"] == item.asset.sha256
        assert int(row["bytes"]) == item.asset.bytes
        assert row["withdrawn"] == ("true" if item.withdrawn_at else "false")
        assert (datetime.fromisoformat(row["withdrawn_at"]) if row["withdrawn_at"] else None) == item.withdrawn_at
    assert sum(row["withdrawn"] == "true" for row in rows) == 1


@pytest.mark.django_db
def test_a_manifest_of_a_slice_still_building_answers_409(client_for, org_a, alice):
    catalogue(3)
    slice_ = slice_request(licence=research_licence(organisation=org_a, applicant=alice), by=alice, size=3)

    for fmt in FORMATS:
        response = client_for(alice).get(f"/slices/{slice_.pk}/{fmt}")
        assert response.status_code == 409
        assert response.content.decode() == "Slice 1 is queued: its manifest exists once it is ready."


@pytest.fixture
def mlcroissant_cache(monkeypatch, tmp_path):
    from mlcroissant._src.core import constants as croissant_constants

    # mlcroissant caches every download in the user's home, keyed by URL: keep this test's own.
    monkeypatch.setattr(croissant_constants, "DOWNLOAD_PATH", croissant_constants.epath.Path(tmp_path / "download"))
    monkeypatch.setattr(croissant_constants, "EXTRACT_PATH", croissant_constants.epath.Path(tmp_path / "extract"))
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.mark.django_db(transaction=True)
def test_the_croissant_passes_mlcroissant_validate_and_its_records_are_read_from_the_live_site(
    live_server, settings, mlcroissant_cache, tmp_path, client_for, alice, granted
):
    import mlcroissant

    settings.SITE_URL = live_server.url
    contributor_set_opt_out(contributor=granted["leaves"], opted_out=True)
    slice_ = granted["slice"]
    items = list(SliceItem.objects.filter(slice=slice_).select_related("asset").order_by("position"))

    response = client_for(alice).get(f"/slices/{slice_.pk}/croissant.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/ld+json"
    path = tmp_path / "croissant.json"
    path.write_bytes(body_of(response))
    document = json.loads(path.read_text())
    assert document["url"] == f"{live_server.url}/slices/{slice_.pk}/"
    assert document["license"] == f"{live_server.url}/licences/{granted['licence'].pk}/terms.jsonld"
    assert document["distribution"][0]["contentUrl"].startswith(f"{live_server.url}/dl/")
    # After the items come the slice's WebDataset shards, written by the job the build scheduled.
    files = [f for f in document["distribution"][1:] if f["@id"].startswith("asset-")]
    assert [f["@id"] for f in files] == [f"asset-{item.asset_id}" for item in items]
    assert [f.get("creativeWorkStatus") for f in files] == [
        "Withdrawn" if item.withdrawn_at else None for item in items
    ]

    validated = subprocess.run(
        [str(Path(sys.executable).with_name("mlcroissant")), "validate", "--jsonld", str(path)],
        capture_output=True, text=True, timeout=120,
    )
    output = validated.stdout + validated.stderr
    assert validated.returncode == 0, output
    assert "Done." in output
    assert "error" not in output.lower() and "warning" not in output.lower(), output

    records = list(mlcroissant.Dataset(jsonld=str(path)).records("items"))

    assert [r["items/asset_id"] for r in records] == [item.asset_id for item in items]
    assert [r["items/sha256"].decode() for r in records] == [item.asset.sha256 for item in items]
    assert [bool(r["items/withdrawn"]) for r in records] == [item.withdrawn_at is not None for item in items]
    downloaded = [r["items/download_url"].decode() for r in records]
    assert all(url.startswith(f"{live_server.url}/dl/") for url in downloaded)
