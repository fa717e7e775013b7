"""The JSONL and CSV manifests of a ready slice, written once by the delivery job and served as files: the
same content as the manifest streamed from the database, the same bytes on every request (Range, ETag),
item links that carry the manifest's own key; written again after a withdrawal (the reason in the file),
and closed with the licence's access, the old links then refused even when access returns."""
import csv
import hashlib
import io
import json

import pytest

from licensing.models import AuditEvent, Job, SliceItem, SliceManifest
from licensing.services.catalogue import catalogue_take_down
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.delivery import slice_manifests_write, slice_shards_write
from licensing.services.licences import licence_reinstate, licence_suspend
from tests.licensing.factories import ContributorFactory, research_licence
from tests.licensing.test_slice_downloads import body_of, build, local, media, stored_asset  # noqa: F401


@pytest.fixture
def world(media, org_a, alice):
    ana, ben = ContributorFactory(), ContributorFactory()
    assets = [stored_asset(ana if n % 2 else ben, n) for n in range(6)]
    licence = research_licence(organisation=org_a, applicant=alice, max_bytes=10**9)
    slice_ = build(licence, alice, size=6, seed=3)
    return {"licence": licence, "slice": slice_, "ana": ana, "ben": ben, "assets": assets}


def get(client, world, fmt, **headers):
    return client.get(f"/slices/{world['slice'].pk}/{fmt}", headers=headers)


def without_tokens(rows):
    """The rows with each link's token cut out: what a manifest says apart from its signature."""
    return [{**row, "download_url": row["download_url"].split("/dl/")[0] + "/dl/…/assets/"
             + row["download_url"].rsplit("/", 1)[1]} for row in rows]


def jsonl_rows(data):
    return [json.loads(line) for line in data.decode().splitlines()]


def csv_rows(data):
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


def test_the_job_writes_both_manifests_and_they_say_what_the_streamed_ones_said(client_for, alice, world):
    client = client_for(alice)
    streamed = {fmt: get(client, world, fmt) for fmt in ("manifest.jsonl", "manifest.csv")}
    assert all(response.streaming and "ETag" not in response for response in streamed.values())

    slice_shards_write(slice_id=world["slice"].pk)  # the delivery job: manifests, then shards
    manifest = SliceManifest.objects.get(slice=world["slice"])
    assert manifest.version == 1 and manifest.link_key
    prebuilt = {fmt: get(client, world, fmt) for fmt in ("manifest.jsonl", "manifest.csv")}

    for fmt, parse in (("manifest.jsonl", jsonl_rows), ("manifest.csv", csv_rows)):
        before, after = streamed[fmt], prebuilt[fmt]
        data = body_of(after)
        assert after.status_code == 200
        assert after["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
        assert after["Content-Length"] == str(len(data))
        for header in ("Content-Type", "Content-Disposition", "Cache-Control"):
            assert after[header] == before[header]
        assert after["Link"].endswith('; rel="shards"; type="application/json"')
        assert without_tokens(parse(data)) == without_tokens(parse(body_of(before)))
    assert AuditEvent.objects.filter(action="slice.manifests_write", target_id=str(world["slice"].pk)).count() == 1


def test_the_prebuilt_file_is_the_same_bytes_every_time_with_range_and_etag(client_for, alice, client, world):
    slice_manifests_write(slice_id=world["slice"].pk)
    web = client_for(alice)
    first, second = body_of(get(web, world, "manifest.jsonl")), body_of(get(web, world, "manifest.jsonl"))
    assert first == second  # no per-request secret in the file

    etag = f'"{hashlib.sha256(first).hexdigest()}"'
    assert get(web, world, "manifest.jsonl", if_none_match=etag).status_code == 304
    part = get(web, world, "manifest.jsonl", range="bytes=100-")
    assert part.status_code == 206 and body_of(part) == first[100:]
    assert part["Content-Range"] == f"bytes 100-{len(first) - 1}/{len(first)}"
    # The API and the signed link serve the same file.
    from licensing import downloads

    signed = client.get(f"/dl/{downloads.slice_token(world['slice'])}/manifest.jsonl")
    assert body_of(signed) == first and signed["ETag"] == etag

    for row in jsonl_rows(first):
        response = client.get(local(row["download_url"]))
        assert response.status_code == 200 and response["ETag"] == f'"{row["sha256"]}"'


def test_a_second_run_of_the_job_changes_nothing(world):
    first = slice_manifests_write(slice_id=world["slice"].pk)
    again = slice_manifests_write(slice_id=world["slice"].pk)
    assert (again.version, again.link_key, again.jsonl_sha256) == (first.version, first.link_key, first.jsonl_sha256)


def test_a_withdrawal_is_streamed_at_once_then_written_again_with_its_reason(client_for, alice, client, adam, world):
    web = client_for(alice)
    slice_manifests_write(slice_id=world["slice"].pk)
    old_rows = jsonl_rows(body_of(get(web, world, "manifest.jsonl")))
    kept_link = local(next(r for r in old_rows if r["asset_id"] == world["assets"][0].pk)["download_url"])
    taken = world["assets"][2]

    catalogue_take_down(asset=taken, by=adam, reason="Court order 2026/114")

    # The takedown scheduled the job; until it runs the manifest is streamed, already saying so.
    assert Job.objects.filter(name="slice.shards", kwargs={"slice_id": world["slice"].pk}).count() == 2
    meanwhile = get(web, world, "manifest.jsonl")
    assert meanwhile.streaming and "ETag" not in meanwhile
    row = next(r for r in jsonl_rows(body_of(meanwhile)) if r["asset_id"] == taken.pk)
    assert (row["withdrawn"], row["withdrawal_reason"]) == (True, "Taken down: Court order 2026/114")

    slice_shards_write(slice_id=world["slice"].pk)
    manifest = SliceManifest.objects.get(slice=world["slice"])
    assert manifest.version == 2 and manifest.withdrawn_items == 1
    rewritten = get(web, world, "manifest.csv")
    assert "ETag" in rewritten
    row = next(r for r in csv_rows(body_of(rewritten)) if r["asset_id"] == str(taken.pk))
    assert (row["withdrawn"], row["withdrawal_reason"]) == ("true", "Taken down: Court order 2026/114")
    # The links of the first file keep working for a while, as a timestamped link would; the withdrawn
    # work answers 410 with the reason through either.
    assert client.get(kept_link).status_code == 200
    gone = client.get(local(row["download_url"]))
    assert gone.status_code == 410 and "Court order 2026/114." in gone.content.decode()


def test_an_opt_out_rewrites_the_manifests_and_the_old_key_lapses_after_the_link_lifetime(
        client_for, alice, client, world, settings):
    web = client_for(alice)
    slice_manifests_write(slice_id=world["slice"].pk)
    old_link = local(jsonl_rows(body_of(get(web, world, "manifest.jsonl")))[0]["download_url"])
    settings.SLICE_LINK_TTL_SECONDS = 0  # the overlap ends at once
    contributor_set_opt_out(contributor=world["ana"], opted_out=True)
    slice_manifests_write(slice_id=world["slice"].pk)

    refused = client.get(old_link)
    assert refused.status_code == 403
    assert refused.content.decode() == ("This download link was replaced: the slice's manifest was written again. "
                                        "Fetch the manifest again for fresh links.")
    rows = jsonl_rows(body_of(get(web, world, "manifest.jsonl")))
    assert {r["withdrawal_reason"] for r in rows if r["withdrawn"]} == {"opt_out"}
    assert all(client.get(local(r["download_url"])).status_code == (410 if r["withdrawn"] else 200) for r in rows)


def test_suspending_the_licence_closes_the_prebuilt_links_for_good(client_for, alice, client, adam, world):
    from licensing import downloads

    web = client_for(alice)
    slice_manifests_write(slice_id=world["slice"].pk)
    old_link = local(jsonl_rows(body_of(get(web, world, "manifest.jsonl")))[0]["download_url"])
    assert client.get(old_link).status_code == 200

    licence_suspend(licence=world["licence"], by=adam, reason="Audit")

    closed = client.get(old_link)
    assert closed.status_code == 403 and "suspended" in closed.content.decode()
    assert client.get(f"/dl/{downloads.slice_token(world['slice'])}/manifest.jsonl").status_code == 403
    manifest = SliceManifest.objects.get(slice=world["slice"])
    assert manifest.stale and manifest.link_key == ""
    assert Job.objects.filter(name="slice.shards", kwargs={"slice_id": world["slice"].pk}).count() == 2

    licence_reinstate(licence=world["licence"], by=adam)
    # Access is back, but not for the links handed out before: they were revoked, not paused.
    assert client.get(old_link).status_code == 403
    streamed = get(web, world, "manifest.jsonl")  # the rewrite has not run yet: streamed, with working links
    assert streamed.streaming
    assert client.get(local(jsonl_rows(body_of(streamed))[0]["download_url"])).status_code == 200
    slice_shards_write(slice_id=world["slice"].pk)
    fresh = get(web, world, "manifest.jsonl")
    assert "ETag" in fresh
    assert client.get(local(jsonl_rows(body_of(fresh))[0]["download_url"])).status_code == 200
    assert client.get(old_link).status_code == 403


def test_a_forged_manifest_key_or_another_slice_s_is_refused(client_for, alice, client, org_b, bob, world):
    from licensing import downloads

    slice_manifests_write(slice_id=world["slice"].pk)
    asset = SliceItem.objects.filter(slice=world["slice"]).first().asset_id
    forged = downloads.manifest_token(world["slice"], "not-the-key")
    refused = client.get(f"/dl/{forged}/assets/{asset}")
    assert refused.status_code == 403 and "replaced" in refused.content.decode()
    token = downloads.manifest_token(world["slice"], SliceManifest.objects.get(slice=world["slice"]).link_key)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.get(f"/dl/{tampered}/assets/{asset}").status_code == 404
    assert client.get(f"/dl/{token}/assets/{asset}").status_code == 200
    # Another organisation's user does not see the slice's manifest at all.
    assert client_for(bob).get(f"/slices/{world['slice'].pk}/manifest.jsonl").status_code == 404


def test_a_feed_that_changes_granted_works_makes_their_manifests_say_so(client_for, alice, media, org_a):
    from tests.licensing.test_catalogue_ingest import csv_feed, image_row, ingest

    ingest(csv_feed(image_row("W-1"), image_row("W-2", title="Night market")))
    licence = research_licence(organisation=org_a, applicant=alice, max_bytes=10**9)
    slice_ = build(licence, alice, size=2, seed=1)
    slice_manifests_write(slice_id=slice_.pk)
    web = client_for(alice)
    assert "ETag" in web.get(f"/slices/{slice_.pk}/manifest.jsonl")

    ingest(csv_feed(image_row("W-1"), image_row("W-2", title="Night market retitled")))

    changed = web.get(f"/slices/{slice_.pk}/manifest.jsonl")
    assert changed.streaming and "ETag" not in changed
    assert "Night market retitled" in [row["title"] for row in jsonl_rows(body_of(changed))]
    assert Job.objects.filter(name="slice.shards", kwargs={"slice_id": slice_.pk}, dedupe_key__contains="ingest").exists()
    slice_shards_write(slice_id=slice_.pk)
    rewritten = web.get(f"/slices/{slice_.pk}/manifest.jsonl")
    assert "ETag" in rewritten
    assert "Night market retitled" in [row["title"] for row in jsonl_rows(body_of(rewritten))]
    # A feed that changes nothing leaves the files alone.
    ingest(csv_feed(image_row("W-1"), image_row("W-2", title="Night market retitled")))
    assert "ETag" in web.get(f"/slices/{slice_.pk}/manifest.jsonl")
