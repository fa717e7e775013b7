"""Which invoices a person may see, and the finance lists."""


from accounts.roles import FINANCE, LICENSOR_ADMIN, has_role
from licensing.models import Invoice


def invoices_visible_to(*, user):
    """Finance and licensor admins see every invoice; a licensee sees its organisation's issued ones."""

    queryset = Invoice.objects.select_related("organisation", "licence", "corrects")
    if not user.is_authenticated:
        return queryset.none()
    if has_role(user, FINANCE, LICENSOR_ADMIN):
        return queryset
    membership = getattr(user, "membership", None)
    if membership is None:
        return queryset.none()
    return queryset.filter(organisation_id=membership.organisation_id).exclude(number__isnull=True)
