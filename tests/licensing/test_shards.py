"""A ready slice as WebDataset tar shards: the same items as the manifest, in its order, each shard with
its sha256; cut by bytes or items; served with Range; written again without withdrawn items, the old
links answering 410 with the new index; and read by the webdataset package."""
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import webdataset
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from licensing.manifests.shards import RECORD_COLUMNS
from licensing.models import AuditEvent, Job, Shard, ShardSet
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.delivery import slice_shards_write
from tests.licensing.factories import AssetFactory, ContributorFactory, research_licence
from tests.licensing.test_slice_downloads import body_of, build, jsonl_items, local, media, stored_asset  # noqa: F401


def unsigned(text):
    """`text` with each signed link's stamp and signature taken out (the token's payload stays)."""
    return re.sub(r"(/dl/[\w-]+):[\w-]+:[\w-]+/", r"\1/", text)


@pytest.fixture
def world(media, org_a, alice):
    """A research licence with a ready slice of 6 files by two contributors and 2 metadata-only rows."""
    ana, ben = ContributorFactory(), ContributorFactory()
    assets = [stored_asset(ana if n % 2 else ben, n, kind="video" if n == 3 else "image") for n in range(6)]
    assets += AssetFactory.create_batch(2, contributor=ana)  # no file behind them
    licence = research_licence(organisation=org_a, applicant=alice, max_bytes=10**9)
    slice_ = build(licence, alice, size=8, seed=3)
    return {"licence": licence, "slice": slice_, "ana": ana, "ben": ben, "assets": assets}


def members_of(data):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]


def shard_bytes(client, shard):
    response = client.get(local(shard["url"]))
    assert response.status_code == 200, body_of(response)
    return body_of(response)


def index_of(client, slice_):
    response = client.get(f"/slices/{slice_.pk}/shards.json")
    assert response.status_code == 200, response.content
    return response.json()


def test_slice_build_schedules_the_shards_job(world):
    assert Job.objects.filter(name="slice.shards", kwargs={"slice_id": world["slice"].pk}).count() == 1


def test_the_index_is_pending_until_the_job_writes_the_shards(client_for, alice, world):
    client = client_for(alice)
    assert index_of(client, world["slice"])["state"] == "pending"

    slice_shards_write(slice_id=world["slice"].pk)

    index = index_of(client, world["slice"])
    assert index["state"] == "ready"
    assert index["shard_count"] == 1
    assert (index["items"], index["left_out"]) == (6, {"without_file": 2, "missing_file": 0, "withdrawn": 0})
    assert "2 metadata-only catalogue rows have no file" in index["note"]


def test_shards_hold_the_manifests_items_in_its_order_with_their_records(client_for, alice, world):
    client = client_for(alice)
    slice_shards_write(slice_id=world["slice"].pk)
    manifest = [item for item in jsonl_items(client, world["slice"])
                if AssetFactory._meta.model.objects.get(pk=item["asset_id"]).storage_key]
    (shard,) = index_of(client, world["slice"])["shards"]
    data = shard_bytes(client, shard)

    assert hashlib.sha256(data).hexdigest() == shard["sha256"] == Shard.objects.get().sha256
    assert len(data) == shard["bytes"]
    members = members_of(data)
    extensions = {"image/jpeg": "jpg", "video/mp4": "mp4"}
    assert [name for name, _ in members] == [
        name for item in manifest for name in (f"{item['asset_id']}.{extensions[item['mime_type']]}",
                                               f"{item['asset_id']}.json")]
    files = dict(members)
    for item in manifest:
        content = files[f"{item['asset_id']}.{extensions[item['mime_type']]}"]
        assert hashlib.sha256(content).hexdigest() == item["sha256"]
        assert json.loads(files[f"{item['asset_id']}.json"]) == {column: item[column] for column in RECORD_COLUMNS}


def test_the_same_slice_makes_the_same_bytes(world, settings):
    slice_shards_write(slice_id=world["slice"].pk)
    first = Shard.objects.get()
    path = settings.MEDIA_ROOT / first.storage_key
    before = path.read_bytes()
    Shard.objects.all().delete()
    ShardSet.objects.all().delete()

    slice_shards_write(slice_id=world["slice"].pk)

    assert path.read_bytes() == before
    assert Shard.objects.get().sha256 == first.sha256


def test_shards_are_cut_by_bytes_and_by_item_count(world, settings):
    settings.SLICE_SHARD_MAX_ITEMS = 4
    slice_shards_write(slice_id=world["slice"].pk)
    assert list(Shard.objects.values_list("number", "item_count")) == [(0, 4), (1, 2)]

    Shard.objects.all().delete()
    ShardSet.objects.all().delete()
    settings.SLICE_SHARD_MAX_ITEMS, settings.SLICE_SHARD_MAX_BYTES = 0, 4000
    slice_shards_write(slice_id=world["slice"].pk)
    shards = list(Shard.objects.order_by("number"))
    assert len(shards) > 1 and sum(s.item_count for s in shards) == 6
    assert all(s.bytes <= 4000 + 10240 for s in shards if s.item_count > 1)
    positions = [(s.first_position, s.last_position) for s in shards]
    assert positions == sorted(positions) and all(a[1] < b[0] for a, b in zip(positions, positions[1:]))


def test_a_shard_resumes_with_range_and_answers_head_and_etag(client_for, alice, world):
    client = client_for(alice)
    slice_shards_write(slice_id=world["slice"].pk)
    (shard,) = index_of(client, world["slice"])["shards"]
    url = local(shard["url"])
    whole = shard_bytes(client, shard)

    part = client.get(url, HTTP_RANGE="bytes=1000-")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 1000-{len(whole) - 1}/{len(whole)}"
    assert part["Content-Length"] == str(len(whole) - 1000)
    assert whole[:1000] + body_of(part) == whole
    assert body_of(client.get(url, HTTP_RANGE="bytes=-10")) == whole[-10:]
    assert body_of(client.get(url, HTTP_RANGE="bytes=5-9")) == whole[5:10]

    head = client.head(url)
    assert (head.status_code, head["Content-Length"], head["ETag"]) == (200, str(len(whole)), f'"{shard["sha256"]}"')
    assert head["Content-Type"] == "application/x-tar"
    assert client.get(url, HTTP_IF_NONE_MATCH=f'"{shard["sha256"]}"').status_code == 304
    stale = client.get(url, HTTP_RANGE="bytes=1000-", HTTP_IF_RANGE='"other"')
    assert stale.status_code == 200 and body_of(stale) == whole

    for bad in (f"bytes={len(whole)}-", "bytes=9-5", "bytes=x-"):
        refused = client.get(url, HTTP_RANGE=bad)
        assert refused.status_code == 416, bad
        assert refused["Content-Range"] == f"bytes */{len(whole)}"


def test_a_withdrawal_rewrites_only_the_affected_shards_and_old_links_answer_410(client_for, alice, world, settings,
                                                                               django_capture_on_commit_callbacks):
    settings.SLICE_SHARD_MAX_ITEMS = 2
    client = client_for(alice)
    slice_ = world["slice"]
    slice_shards_write(slice_id=slice_.pk)
    before = index_of(client, slice_)
    assert [s["items"] for s in before["shards"]] == [2, 2, 2]
    ana_ids = {a.pk for a in world["assets"] if a.contributor_id == world["ana"].pk and a.storage_key}

    contributor_set_opt_out(contributor=world["ana"], opted_out=True)
    job = Job.objects.get(name="slice.shards", dedupe_key__contains=":consent:")
    assert job.kwargs == {"slice_id": slice_.pk}
    with django_capture_on_commit_callbacks(execute=True):
        slice_shards_write(slice_id=slice_.pk)

    after = index_of(client, slice_)
    assert after["left_out"]["withdrawn"] == 5  # ana's three files and her two metadata-only rows
    assert after["items"] == 3
    kept = {s["number"]: s for s in after["shards"]}
    for old in before["shards"]:
        keys = {int(name.split(".")[0]) for name, _ in members_of(shard_bytes(client, old))} \
            if old["number"] in kept and kept[old["number"]]["version"] == old["version"] else None
        if keys is not None:  # untouched: it held none of ana's works, and its link still works
            assert not keys & ana_ids
            continue
        gone = client.get(local(old["url"]))
        assert gone.status_code == 410
        # Links are signed with the time they were made: the same link made a second later differs in its
        # stamp and signature, not in what it points to.
        assert unsigned(after["index_url"]) in unsigned(gone.content.decode())
        assert unsigned(gone["Link"]) == unsigned(f'<{before["index_url"]}>; rel="index"')
    pulled = {int(name.split(".")[0]) for s in after["shards"] for name, _ in members_of(shard_bytes(client, s))}
    assert pulled and not pulled & ana_ids
    assert not (settings.MEDIA_ROOT / Shard.objects.filter(superseded_at__isnull=False).first().storage_key).exists()
    assert AuditEvent.objects.filter(action="slice.shards_write").count() == 2

    # Run again (a redelivered job): nothing is stale, nothing is written.
    slice_shards_write(slice_id=slice_.pk)
    versions = [(s["number"], s["version"], s["sha256"]) for s in after["shards"]]
    assert [(s["number"], s["version"], s["sha256"]) for s in index_of(client, slice_)["shards"]] == versions


def test_the_manifests_name_the_shard_index_and_croissant_lists_the_shards(client_for, alice, world, tmp_path):
    client = client_for(alice)
    slice_shards_write(slice_id=world["slice"].pk)
    manifest = client.get(f"/slices/{world['slice'].pk}/manifest.jsonl")
    companion = manifest["Link"].split(";")[0].strip("<>")
    assert companion.endswith("/shards.json")
    signed = client.get(local(companion))
    assert signed.status_code == 200
    assert [s["sha256"] for s in signed.json()["shards"]] == [s.sha256 for s in Shard.objects.order_by("number")]

    document = json.loads(body_of(client.get(f"/slices/{world['slice'].pk}/croissant.json")))
    shards = [f for f in document["distribution"] if f.get("encodingFormat") == "application/x-tar"]
    assert [s["sha256"] for s in shards] == [s["sha256"] for s in signed.json()["shards"]]
    (file_set,) = [f for f in document["distribution"] if f["@type"] == "cr:FileSet"]
    assert file_set["containedIn"] == [{"@id": s["@id"]} for s in shards]
    path = tmp_path / "croissant.json"
    path.write_text(json.dumps(document))
    result = subprocess.run([str(Path(sys.executable).with_name("mlcroissant")), "validate", "--jsonld", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_webdataset_reads_a_pulled_shard(client_for, alice, world, tmp_path):
    client = client_for(alice)
    slice_shards_write(slice_id=world["slice"].pk)
    (shard,) = index_of(client, world["slice"])["shards"]
    path = tmp_path / shard["name"]
    path.write_bytes(shard_bytes(client, shard))

    samples = list(webdataset.WebDataset(str(path), shardshuffle=False))

    files = {a.pk: a for a in world["assets"] if a.storage_key}
    assert [int(s["__key__"]) for s in samples] == [i["asset_id"] for i in jsonl_items(client, world["slice"])
                                                    if i["asset_id"] in files]
    for sample in samples:
        asset = files[int(sample["__key__"])]
        content = sample.get("jpg") or sample.get("mp4")
        assert hashlib.sha256(content).hexdigest() == asset.sha256
        assert json.loads(sample["json"])["sha256"] == asset.sha256


def test_the_slice_page_lists_the_shards(client_for, alice, world):
    client = client_for(alice)
    assert "being written" in client.get(f"/slices/{world['slice'].pk}/").content.decode()
    slice_shards_write(slice_id=world["slice"].pk)
    page = client.get(f"/slices/{world['slice'].pk}/").content.decode()
    assert "shard-000000.tar" in page and "metadata-only" in page


def test_another_organisations_shards_are_a_404(client_for, bob, world):
    slice_shards_write(slice_id=world["slice"].pk)
    assert client_for(bob).get(f"/slices/{world['slice'].pk}/shards.json").status_code == 404


def test_a_shard_link_of_another_slice_is_a_404(client_for, alice, world, org_a):
    client = client_for(alice)
    slice_shards_write(slice_id=world["slice"].pk)
    other = build(research_licence(organisation=org_a, applicant=alice), alice, size=1, seed=9)
    (shard,) = index_of(client, world["slice"])["shards"]
    foreign = index_of(client, other)["index_url"].rsplit("/", 1)[0] + f"/shards/{Shard.objects.get().pk}.tar"
    assert client.get(local(foreign)).status_code == 404
    assert client.get(local(shard["url"])).status_code == 200


def test_hugging_face_datasets_loads_a_pulled_shard(client_for, alice, org_a, media, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    for name in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    contributor = ContributorFactory()
    # Real JPEGs of one media type: datasets' loader decodes them, and wants every sample to have the same members.
    files = {a.pk: a for a in (jpeg_asset(contributor, n) for n in range(4))}
    slice_ = build(research_licence(organisation=org_a, applicant=alice), alice, size=4, seed=2)
    client = client_for(alice)
    slice_shards_write(slice_id=slice_.pk)
    (shard,) = index_of(client, slice_)["shards"]
    path = tmp_path / shard["name"]
    path.write_bytes(shard_bytes(client, shard))

    loaded = datasets.load_dataset("webdataset", data_files={"train": str(path)}, split="train",
                                   cache_dir=str(tmp_path / "cache"))

    assert [int(key) for key in loaded["__key__"]] == [i["asset_id"] for i in jsonl_items(client, slice_)]
    for row in loaded:
        assert row["json"]["sha256"] == files[int(row["__key__"])].sha256
        assert row["jpg"].size == (files[int(row["__key__"])].width, 6)


def jpeg_asset(contributor, n):
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8 + n, 6), (40 * n, 90, 160)).save(buffer, format="JPEG")
    data = buffer.getvalue()
    key = default_storage.save(f"catalogue/jpeg-{n}.jpg", ContentFile(data))
    return AssetFactory(contributor=contributor, kind="image", mime_type="image/jpeg", bytes=len(data), width=8 + n,
                        height=6, sha256=hashlib.sha256(data).hexdigest(), storage_key=key)
