"""clients/python (tessera-client) against a live server, as a pipeline runs it: request a slice with an
idempotency key, wait, pull its shards (interrupted mid-file, then resumed with Range), pull its items in
parallel, check every sha256, then sync after an opt-out: withdrawn files and stale shards deleted, and a
second pull fetching the rewritten shards. The CLI too."""
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import webdataset
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

import tessera_client.client as client_module
from accounts.api_keys import api_key_create
from licensing.models import Slice
from licensing.services.contributors import contributor_set_opt_out
from tessera_client import Tessera
from tests.licensing.factories import AssetFactory, ContributorFactory, research_licence

SCOPES = ["licences:read", "slices:read", "slices:write"]


def stored_asset(contributor, n):
    data = hashlib.sha256(f"frame {n}".encode()).digest() * (300 + 40 * n)  # 9.6 kB and more
    key = default_storage.save(f"assets/client/{n}.jpg", ContentFile(data))
    return AssetFactory(contributor=contributor, kind="image", mime_type="image/jpeg", storage_key=key,
                        bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), title=f"Frame {n}")


@pytest.fixture
def live(live_server, settings, tmp_path, org_a, alice):
    settings.SITE_URL = live_server.url
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SLICE_SHARD_MAX_ITEMS = 2
    settings.WITHDRAWALS_FEED_SETTLE_SECONDS = 0
    ana, ben = ContributorFactory(), ContributorFactory()
    assets = [stored_asset(ana if n % 3 == 0 else ben, n) for n in range(8)]
    licence = research_licence(organisation=org_a, applicant=alice, max_bytes=10**9)
    _, key = api_key_create(organisation=org_a, by=alice, name="client", scopes=SCOPES)
    return {"url": live_server.url, "key": key, "licence": licence, "ana": ana, "assets": assets}


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def keys_in(shard_dir):
    keys = set()
    for path in Path(shard_dir).glob("*.tar"):
        with tarfile.open(path) as tar:
            keys |= {int(m.name.split(".")[0]) for m in tar}
    return keys


def test_the_client_pulls_resumes_verifies_and_syncs_withdrawals(live, tmp_path, monkeypatch):
    client = Tessera(live["url"], live["key"])
    licence_id = live["licence"].pk
    assert [l["id"] for l in client.licences()] == [licence_id]

    requested = client.request_slice(licence_id, size=6, seed=5, idempotency_key="run-1")
    again = client.request_slice(licence_id, size=6, seed=5, idempotency_key="run-1")
    assert again["id"] == requested["id"] and Slice.objects.count() == 1
    slice_ = client.wait_for_slice(requested["id"], timeout=30)
    assert slice_["status"] == "ready" and [s["id"] for s in client.slices(licence_id)] == [slice_["id"]]

    # Interrupted part-way through the second shard's bytes (1 kB reads)...
    monkeypatch.setattr(client_module, "CHUNK", 1024)
    shards_dir = tmp_path / "copy" / "shards"
    seen = []

    def interrupt(n):
        seen.append(n)
        if sum(seen) > 30_000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        client.pull(slice_["id"], shards_dir, workers=1, progress=False, on_progress=interrupt)
    # (the worker may have started the next shard before the pool was shut down: it is partial too)
    partial = sorted(p.name.removesuffix(".part") for p in shards_dir.glob("*.part") if p.stat().st_size)
    assert partial

    # ...and resumed: the finished shard is kept, the partial one continued with a Range request.
    report = client.pull(slice_["id"], shards_dir, workers=2, progress=False)
    index = client.shard_index(slice_["id"])
    assert len(index["shards"]) == 3
    assert sorted(report.resumed) == partial
    assert report.bytes < sum(s["bytes"] for s in index["shards"])
    for shard in index["shards"]:
        assert sha256_of(shards_dir / shard["name"]) == shard["sha256"]
    assert not list(shards_dir.glob("*.part"))
    granted = set(Slice.objects.get().items.values_list("asset_id", flat=True))
    assert keys_in(shards_dir) == granted
    samples = list(webdataset.WebDataset(str(shards_dir / index["shards"][0]["name"]), shardshuffle=False))
    assert len(samples) == 2 and all("jpg" in s and "json" in s for s in samples)

    # Items, in parallel, each checked against its sha256.
    items_dir = tmp_path / "copy" / "items"
    items = client.pull(slice_["id"], items_dir, mode="items", workers=4, progress=False)
    assert len(items.downloaded) == 6
    by_id = {a.pk: a for a in live["assets"]}
    for path in items_dir.glob("*.jpg"):
        assert sha256_of(path) == by_id[int(path.stem)].sha256

    # An opt-out: the sync deletes the withdrawn items and the shards that held them; pulling again
    # fetches the rewritten shards, which hold none of them.
    withdrawn = {a.pk for a in live["assets"] if a.contributor_id == live["ana"].pk} & granted
    assert withdrawn
    contributor_set_opt_out(contributor=live["ana"], opted_out=True)
    sync = client.sync_withdrawals(licence_id, tmp_path / "copy")
    assert set(sync.withdrawn) == withdrawn
    assert {int(p.stem) for p in items_dir.glob("*.jpg")} == granted - withdrawn
    assert not keys_in(shards_dir) & withdrawn
    again = client.pull(slice_["id"], shards_dir, progress=False)
    # Which shards held the withdrawn works depends on the order the seed gives these asset ids; whichever
    # they were, the copy is now the rewritten index, every shard verified, and none of the withdrawn works.
    rewritten = client.shard_index(slice_["id"])
    assert sorted(again.downloaded + again.skipped) == sorted(s["name"] for s in rewritten["shards"])
    for shard in rewritten["shards"]:
        assert sha256_of(shards_dir / shard["name"]) == shard["sha256"]
    assert keys_in(shards_dir) == granted - withdrawn
    assert client.sync_withdrawals(licence_id, tmp_path / "copy").withdrawn == []
    client.close()


def test_the_cli_pulls_a_slice_and_syncs_withdrawals(live, tmp_path):
    client = Tessera(live["url"], live["key"])
    slice_ = client.wait_for_slice(client.request_slice(live["licence"].pk, size=4, seed=2)["id"], timeout=30)
    env = {**os.environ, "TESSERA_URL": live["url"], "TESSERA_API_KEY": live["key"]}
    cli = [sys.executable, "-m", "tessera_client.cli"]

    pulled = subprocess.run([*cli, "pull", "--licence", str(live["licence"].pk), "--slice", str(slice_["id"]),
                             "--dest", str(tmp_path / "s"), "--no-progress"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert "every sha256 verified" in pulled.stdout
    index = client.shard_index(slice_["id"])
    assert sorted(p.name for p in (tmp_path / "s").glob("*.tar")) == [s["name"] for s in index["shards"]]

    wrong = subprocess.run([*cli, "pull", "--licence", "999999", "--slice", str(slice_["id"]), "--dest", "x"],
                           capture_output=True, text=True, timeout=60, env=env)
    assert wrong.returncode == 1 and "not a slice of licence 999999" in wrong.stderr

    contributor_set_opt_out(contributor=live["ana"], opted_out=True)
    synced = subprocess.run([*cli, "withdrawals", "--licence", str(live["licence"].pk), "--dest", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert synced.returncode == 0, synced.stderr
    assert "assets withdrawn since the last sync" in synced.stdout
    state = json.loads((tmp_path / f".tessera-withdrawals-{live['licence'].pk}.json").read_text())
    assert "/withdrawals/" in state["next"]

    no_key = subprocess.run([*cli, "licences"], capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in env.items() if k != "TESSERA_API_KEY"})
    assert no_key.returncode == 2 and "TESSERA_API_KEY" in no_key.stderr
