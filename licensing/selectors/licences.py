"""Which licences a person may see, and the review queues."""
from datetime import timedelta

from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from licensing.models import Licence, LicenceState
from licensing.selectors.organisations import organisation_scoped


def licences_of_organisation(*, organisation_id):
    """The rule "an organisation sees only its own", for its members' pages and its API keys alike."""
    return Licence.objects.filter(organisation_id=organisation_id)


def licences_visible_to(*, user):
    return organisation_scoped(Licence.objects.select_related("organisation", "applicant"), user=user)


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


def licences_due_for_expiry(*, now):
    return Licence.objects.filter(
        Q(state=LicenceState.RESEARCH_ACTIVE, research_ends_at__lte=now)
        | Q(state=LicenceState.COMMERCIAL_ACTIVE, commercial_ends_at__lte=now)
    )


def licences_ending_soon(*, now, horizon):
    """Active licences whose end date falls between now and the horizon: their members are reminded."""
    return Licence.objects.select_related("organisation").filter(
        Q(state__in=[LicenceState.RESEARCH_ACTIVE, LicenceState.UPGRADE_REQUESTED, LicenceState.UPGRADE_OFFERED],
          research_ends_at__gt=now, research_ends_at__lte=horizon)
        | Q(state=LicenceState.COMMERCIAL_ACTIVE, commercial_ends_at__gt=now, commercial_ends_at__lte=horizon)
    )
