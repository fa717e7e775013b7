import pytest
from django.db import connection

from licensing.models import Asset, Contributor, ContributorConsentChange
from licensing.services.contributors import contributor_set_opt_out

pytestmark = pytest.mark.django_db


def test_opting_out_records_the_time_and_appends_to_the_history(alice):
    contributor = Contributor.objects.create(display_name="Lea Brandt")
    assert contributor_set_opt_out(contributor=contributor, opted_out=True, by=alice, note="No AI for me.")
    contributor.refresh_from_db()
    assert contributor.opted_out is True
    assert contributor.opt_out_changed_at is not None
    first = contributor.opt_out_changed_at

    # Saying the same again changes nothing and adds no history.
    assert not contributor_set_opt_out(contributor=contributor, opted_out=True, by=alice)
    assert contributor_set_opt_out(contributor=contributor, opted_out=False, by=alice)
    contributor.refresh_from_db()
    assert contributor.opted_out is False and contributor.opt_out_changed_at >= first
    history = list(ContributorConsentChange.objects.filter(contributor=contributor).order_by("changed_at", "id"))
    assert [(h.opted_out, h.changed_by, h.note) for h in history] == [(True, alice, "No AI for me."), (False, alice, "")]


def test_slice_selection_filters_are_indexed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('licensing_asset', 'licensing_contributor')")
        indexes = dict(cursor.fetchall())
    assert "(kind, width, height)" in indexes["asset_kind_resolution_idx"]
    assert "WHERE opted_out" in indexes["contributor_opted_out_idx"]


def test_an_asset_without_a_storage_key_has_no_file():
    contributor = Contributor.objects.create(display_name="Ola")
    asset = Asset.objects.create(contributor=contributor, kind="image", title="x", width=1, height=1, bytes=1,
                                 mime_type="image/png", sha256="0" * 64)
    assert asset.has_file is False
