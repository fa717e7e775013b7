"""A contributor's AI-training choice. Every change is appended to their history."""
from collections import defaultdict

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from licensing import jobs
from licensing.models import Contributor, ContributorConsentChange, Licence, SliceItem
from licensing.rights import OPT_OUT
from licensing.selectors.contributors import grants_an_opt_out_withdraws
from licensing.selectors.transparency import transparency_changed
from licensing.services.audit import audit, audit_many
from licensing.services.webhooks import webhook_emit

# Asset ids per items.withdrawn message: Standard Webhooks asks for small payloads (under ~20 kB).
WITHDRAWN_PER_MESSAGE = 1000

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
    change = ContributorConsentChange.objects.create(
        contributor=contributor, opted_out=opted_out, changed_at=now, changed_by=by, note=note
    )
    withdrawn = 0
    if opted_out:
        # Research grants end at once; commercial licences keep theirs, as contracted. New slices exclude
        # the contributor because selection reads the flag set above; a build running now sees it through
        # the contributor lock this transaction holds (services/slices.py).
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
        _after_withdrawal(grants, now=now, dedupe=f"consent:{change.pk}")
        log.info("research_grants_withdrawn", contributor=contributor.pk, items=withdrawn)
    audit(actor=by, organisation=None, action="contributor.opt_out" if opted_out else "contributor.opt_in",
          target=contributor, payload={"note": note, "withdrawn_items": withdrawn})
    transaction.on_commit(transparency_changed)
    log.info("contributor_opt_out_changed", contributor=contributor.pk, opted_out=opted_out)
    return True


def _after_withdrawal(grants, *, now, dedupe):
    """The slices' shards are rewritten without the withdrawn items, and each licence's webhooks are told
    which assets to purge; both in the withdrawal's transaction, through the outbox."""
    by_licence = defaultdict(list)
    for _, licence_id, slice_id, asset_id in grants:
        by_licence[licence_id].append((slice_id, asset_id))
    for slice_id in sorted({g[2] for g in grants}):
        jobs.schedule("slice.shards", slice_id=slice_id, dedupe=f"slice.shards:{slice_id}:{dedupe}")
    organisations = dict(Licence.objects.filter(pk__in=list(by_licence)).values_list("pk", "organisation_id"))
    for licence_id, items in sorted(by_licence.items()):
        items.sort()
        for start in range(0, len(items), WITHDRAWN_PER_MESSAGE):
            chunk = items[start:start + WITHDRAWN_PER_MESSAGE]
            webhook_emit(organisation_id=organisations[licence_id], event_type="items.withdrawn", now=now, data={
                "licence": licence_id, "reason": "opt_out", "withdrawn_at": now,
                "slices": sorted({slice_id for slice_id, _ in chunk}),
                "asset_ids": sorted({asset_id for _, asset_id in chunk}),
                "items": [{"slice": slice_id, "asset_id": asset_id} for slice_id, asset_id in chunk],
                "feed": settings.SITE_URL + f"/api/v1/licences/{licence_id}/withdrawals/",
            })
