"""A contributor's AI-training choice. Every change is appended to their history."""
import structlog
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from licensing.models import Contributor, ContributorConsentChange
from licensing.selectors.contributors import grants_an_opt_out_withdraws
from licensing.selectors.transparency import transparency_changed
from licensing.services.audit import audit, audit_many

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
    withdrawn = 0
    if opted_out:
        # Research grants end at once; commercial licences keep theirs, as contracted. New slices exclude
        # the contributor because selection reads the flag set above; a build running now sees it through
        # the contributor lock this transaction holds (services/slices.py).
        grants = grants_an_opt_out_withdraws(contributor_id=contributor.pk)
        # Each licence's timeline says which of its slices lost works, and how many.
        per_slice = list(grants.values("slice_id", "slice__number", "licence__organisation_id")
                         .annotate(items=Count("id")).order_by("slice_id"))
        withdrawn = grants.update(withdrawn_at=now)
        audit_many([(by, None, "slice.withdraw", "slice", row["slice_id"],
                     {"number": row["slice__number"], "items": row["items"], "organisation": row["licence__organisation_id"]})
                    for row in per_slice])
        log.info("research_grants_withdrawn", contributor=contributor.pk, items=withdrawn)
    audit(actor=by, organisation=None, action="contributor.opt_out" if opted_out else "contributor.opt_in",
          target=contributor, payload={"note": note, "withdrawn_items": withdrawn})
    transaction.on_commit(transparency_changed)
    log.info("contributor_opt_out_changed", contributor=contributor.pk, opted_out=opted_out)
    return True
