"""Per-item downloads at training speed: Range (206), ETag and If-None-Match (304), X-Accel-Redirect for
nginx, the refusals kept (410 withdrawn, tdm-reservation); and shards from S3 (moto's standalone server
on loopback) answered with a redirect to a presigned URL."""
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from licensing.models import Shard
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.delivery import slice_shards_write
from tests.licensing.factories import ContributorFactory, commercial_licence, research_licence
from tests.licensing.test_slice_downloads import body_of, build, link_of, local, media, stored_asset  # noqa: F401


@pytest.fixture
def granted(media, org_a, alice):
    ana = ContributorFactory()
    asset = stored_asset(ana, 40)
    licence = research_licence(organisation=org_a, applicant=alice)
    slice_ = build(licence, alice, size=1, seed=1)
    return {"asset": asset, "slice": slice_, "contributor": ana, "licence": licence}


def test_an_item_download_answers_range_etag_and_304(client_for, alice, granted):
    client = client_for(alice)
    asset = granted["asset"]
    url = link_of(client, granted["slice"], asset)
    whole = client.get(url)
    content = body_of(whole)
    assert whole["ETag"] == f'"{asset.sha256}"' and whole["Accept-Ranges"] == "bytes"
    assert whole["X-Checksum-SHA256"] == asset.sha256
    assert whole["Content-Length"] == str(len(content)) == str(asset.bytes)

    part = client.get(url, HTTP_RANGE="bytes=100-199")
    assert (part.status_code, part["Content-Range"]) == (206, f"bytes 100-199/{asset.bytes}")
    assert body_of(part) == content[100:200]
    assert part["X-Checksum-SHA256"] == asset.sha256

    cached = client.get(url, HTTP_IF_NONE_MATCH=f'"{asset.sha256}"')
    assert cached.status_code == 304 and cached["ETag"] == f'"{asset.sha256}"'
    assert client.get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200
    assert client.get(url, HTTP_RANGE=f"bytes={asset.bytes + 5}-").status_code == 416
    head = client.head(url)
    assert head.status_code == 200 and head["Content-Length"] == str(asset.bytes) and not head.content


def test_with_an_x_accel_prefix_nginx_sends_the_file(client_for, alice, granted, settings):
    settings.SENDFILE_X_ACCEL_PREFIX = "/protected-media/"
    client = client_for(alice)
    asset = granted["asset"]
    response = client.get(link_of(client, granted["slice"], asset))

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-media/{asset.storage_key}"
    assert response.content == b""
    assert response["ETag"] == f'"{asset.sha256}"' and response["X-Checksum-SHA256"] == asset.sha256
    assert response["Content-Disposition"] == f'attachment; filename="{asset.pk}.jpg"'


def test_a_withdrawn_item_is_still_410_and_an_opted_out_work_carries_its_reservation(
        client_for, alice, granted, org_a, media):
    client = client_for(alice)
    url = link_of(client, granted["slice"], granted["asset"])
    ben = ContributorFactory()
    kept = stored_asset(ben, 41)
    # Both works: which one a seed picks first depends on the ids the database hands out.
    commercial = build(commercial_licence(organisation=org_a, applicant=alice), alice, size=2, seed=1)
    commercial_url = link_of(client, commercial, kept)

    contributor_set_opt_out(contributor=granted["contributor"], opted_out=True)
    contributor_set_opt_out(contributor=ben, opted_out=True)

    assert client.get(url).status_code == 410
    kept_response = client.get(commercial_url, HTTP_RANGE="bytes=0-9")
    assert kept_response.status_code == 206 and kept_response["tdm-reservation"] == "1"


# --- S3 -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def moto_server():
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        pytest.skip("moto[server] is not installed: the S3 tests need its standalone server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        raise RuntimeError("moto_server did not start within 30 s")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def s3(moto_server, settings, monkeypatch):
    import boto3

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    bucket = f"tessera-{os.getpid()}-{time.monotonic_ns()}"
    boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1").create_bucket(Bucket=bucket)
    settings.AWS_STORAGE_BUCKET_NAME, settings.AWS_S3_ENDPOINT_URL = bucket, moto_server
    settings.AWS_ACCESS_KEY_ID, settings.AWS_SECRET_ACCESS_KEY = "testing", "testing"
    settings.AWS_S3_REGION_NAME, settings.AWS_QUERYSTRING_AUTH, settings.AWS_S3_FILE_OVERWRITE = "us-east-1", True, True
    settings.AWS_DEFAULT_ACL = None
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    settings.SLICE_DOWNLOADS_REDIRECT = True
    return moto_server


def test_with_s3_shards_are_written_to_the_bucket_and_links_redirect_to_presigned_urls(s3, client_for, alice, org_a):
    from django.core.files.storage import default_storage

    contributor = ContributorFactory()
    assets = [stored_asset(contributor, n) for n in range(3)]
    assert default_storage.exists(assets[0].storage_key)
    slice_ = build(research_licence(organisation=org_a, applicant=alice), alice, size=3, seed=1)
    slice_shards_write(slice_id=slice_.pk)
    shard = Shard.objects.get()
    client = client_for(alice)
    index = client.get(f"/slices/{slice_.pk}/shards.json").json()

    response = client.get(local(index["shards"][0]["url"]))

    assert response.status_code == 302
    presigned = response["Location"]
    assert presigned.startswith(f"{s3}/") and "Signature=" in presigned or "X-Amz-Signature=" in presigned
    assert response["ETag"] == f'"{shard.sha256}"'
    data = httpx.get(presigned).content
    assert hashlib.sha256(data).hexdigest() == shard.sha256 == index["shards"][0]["sha256"]
    resumed = httpx.get(presigned, headers={"Range": "bytes=512-"})
    assert resumed.status_code == 206 and resumed.content == data[512:]

    # The manifests were written to the bucket with the shards: they redirect too, and the bucket answers with
    # the manifest's own type and name.
    manifest = client.get(f"/slices/{slice_.pk}/manifest.jsonl")
    assert manifest.status_code == 302 and manifest["Location"].startswith(f"{s3}/")
    stored = httpx.get(manifest["Location"])
    assert stored.headers["Content-Type"] == "application/x-ndjson"
    assert stored.headers["Content-Disposition"] == (
        f'inline; filename="licence-{slice_.licence_id}-slice-{slice_.number}-manifest.jsonl"')
    assert manifest["ETag"] == f'"{hashlib.sha256(stored.content).hexdigest()}"'
    (line,) = [json.loads(row) for row in stored.text.splitlines() if json.loads(row)["asset_id"] == assets[0].pk]

    item = client.get(local(line["download_url"]))
    assert item.status_code == 302 and httpx.get(item["Location"]).content == default_storage.open(
        assets[0].storage_key).read()
