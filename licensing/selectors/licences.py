"""Which licences a person may see, and the review queues."""
from datetime import timedelta

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from accounts.roles import is_staff_member
from licensing.models import Licence


def licences_visible_to(*, user):
    queryset = Licence.objects.select_related("organisation", "applicant")
    if not user.is_authenticated:
        return queryset.none()
    if is_staff_member(user):
        return queryset
    membership = getattr(user, "membership", None)
    if membership is None:
        return queryset.none()
    return queryset.filter(organisation_id=membership.organisation_id)


def licence_visible_to(*, user, pk):
    """The licence, or 404 when it does not exist or belongs to another organisation."""
    try:
        return licences_visible_to(user=user).get(pk=pk)
    except (Licence.DoesNotExist, ValueError):
        raise Http404("No such licence.") from None


def review_queue(*, states, organisation=None, older_than_days=None, now=None):
    queryset = Licence.objects.select_related("organisation").filter(state__in=states)
    if organisation:
        queryset = queryset.filter(Q(organisation__slug=organisation) | Q(organisation__name__icontains=organisation))
    if older_than_days:
        queryset = queryset.filter(updated_at__lte=(now or timezone.now()) - timedelta(days=older_than_days))
    return queryset.order_by("updated_at", "id")
