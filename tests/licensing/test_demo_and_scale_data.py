import hashlib

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command

from accounts.models import Membership, User
from accounts.roles import roles_of
from licensing.models import Asset, Contributor

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_seed_demo_refuses_to_run_with_debug_off():
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("seed_demo", assets=4, contributors=2)
    assert not User.objects.exists()


def test_seed_demo_is_idempotent_and_its_files_match_their_rows(media):
    call_command("seed_demo", force=True, assets=30, contributors=5, video_share=0.2)
    counts = (User.objects.count(), Contributor.objects.count(), Asset.objects.count(), Membership.objects.count())
    call_command("seed_demo", force=True, assets=30, contributors=5, video_share=0.2)
    assert (User.objects.count(), Contributor.objects.count(), Asset.objects.count(), Membership.objects.count()) == counts
    assert counts == (10, 5, 30, 6)

    for asset in Asset.objects.all():
        with default_storage.open(asset.storage_key) as handle:
            data = handle.read()
        assert len(data) == asset.bytes
        assert hashlib.sha256(data).hexdigest() == asset.sha256
        magic = {"image/jpeg": b"\xff\xd8", "image/png": b"\x89PNG", "video/mp4": data[4:8]}[asset.mime_type]
        assert data.startswith(magic) or data[4:8] == b"ftyp"
    assert Asset.objects.filter(kind="video", mime_type="video/mp4").exists()


def test_seed_demo_creates_one_account_per_role(media):
    call_command("seed_demo", force=True, assets=2, contributors=2)
    applicant = User.objects.get(email="applicant@demo.example")
    assert applicant.check_password("tessera-demo")
    assert applicant.membership.role == "owner"
    assert roles_of(User.objects.get(email="reviewer@demo.example")) == {"reviewer"}
    assert roles_of(User.objects.get(email="admin@demo.example")) == {"licensor_admin"}
    assert roles_of(User.objects.get(email="finance@demo.example")) == {"finance"}
    assert User.objects.get(email="contributor@demo.example").contributor.display_name


def test_seed_demo_gives_the_start_up_a_waiting_application_and_an_active_research_licence(media):
    from licensing.models import Licence

    call_command("seed_demo", force=True, assets=2, contributors=2)
    call_command("seed_demo", force=True, assets=2, contributors=2)
    start_up = Licence.objects.filter(organisation__slug="lumen-labs")
    states = sorted(start_up.values_list("state", flat=True))
    assert states == ["research_active", "submitted"]
    active = start_up.get(state="research_active")
    assert [e.action for e in active.events.all()] == ["create", "submit", "approve"]


def test_seed_demo_makes_collections_and_a_studio_deal_once(media, client):
    from licensing.models import Collection, Licence, RoyaltyEntry, Slice, SliceItem

    call_command("seed_demo", force=True, assets=30, contributors=3, video_share=0.3)
    call_command("seed_demo", force=True, assets=30, contributors=3, video_share=0.3)
    films = Collection.objects.get(name="Lighthouse Films archive")
    assert films.owner_organisation.kind == "studio"
    works = list(films.works.all())
    assert works and all(w.kind == "video" for w in works)
    for work in works:  # the studio holds 70% of each film, its contributor 30%
        assert sorted((r.organisation_id is not None, r.share_bp) for r in work.rightsholders.all()) == [
            (False, 3000), (True, 7000)]
    assert Collection.objects.filter(owner_contributor__isnull=False).count() == 2

    deal = Licence.objects.get(organisation__slug="northwind-pictures")
    assert (deal.state, deal.offer_coverage, deal.offer_exclusive) == ("commercial_active", "collections", True)
    assert deal.offer_custom_model and list(deal.offer_collections.all()) == [films]
    whole = Slice.objects.get(licence=deal)
    assert set(SliceItem.objects.filter(slice=whole).values_list("asset_id", flat=True)) == {w.pk for w in works}
    # No other licence was granted the studio's films; the studio was credited its share.
    assert not SliceItem.objects.exclude(licence=deal).filter(asset__collection=films).exists()
    assert RoyaltyEntry.objects.filter(organisation=films.owner_organisation, amount__gt=0).exists()

    client.force_login(User.objects.get(email="admin@demo.example"))
    table = client.get("/catalogue/exclusivity/").content.decode()
    assert "Lighthouse Films archive" in table and "Northwind Pictures" in table
    client.force_login(User.objects.get(email="studio@demo.example"))
    statement = client.get("/rightsholder/royalties/")
    assert statement.status_code == 200 and "Lighthouse film restoration" in statement.content.decode()


def test_seed_demo_restores_a_missing_file_with_the_same_content(media):
    call_command("seed_demo", force=True, assets=3, contributors=1)
    asset = Asset.objects.first()
    default_storage.delete(asset.storage_key)
    call_command("seed_demo", force=True, assets=3, contributors=1)
    with default_storage.open(asset.storage_key) as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == asset.sha256


def test_generate_catalog_writes_metadata_only_rows_with_the_asked_opt_out_rate():
    call_command("generate_catalog", assets=20_000, contributors=500, opt_out_rate=0.1, seed=7)
    assert Asset.objects.count() == 20_000
    assert not Asset.objects.exclude(storage_key="").exists()
    assert Contributor.objects.count() == 500
    opted_out = Contributor.objects.filter(opted_out=True).count()
    assert 25 <= opted_out <= 80
    video = Asset.objects.filter(kind="video").first()
    assert video.duration_seconds > 0 and len(video.sha256) == 64 and video.tags


def test_generate_catalog_is_deterministic_for_a_seed():
    call_command("generate_catalog", assets=500, contributors=10, seed=3)
    first = list(Asset.objects.order_by("id").values_list("kind", "width", "bytes", "sha256"))
    Asset.objects.all().delete()
    Contributor.objects.all().delete()
    call_command("generate_catalog", assets=500, contributors=10, seed=3)
    assert list(Asset.objects.order_by("id").values_list("kind", "width", "bytes", "sha256")) == first


@pytest.mark.parametrize("email, language, lang_attribute, words", [
    ("antragsteller@demo.example", "de", 'lang="de" dir="ltr"', "Erkennung von Verkehrsschildern"),
    ("richiedente@demo.example", "it", 'lang="it" dir="ltr"', "Riconoscimento di opere d'arte"),
    ("mutaqaddim@demo.example", "ar", 'lang="ar" dir="rtl"', "التعرف على الخط العربي"),
])
def test_seed_demo_has_an_applicant_per_language_who_reads_tessera_in_it(media, client, email, language,
                                                                        lang_attribute, words):
    call_command("seed_demo", force=True, assets=2, contributors=2)
    call_command("seed_demo", force=True, assets=2, contributors=2)
    applicant = User.objects.get(email=email)
    assert applicant.language == language and applicant.check_password("tessera-demo")
    assert [licence.state for licence in applicant.membership.organisation.licences.all()] == ["submitted"]

    client.force_login(applicant)
    page = client.get("/licences/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert lang_attribute in page
    assert words in page.replace("&#x27;", "'")
