"""A contributor's AI-training choice. Every change is appended to their history."""
import structlog
from django.db import transaction
from django.utils import timezone

from licensing.models import (
    Contributor,
    ContributorConsentChange,
    LicencePhase,
    SliceItem,
)

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
    if opted_out:
        # Research grants end at once; commercial grants stand, as contracted. New slices
        # exclude the contributor because selection reads the flag set above.
        withdrawn = SliceItem.objects.filter(
            asset__contributor_id=contributor.pk, slice__phase=LicencePhase.RESEARCH, withdrawn_at__isnull=True
        ).update(withdrawn_at=now)
        log.info("research_grants_withdrawn", contributor=contributor.pk, items=withdrawn)
    log.info("contributor_opt_out_changed", contributor=contributor.pk, opted_out=opted_out)
    return True
