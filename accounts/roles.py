"""Licensor staff roles: Django groups, each with the permissions its people need.

Start-up members hold no role: what they may do follows from their organisation
membership. Staff roles are groups so that an admin can grant them in Django admin.
"""
from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext_lazy as _

REVIEWER = "reviewer"
LICENSOR_ADMIN = "licensor_admin"
FINANCE = "finance"

ROLE_LABELS = {REVIEWER: _("Reviewer"), LICENSOR_ADMIN: _("Licensor admin"), FINANCE: _("Finance")}

_REVIEW = [
    "licensing.view_licence",
    "licensing.view_licenceevent",
    "licensing.review_licence",
    "licensing.view_contributor",
    "licensing.view_asset",
]
ROLE_PERMISSIONS = {
    REVIEWER: _REVIEW,
    LICENSOR_ADMIN: [
        *_REVIEW,
        "licensing.offer_licence",
        "licensing.administer_licence",
        "licensing.change_contributor",
        "licensing.view_slice",
        "licensing.view_invoice",
        "licensing.view_payment",
        "licensing.view_royaltypool",
        "licensing.view_royaltyentry",
        "licensing.view_auditevent",
    ],
    FINANCE: [
        "licensing.view_licence",
        "licensing.view_licenceevent",
        "licensing.record_payment",
        "licensing.view_contributor",
        "licensing.view_invoice",
        "licensing.view_payment",
        "licensing.view_royaltypool",
        "licensing.view_royaltyentry",
    ],
}


def sync_role_groups():
    """Create the role groups and give each exactly its permissions; safe to run any number of times."""
    # post_migrate reaches this app before later apps have their permissions made.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in perms:
            app_label, codename = dotted.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def roles_of(user):
    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(ROLE_PERMISSIONS)
    return set(user.groups.filter(name__in=ROLE_PERMISSIONS).values_list("name", flat=True))


def has_role(user, *roles):
    return bool(roles_of(user) & set(roles))


def is_staff_member(user):
    return bool(roles_of(user))
