"""Rights signals. In: C2PA/CAWG training-and-mining assertions read from real signed files. Out: the RSL
licence document, robots.txt, and the rights headers of every download. And takedowns, which withdraw
a work from every slice with the reason the licensee reads."""
import hashlib
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from lxml import etree
from protego import Protego

from licensing import downloads, rights
from licensing.models import Asset, SliceItem
from licensing.services.catalogue import (
    IngestRefused,
    catalogue_clear_training_signal,
    catalogue_take_down,
    catalogue_verify,
)
from licensing.services.contributors import contributor_set_opt_out
from licensing.services.slices import slice_build, slice_request
from tests.conftest import make_organisation
from tests.licensing.factories import (
    ContributorFactory,
    catalogue,
    commercial_licence,
    research_licence,
)
from tests.licensing.signing import make_test_ca, signed_jpeg
from tests.licensing.test_catalogue_ingest import csv_feed, ingest
from tests.licensing.test_terms import VALIDATOR

# An RFC 9651 dictionary of tokens, as the aipref draft's examples write it (`train-ai=n, search=y`).
SF_TOKEN_DICTIONARY = re.compile(r"[a-z*][a-z0-9_.*-]*=[A-Za-z*][A-Za-z0-9:/!#$%&'*+.^_`|~-]*"
                                 r"(?:\s*,\s*[a-z*][a-z0-9_.*-]*=[A-Za-z*][A-Za-z0-9:/!#$%&'*+.^_`|~-]*)*")

XSD = Path(__file__).with_name("rsl.xsd")
RSL = "{https://rslstandard.org/rsl}"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings.MEDIA_ROOT


@pytest.fixture(scope="module")
def test_ca():
    return make_test_ca()


def feed_row(external_id, data, key):
    return (f"{external_id},image,Signed {external_id},,32,24,,{len(data)},image/jpeg,"
            f"{hashlib.sha256(data).hexdigest()},{key},C-1,Ana Ribeiro,,")


def ingest_signed(entries_by_id, test_ca):
    rows = []
    for external_id, entries in entries_by_id.items():
        data = signed_jpeg(entries, ca=test_ca)
        key = default_storage.save(f"works/{external_id}.jpg", ContentFile(data))
        rows.append(feed_row(external_id, data, key))
    run = ingest(csv_feed(*rows))
    catalogue_verify(run_id=run.pk)
    run.refresh_from_db()
    return run


def build(licence, by, **request):
    slice_ = slice_request(licence=licence, by=by, **request)
    slice_build(slice_id=slice_.pk)
    slice_.refresh_from_db()
    return slice_


# --- In ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_signed_file_that_does_not_allow_ai_training_stays_out_of_every_slice(media, test_ca, org_a, alice,
                                                                                 client_for, adam):
    run = ingest_signed({
        "W-no": {"cawg.ai_generative_training": {"use": "notAllowed"}, "cawg.data_mining": {"use": "allowed"}},
        "W-ok": {"cawg.ai_training": {"use": "allowed"}},
        "W-may": {"cawg.ai_training": {"use": "constrained",
                                       "constraint_info": "https://rights.example/licences/ml-v2"}},
    }, test_ca)
    assert (run.status, run.files_checked, run.files_mismatched) == ("done", 3, 0)
    refused, allowed, constrained = (Asset.objects.get(external_id=e) for e in ("W-no", "W-ok", "W-may"))
    assert (refused.training_signal, refused.training_reserved) == ("notAllowed", True)
    assert refused.training_signal_text == "The file's C2PA manifest says cawg.ai_generative_training: notAllowed."
    assert (allowed.training_signal, allowed.training_reserved) == ("allowed", False)
    assert (constrained.training_signal, constrained.training_reserved) == ("constrained", True)
    assert constrained.training_signal_text == "cawg.ai_training: https://rights.example/licences/ml-v2"

    slice_ = build(research_licence(organisation=org_a, applicant=alice), alice, size=10)
    assert set(SliceItem.objects.filter(slice=slice_).values_list("asset__external_id", flat=True)) == {"W-ok"}

    page = client_for(adam).get(f"/catalogue/works/{refused.pk}/").content.decode()
    assert "the file does not allow AI training" in page and "notAllowed" in page
    page = client_for(adam).get(f"/catalogue/works/{constrained.pk}/").content.decode()
    assert "https://rights.example/licences/ml-v2" in page and "Clear the constraint" in page


@pytest.mark.django_db
def test_a_constrained_work_is_granted_once_staff_clear_it_and_a_refused_one_never(media, test_ca, org_a, alice,
                                                                                   adam, client_for):
    ingest_signed({"W-may": {"cawg.ai_training": {"use": "constrained", "constraint_info": "Ask us"}},
                   "W-no": {"cawg.ai_training": {"use": "notAllowed"}}}, test_ca)
    constrained, refused = Asset.objects.get(external_id="W-may"), Asset.objects.get(external_id="W-no")
    response = client_for(adam).post(f"/catalogue/works/{constrained.pk}/clear-signal/", {"note": "Signed deal"})
    assert response.status_code == 302
    with pytest.raises(IngestRefused, match="notAllowed stays out"):
        catalogue_clear_training_signal(asset=refused, by=adam)
    slice_ = build(research_licence(organisation=org_a, applicant=alice), alice, size=10)
    assert list(SliceItem.objects.filter(slice=slice_).values_list("asset__external_id", flat=True)) == ["W-may"]


@pytest.mark.django_db
def test_the_predecessor_label_and_the_prose_spelling_are_read_too():
    entries = {"cawg.ai_training": {"use": "constrained", "constraints_info": "Licence A"}}
    assert rights.training_signal_of(entries).text == "cawg.ai_training: Licence A"
    assert rights.training_signal_of({}) is None
    assert rights.read_training_assertion(ContentFile(b"not an image"), "image/jpeg") is None


# --- Takedowns --------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_takedown_withdraws_the_work_from_research_and_commercial_slices_and_its_downloads_answer_410(
        media, org_a, org_b, alice, bob, adam, client):
    contributor = ContributorFactory()
    content = b"film still " * 100
    key = default_storage.save("works/still.jpg", ContentFile(content))
    work = catalogue(1, contributor=contributor, storage_key=key, bytes=len(content),
                     sha256=hashlib.sha256(content).hexdigest())[0]
    research = build(research_licence(organisation=org_a, applicant=alice), alice, size=5)
    commercial = build(commercial_licence(organisation=org_b, applicant=bob), bob, size=5)
    link = f"/dl/{downloads.slice_token(commercial)}/assets/{work.pk}"
    assert client.get(link).status_code == 200

    withdrawn = catalogue_take_down(asset=work, by=adam, reason="Court order 2026/114: the model did not consent.")

    assert withdrawn == 2
    assert catalogue_take_down(asset=work, by=adam, reason="again") == 0
    for slice_ in (research, commercial):
        item = SliceItem.objects.get(slice=slice_, asset=work)
        assert item.withdrawn_at is not None
        assert item.withdrawal_reason == "Taken down: Court order 2026/114: the model did not consent."
        response = client.get(f"/dl/{downloads.slice_token(slice_)}/assets/{work.pk}")
        assert response.status_code == 410
        assert response.content.decode() == (
            f"Withdrawn on {item.withdrawn_at:%d %B %Y}: Taken down: Court order 2026/114: the model did not "
            "consent. Delete this item from your copies of the slice.")
    assert build(research_licence(organisation=org_a, applicant=alice), alice, size=5).status == "failed"
    with pytest.raises(IngestRefused, match="Give the reason"):
        catalogue_take_down(asset=catalogue(1)[0], by=adam, reason="  ")


@pytest.mark.django_db
def test_the_licensee_reads_a_takedown_s_reason_on_the_slice_page_the_api_and_the_feed(
        media, org_a, alice, adam, client_for, settings):
    from accounts.api_keys import api_key_create

    settings.WITHDRAWALS_FEED_SETTLE_SECONDS = 0
    quitter = ContributorFactory()
    works = catalogue(3) + catalogue(1, contributor=quitter)
    slice_ = build(research_licence(organisation=org_a, applicant=alice), alice, size=4)
    taken = works[0]
    catalogue_take_down(asset=taken, by=adam, reason="Court order 2026/114")
    contributor_set_opt_out(contributor=quitter, opted_out=True)

    page = client_for(alice).get(f"/slices/{slice_.pk}/").content.decode()
    reasons = re.search(r'<ul id="slice-withdrawal-reasons">(.*?)</ul>', page, re.S).group(1)
    assert "Taken down: Court order 2026/114." in reasons
    assert "The contributor opted out of AI training." in reasons
    assert page.count('class="tile-withdrawal-reason"') == 2

    _, key = api_key_create(organisation=org_a, by=alice, name="pipeline", scopes=["slices:read"])
    api = client_for(alice)
    headers = {"Authorization": f"Bearer {key}"}
    items = api.get(f"/api/v1/slices/{slice_.pk}/items/", headers=headers).json()["results"]
    assert {i["asset_id"]: i["withdrawal_reason"] for i in items if i["withdrawn"]} == {
        taken.pk: "Taken down: Court order 2026/114", works[3].pk: "opt_out"}
    assert all(i["withdrawal_reason"] is None for i in items if not i["withdrawn"])
    feed = api.get(f"/api/v1/licences/{slice_.licence_id}/withdrawals/", headers=headers).json()["results"]
    assert {r["asset_id"]: r["reason"] for r in feed} == {taken.pk: "Taken down: Court order 2026/114",
                                                          works[3].pk: "opt_out"}


@pytest.mark.django_db
def test_staff_take_a_work_down_on_its_page_and_a_licensee_cannot(media, adam, alice, client_for):
    work = catalogue(1)[0]
    assert client_for(alice).post(f"/catalogue/works/{work.pk}/take-down/", {"reason": "x"}).status_code == 403
    client = client_for(adam)
    assert client.post(f"/catalogue/works/{work.pk}/take-down/", {"reason": ""}).status_code == 400
    assert client.post(f"/catalogue/works/{work.pk}/take-down/", {"reason": "DMCA notice"}).status_code == 302
    assert "Taken down on" in client.get(f"/catalogue/works/{work.pk}/").content.decode()
    assert client.get("/catalogue/works/123456789/").status_code == 404


# --- Out --------------------------------------------------------------------------------

@pytest.mark.django_db
def test_the_rsl_document_is_valid_against_the_schema_and_names_both_licences(client):
    response = client.get("/license.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/rsl+xml")
    document = etree.fromstring(response.content)
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    assert schema.validate(document), schema.error_log
    assert document.tag == f"{RSL}rsl"
    catalogue_content = document.find(f"{RSL}content")
    assert catalogue_content.get("url") == settings.SITE_URL + "/dl/*"
    licences = catalogue_content.findall(f"{RSL}license")
    assert [[p.text for p in lic.findall(f"{RSL}permits")] for lic in licences] == [["ai-train"],
                                                                                    ["ai-train", "commercial"]]
    offer = settings.SITE_URL + "/catalogue/offer.jsonld"
    assert {lic.find(f"{RSL}payment/{RSL}standard").text for lic in licences} == {offer}
    assert client.get(urlparse(offer).path).json()["type"] == "Offer"


def test_the_schema_refuses_what_rsl_does_not_define():
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    bad = etree.fromstring(b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/x/*"><license>'
                           b'<permits type="usage">ai-use</permits></license></content></rsl>')
    assert not schema.validate(bad)
    no_licence = etree.fromstring(b'<rsl xmlns="https://rslstandard.org/rsl"><content url="/x"/></rsl>')
    assert not schema.validate(no_licence)


@pytest.mark.django_db
def test_the_catalogue_offer_passes_the_odrl_validator(client, tmp_path):
    path = tmp_path / "offer.json"
    path.write_bytes(client.get("/catalogue/offer.jsonld").content)
    result = subprocess.run([sys.executable, str(VALIDATOR), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_robots_txt_keeps_crawlers_out_of_private_pages_and_names_the_licence(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    robots = Protego.parse(text)
    site = settings.SITE_URL
    assert robots.can_fetch(f"{site}/transparency/", "AnyBot")
    assert not robots.can_fetch(f"{site}/dl/token/assets/1", "AnyBot")
    assert not robots.can_fetch(f"{site}/admin/", "AnyBot")
    licence_lines = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.lower().startswith("license:")]
    assert licence_lines == [f"{site}/license.xml"]
    assert "Content-Usage: train-ai=n" in text.splitlines()


@pytest.mark.django_db
def test_every_download_says_where_its_licence_is_and_what_the_rightsholder_prefers(media, org_a, alice, client):
    keen, reserved = ContributorFactory(), ContributorFactory()
    works = []
    for contributor in (keen, reserved):
        content = f"work of {contributor.pk}".encode() * 50
        key = default_storage.save(f"works/{contributor.pk}.jpg", ContentFile(content))
        works += catalogue(1, contributor=contributor, storage_key=key, bytes=len(content),
                           sha256=hashlib.sha256(content).hexdigest())
    slice_ = build(commercial_licence(organisation=org_a, applicant=alice), alice, size=5)
    contributor_set_opt_out(contributor=reserved, opted_out=True)  # commercial grants stay, as contracted
    token = downloads.slice_token(slice_)

    open_, closed = (client.get(f"/dl/{token}/assets/{work.pk}") for work in works)

    for response in (open_, closed):
        assert response.status_code == 200
        assert response["Link"] == f'<{settings.SITE_URL}/license.xml>; rel="license"; type="application/rsl+xml"'
        assert response["tdm-policy"] == f"{settings.SITE_URL}/catalogue/offer.jsonld"
    for response in (open_, closed):
        assert SF_TOKEN_DICTIONARY.fullmatch(response["Content-Usage"])
    assert dict(pair.split("=") for pair in closed["Content-Usage"].split(", ")) == {"train-ai": "n"}
    assert closed["tdm-reservation"] == "1"
    assert open_["Content-Usage"] == "train-ai=y" and "tdm-reservation" not in open_
    assert rights.download_rights_headers(Asset.objects.select_related("contributor").get(pk=works[0].pk)) == {
        "Link": open_["Link"], "Content-Usage": "train-ai=y", "tdm-policy": open_["tdm-policy"]}


@pytest.mark.django_db
def test_an_admin_sets_a_works_rightsholders_on_its_page_and_shares_must_add_up(adam, client_for):
    studio = make_organisation("Lighthouse Films", kind="studio")
    director = ContributorFactory(external_id="D-1")
    work = catalogue(1, contributor=director)[0]
    work.external_id = "F-1"
    work.save(update_fields=["external_id"])
    client = client_for(adam)
    refused = client.post(f"/catalogue/works/{work.pk}/rightsholders/",
                          {"rightsholders": f"organisation:{studio.slug}=70\ncontributor:D-1=20"})
    assert refused.status_code == 400
    assert "The rightsholders&#x27; shares of work F-1 add to 90%, not 100%." in refused.content.decode()
    unknown = client.post(f"/catalogue/works/{work.pk}/rightsholders/", {"rightsholders": "contributor:X-9=100"})
    assert unknown.status_code == 400 and "No contributor is called X-9." in unknown.content.decode()
    saved = client.post(f"/catalogue/works/{work.pk}/rightsholders/",
                        {"rightsholders": f"organisation:{studio.slug}=70\ncontributor:D-1=30"})
    assert saved.status_code == 302
    assert sorted(work.rightsholders.values_list("share_bp", flat=True)) == [3000, 7000]
    assert f"organisation:{studio.slug}=70" in client.get(f"/catalogue/works/{work.pk}/").content.decode()
