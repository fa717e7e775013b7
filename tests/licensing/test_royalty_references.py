"""The royalty ledger's references hold without a foreign key per row: an entry naming a payee, licence or
pool that does not exist is refused, and a row that entries name cannot be deleted, by the ORM or by SQL."""
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from licensing.models import Contributor, RoyaltyEntry, RoyaltyPool
from licensing.services.royalties import royalty_pool_create
from tests.licensing.factories import catalogue
from tests.licensing.test_royalties import grant_directly, pay, research_licence

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(org_a, alice):
    licence = research_licence(org_a, alice)
    pia = Contributor.objects.create(display_name="Pia")
    grant_directly(licence, catalogue(3, contributor=pia))
    _, payment = pay(licence, "100.00")
    return royalty_pool_create(payment_id=payment.pk)


def entry(pool, **changes):
    values = {"contributor_id": pool.entries.first().contributor_id, "licence_id": pool.licence_id,
              "pool_id": pool.pk, "amount": Decimal("1.00"), "currency": "EUR", "reason": "attribution",
              "created_at": timezone.now(), **changes}
    return RoyaltyEntry.objects.create(**values)


@pytest.mark.parametrize("changes", [
    {"contributor_id": 987_654_321},
    {"contributor_id": None, "organisation_id": 987_654_321},
    {"licence_id": 987_654_321},
    {"pool_id": 987_654_321},
    {"pool_id": None, "credit_note_id": 987_654_321},
    {"usage_report_id": 987_654_321},
])
def test_an_entry_naming_a_row_that_does_not_exist_is_refused(pool, changes):
    before = RoyaltyEntry.objects.count()
    with pytest.raises(IntegrityError, match="does not exist"), transaction.atomic():
        entry(pool, **changes)
    assert RoyaltyEntry.objects.count() == before


def test_an_entry_naming_existing_rows_is_written(pool):
    written = entry(pool)
    assert RoyaltyEntry.objects.filter(pk=written.pk, pool=pool).exists()


def test_a_payee_or_pool_that_entries_name_cannot_be_deleted(pool):
    payee = Contributor.objects.get(pk=pool.entries.first().contributor_id)
    with pytest.raises(ProtectedError):
        payee.delete()
    for table, row in ((Contributor._meta.db_table, payee.pk), (RoyaltyPool._meta.db_table, pool.pk)):
        with pytest.raises(IntegrityError, match="named by royalty entries"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s", [row])
    assert Contributor.objects.filter(pk=payee.pk).exists() and RoyaltyPool.objects.filter(pk=pool.pk).exists()


def test_a_contributor_no_entry_names_can_still_be_deleted(pool):
    nobody = Contributor.objects.create(display_name="Nobody")
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Contributor._meta.db_table} WHERE id = %s", [nobody.pk])
    assert not Contributor.objects.filter(pk=nobody.pk).exists()
