"""The rule every subject shares: licensor staff see everything, an organisation's members see
their organisation's own, and anyone else sees nothing (their requests answer 404)."""
from accounts.roles import is_staff_member


def organisation_scoped(queryset, *, user, field="organisation_id", staff_sees_all=is_staff_member):
    if not user.is_authenticated:
        return queryset.none()
    if staff_sees_all(user):
        return queryset
    membership = getattr(user, "membership", None)
    if membership is None:
        return queryset.none()
    return queryset.filter(**{field: membership.organisation_id})
