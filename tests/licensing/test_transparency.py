"""What the public sees (transparency page, public contributor pages, TDMRep) and the staff contributors overview."""
import json
import re
from datetime import datetime

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from licensing import downloads
from licensing.models import (
    Contributor,
    ContributorConsentChange,
    RoyaltyPayout,
    SliceItem,
)
from licensing.selectors.contributors import opt_out_rate_by_month
from licensing.services import royalties as royalty_services
from licensing.services.contributors import contributor_set_opt_out
from tests.licensing.test_contributor_portal import build
from tests.licensing.test_royalties import (
    commercial_licence,
    credit,
    first_of,
    make_contributor,
    make_works,
    months_ago,
    research_licence,
)

pytestmark = pytest.mark.django_db


def tdm_matches(pattern, path):
    """TDMRep locations use robots.txt patterns: `*` is any run of characters, `$` ends the path."""
    regex = re.escape(pattern).replace(r"\*", ".*")
    regex = regex[:-2] + "$" if regex.endswith(r"\$") else regex
    return re.match(regex, path) is not None


@pytest.fixture
def catalogue(org_a, org_b, alice, bob):
    """Olivia is named publicly; Sam and Quentin are not, and Quentin has opted out. Acme's research
    licence was granted everyone's works; Blue's commercial licence Olivia's and Quentin's images."""
    olivia = make_contributor("Open Olivia", public_profile=True)
    sam = make_contributor("Secret Sam")
    quentin = make_contributor("Quiet Quentin")
    make_works(olivia, images=3, videos=1, title="Olivia")
    make_works(quentin, images=2, title="Quentin")
    acme, blue = research_licence(org_a, alice), commercial_licence(org_b, bob)
    blue_slice = build(blue, bob, 100, kind="image")
    make_works(sam, images=4, title="Sam")
    acme_slice = build(acme, alice, 100)
    contributor_set_opt_out(contributor=quentin, opted_out=True, by=None)
    return {"olivia": olivia, "sam": sam, "quentin": quentin, "acme": acme, "blue": blue,
            "acme_slice": acme_slice, "blue_slice": blue_slice}


def test_the_transparency_page_counts_grants_per_licensee_and_phase_and_names_no_private_contributor(
        client, catalogue, fiona):
    olivia, sam, quentin = catalogue["olivia"], catalogue["sam"], catalogue["quentin"]
    credit(sam, catalogue["acme"], "30.00", months_ago(1))
    credit(olivia, catalogue["acme"], "12.50", months_ago(1))
    period, _ = royalty_services.royalty_period_close(month=first_of(months_ago(1)), by=fiona)
    royalty_services.royalty_payouts_mark_paid(period=period, by=fiona)

    response = client.get("/transparency/")

    assert response.status_code == 200
    page = response.content.decode()
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td><td>(\w+)</td><td>(\d+)</td>\s*<td>(\d+)", page)
    assert rows == [("Acme Vision", "Research", "1", "10"), ("Blue Models", "Commercial", "1", "5")]
    assert "<td>3</td>" in page and "<td>2</td>" in page, "contributors per licensee"
    assert "2 withdrawn at their contributors' request" in page, "Quentin's research grants"
    assert "Open Olivia" in page and f'href="/contributors/{olivia.pk}/"' in page
    for private in (sam, quentin):
        assert private.display_name not in page
        assert f"/contributors/{private.pk}/" not in page
    assert f"{months_ago(1):%B %Y}" in page and "42.50" in page, "credited and paid out that month"
    assert RoyaltyPayout.objects.filter(paid_at__isnull=False).count() == 2


def test_public_contributor_pages_exist_only_for_public_profiles_and_carry_the_tdm_reservation(client, catalogue):
    olivia, sam, quentin = catalogue["olivia"], catalogue["sam"], catalogue["quentin"]

    response = client.get(f"/contributors/{olivia.pk}/")
    assert response.status_code == 200 and "Open Olivia" in response.content.decode()
    assert "tdm-reservation" not in response.headers
    assert client.get(f"/contributors/{sam.pk}/").status_code == 404
    assert client.get(f"/contributors/{quentin.pk}/").status_code == 404
    assert client.get("/contributors/999999/").status_code == 404

    contributor_set_opt_out(contributor=olivia, opted_out=True, by=None)
    response = client.get(f"/contributors/{olivia.pk}/")
    assert response.status_code == 200 and response["tdm-reservation"] == "1"
    assert "reserves their text and data mining rights" in response.content.decode()


def test_tdmrep_json_reserves_the_pages_and_granted_works_of_opted_out_contributors_only(client, catalogue):
    quentin, olivia = catalogue["quentin"], catalogue["olivia"]
    Contributor.objects.filter(pk=quentin.pk).update(public_profile=True)

    response = client.get("/.well-known/tdmrep.json")

    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    rules = json.loads(b"".join(response.streaming_content))
    assert isinstance(rules, list) and rules
    assert all(set(rule) == {"location", "tdm-reservation"} and rule["tdm-reservation"] == 1 for rule in rules)
    locations = [rule["location"] for rule in rules]
    quentin_assets = sorted(quentin.assets.values_list("pk", flat=True))
    assert locations == [f"/contributors/{quentin.pk}/*"] + [f"/dl/*/assets/{pk}$" for pk in quentin_assets]

    token = downloads.slice_token(catalogue["blue_slice"])
    reserved = {pk: f"/dl/{token}/assets/{pk}" for pk in quentin_assets}
    others = [f"/dl/{token}/assets/{pk}" for pk in olivia.assets.values_list("pk", flat=True)]
    assert all(any(tdm_matches(loc, path) for loc in locations) for path in reserved.values())
    assert not any(tdm_matches(loc, path) for loc in locations for path in others)
    assert tdm_matches(locations[0], f"/contributors/{quentin.pk}/")
    assert not tdm_matches(locations[0], f"/contributors/{olivia.pk}/")
    assert client.get(f"/contributors/{quentin.pk}/")["tdm-reservation"] == "1"


def test_a_commercial_download_of_an_opted_out_work_says_tdm_reservation(client, catalogue, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    item = SliceItem.objects.select_related("asset").filter(
        slice=catalogue["blue_slice"], asset__contributor=catalogue["quentin"]).first()
    key = default_storage.save(f"works/{item.asset_id}.jpg", ContentFile(b"jpeg bytes"))
    type(item.asset).objects.filter(pk=item.asset_id).update(storage_key=key)

    response = client.get(f"/dl/{downloads.slice_token(catalogue['blue_slice'])}/assets/{item.asset_id}")

    assert response.status_code == 200, "a commercial grant stands after the opt-out"
    assert response["tdm-reservation"] == "1"


def test_staff_see_the_opt_out_rate_over_time_and_royalties_by_month(client, rita, alice, catalogue):
    everyone = Contributor.objects.all()
    ContributorConsentChange.objects.all().delete()
    everyone.update(created_at=months_ago(4), opted_out=False)
    olivia, sam = catalogue["olivia"], catalogue["sam"]
    ContributorConsentChange.objects.bulk_create([
        ContributorConsentChange(contributor=olivia, opted_out=True, changed_at=months_ago(2)),
        ContributorConsentChange(contributor=olivia, opted_out=False, changed_at=months_ago(1)),
        ContributorConsentChange(contributor=sam, opted_out=True, changed_at=months_ago(1, day=20)),
    ])
    credit(sam, catalogue["acme"], "7.00", months_ago(1))

    rate = {row["month"]: row for row in opt_out_rate_by_month(months=4)}
    three, two, one, now = (rate[timezone.make_aware(datetime(m.year, m.month, 1))]
                            for m in (first_of(months_ago(n)) for n in (3, 2, 1, 0)))
    assert (three["contributors"], three["opted_out"], three["rate"]) == (3, 0, 0)
    assert (two["opted_out"], two["rate"], two["opt_outs"], two["opt_ins"]) == (1, 33.33, 1, 0)
    assert (one["opted_out"], one["opt_outs"], one["opt_ins"]) == (1, 1, 1)
    assert now["opted_out"] == 1

    client.force_login(rita)
    response = client.get("/staff/contributors/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<canvas id="opt-out-chart"' in page and "/static/vendor/chart.umd.min.js" in page
    assert "cdn" not in page.lower()
    chart = json.loads(re.search(r'<script id="contributor-chart-data" type="application/json">(.*?)</script>',
                                 page).group(1))
    assert chart["rate"][-3:] == [33.33, 33.33, 33.33] and chart["opt_outs"][-3:] == [1, 1, 0]
    assert chart["royalties"][0]["currency"] == "EUR" and 7.0 in chart["royalties"][0]["net"]

    client.force_login(alice)
    assert client.get("/staff/contributors/").status_code == 403
    client.logout()
    assert client.get("/staff/contributors/").status_code == 302


def test_the_transparency_page_is_served_from_the_cache_between_refreshes(client, catalogue, alice):
    def grants_table():
        return re.search(r'<table id="grants">.*?</table>', client.get("/transparency/").content.decode(), re.S)[0]

    first = grants_table()
    make_works(catalogue["sam"], images=5, title="Later")
    build(catalogue["acme"], alice, 100)
    assert grants_table() == first, "one aggregation per refresh, not per visit"
    cache.clear()
    assert "<td>Research</td><td>1</td>\n      <td>15<br>" in grants_table()
