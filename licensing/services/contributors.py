"""A contributor's AI-training choice. Every change is appended to their history."""
import structlog
from django.db import transaction
from django.utils import timezone

from licensing.models import Contributor, ContributorConsentChange

log = structlog.get_logger(__name__)


@transaction.atomic
def contributor_set_opt_out(*, contributor, opted_out, by=None, note=""):
    """Record the contributor's choice; returns False when it was already their choice."""
    contributor = Contributor.objects.select_for_update().get(pk=contributor.pk)
    if contributor.opted_out == opted_out:
        return False
    now = timezone.now()
    contributor.opted_out = opted_out
    contributor.opt_out_changed_at = now
    contributor.save(update_fields=["opted_out", "opt_out_changed_at"])
    ContributorConsentChange.objects.create(
        contributor=contributor, opted_out=opted_out, changed_at=now, changed_by=by, note=note
    )
    log.info("contributor_opt_out_changed", contributor=contributor.pk, opted_out=opted_out)
    return True
