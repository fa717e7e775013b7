import pytest
from django.contrib.auth.models import Group

from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER, has_role, roles_of

pytestmark = pytest.mark.django_db


def test_migrations_create_one_group_per_staff_role():
    assert set(Group.objects.values_list("name", flat=True)) >= {REVIEWER, LICENSOR_ADMIN, FINANCE}


def test_each_role_holds_its_permissions_and_no_more(rita, adam, fiona, alice):
    assert rita.has_perm("licensing.view_asset")
    assert not rita.has_perm("licensing.change_contributor")
    assert adam.has_perm("licensing.change_contributor")
    assert not fiona.has_perm("licensing.view_asset")
    assert not alice.has_perm("licensing.view_asset")


def test_roles_of_tells_staff_from_applicants(rita, adam, fiona, alice):
    assert roles_of(rita) == {REVIEWER}
    assert roles_of(adam) == {LICENSOR_ADMIN}
    assert has_role(fiona, FINANCE)
    assert roles_of(alice) == set()
