"""A contributor's AI-training choice. Every change is appended to their history."""
import structlog
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from licensing.db import lock_consent
from licensing.models import Contributor, ContributorConsentChange, SliceItem
from licensing.rights import OPT_OUT
from licensing.selectors.contributors import grants_an_opt_out_withdraws
from licensing.selectors.transparency import transparency_changed
from licensing.services.audit import audit, audit_many
from licensing.services.delivery import slice_items_withdrawn

log = structlog.get_logger(__name__)


@transaction.atomic
def contributor_set_opt_out(*, contributor, opted_out, by=None, note=""):
    """Record the contributor's choice; returns False when it was already their choice."""
    lock_consent()  # first: a slice build about to commit either sees this choice or is seen by its withdrawal
    contributor = Contributor.objects.select_for_update().get(pk=contributor.pk)
    if contributor.opted_out == opted_out:
        return False
    now = timezone.now()
    contributor.opted_out = opted_out
    contributor.opt_out_changed_at = now
    contributor.save(update_fields=["opted_out", "opt_out_changed_at"])
    change = ContributorConsentChange.objects.create(
        contributor=contributor, opted_out=opted_out, changed_at=now, changed_by=by, note=note
    )
    withdrawn = 0
    if opted_out:
        # Research grants end at once; commercial licences keep theirs, as contracted. New slices exclude
        # the contributor because selection reads the flag set above; a build running now sees it through
        # the consent lock this transaction holds (services/slices.py).
        withdrawable = grants_an_opt_out_withdraws(contributor_id=contributor.pk)
        # Each licence's timeline says which of its slices lost works, and how many.
        per_slice = list(withdrawable.values("slice_id", "slice__number", "licence__organisation_id")
                         .annotate(items=Count("id")).order_by("slice_id"))
        grants = list(withdrawable.values_list("pk", "licence_id", "slice_id", "asset_id"))
        withdrawn = SliceItem.objects.filter(pk__in=[g[0] for g in grants]).update(
            withdrawn_at=now, withdrawal_reason=OPT_OUT)
        audit_many([(by, None, "slice.withdraw", "slice", row["slice_id"],
                     {"number": row["slice__number"], "items": row["items"], "organisation": row["licence__organisation_id"]})
                    for row in per_slice])
        slice_items_withdrawn(grants, now=now, dedupe=f"consent:{change.pk}", reason=OPT_OUT)
        log.info("research_grants_withdrawn", contributor=contributor.pk, items=withdrawn)
    audit(actor=by, organisation=None, action="contributor.opt_out" if opted_out else "contributor.opt_in",
          target=contributor, payload={"note": note, "withdrawn_items": withdrawn})
    transaction.on_commit(transparency_changed)
    log.info("contributor_opt_out_changed", contributor=contributor.pk, opted_out=opted_out)
    return True
