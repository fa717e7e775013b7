"""Every change to a licence: one function per action of the workflow table.

Each runs in one transaction with the licence row locked, checks the table, applies
the change, appends one LicenceEvent and sends its e-mails after commit.
"""
import json
from datetime import timedelta
from decimal import Decimal

import structlog
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from accounts.roles import ROLE_LABELS, roles_of
from licensing import jobs, notifications, workflow
from licensing.models import (
    Collection,
    Disclosure,
    InvoiceReason,
    InvoiceStatus,
    Licence,
    LicenceEvent,
    LicenceState,
    OfferCoverage,
    ReportingPeriod,
)
from licensing.selectors.licences import licences_due_for_expiry, licences_ending_soon
from licensing.selectors.transparency import transparency_changed
from licensing.services.audit import audit
from licensing.services.collections import (
    OfferConflict,
    check_offer_conflicts,
    lock_exclusivity,
)
from licensing.services.delivery import slice_manifest_links_revoke
from licensing.services.webhooks import webhook_emit
from licensing.workflow import LicenceActionRefused, StaleLicence, state_in_sentence

log = structlog.get_logger(__name__)

RESEARCH_TERMS_VERSION = "2026-01"
CURRENCIES = ("EUR", "USD", "GBP", "CHF")

APPLICATION_FIELDS = (
    "project_title", "description", "intended_use", "model_type", "media_kinds",
    "estimated_volume", "team_size", "funding_stage",
)


def _actor_label(by):
    """Who acted, as the licence's record keeps it: in English, whatever language the actor reads."""
    if by is None:
        return "Tessera (scheduled job)"
    roles = sorted(roles_of(by))
    if roles:
        with override("en"):
            return f"{by.get_full_name()} ({', '.join(str(ROLE_LABELS[r]).lower() for r in roles)})"
    return by.get_full_name()


def _json_safe(payload):
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))


def _perform(*, licence, action, by, expected_version=None, note="", payload=None, apply=None, actor_label=None,
             then=None):
    payload = payload or {}
    with transaction.atomic():
        locked = Licence.objects.select_for_update().get(pk=licence.pk)
        if expected_version is not None and locked.version != int(expected_version):
            raise StaleLicence(
                _("This licence changed while you were looking at it: it is now %(state)s. Nothing was done; "
                  "see the timeline and try again.") % {"state": state_in_sentence(locked.state)}
            )
        now = timezone.now()
        transition = workflow.check(locked, action, by, payload, now=now)
        from_state, from_phase = locked.state, locked.phase
        target = workflow.target_of(transition, locked)
        if apply is not None:
            apply(locked, now)
        if target == LicenceState.SUSPENDED:
            locked.suspended_from = from_state
        elif from_state == LicenceState.SUSPENDED:
            locked.suspended_from = ""
            locked.suspended_for_invoice = None
        locked.phase = workflow.phase_after(locked, target)
        locked.state = target
        locked.version += 1
        locked.save()
        event = LicenceEvent.objects.create(
            licence=locked,
            actor=by,
            actor_label=actor_label or _actor_label(by),
            action=action,
            from_state=from_state,
            to_state=target,
            note=note or payload.get("reason") or payload.get("message") or "",
            payload=_json_safe(payload),
            created_at=now,
        )
        if then is not None:
            then(locked)
        if from_state in workflow.ACTIVE and target not in workflow.ACTIVE:
            slice_manifest_links_revoke(licence=locked, dedupe=f"licence-event:{event.pk}")
        jobs.schedule("licence.notify", event_id=event.pk, dedupe=f"licence.notify:{event.pk}")
        webhook_emit(organisation_id=locked.organisation_id, event_type="licence.state_changed", now=now, data={
            "licence": locked.pk, "action": action, "from_state": from_state, "to_state": target,
            "phase": locked.phase, "note": event.note, "url": settings.SITE_URL + f"/api/v1/licences/{locked.pk}/"})
        if locked.phase != from_phase:
            transaction.on_commit(transparency_changed)
    log.info("licence_transition", licence=locked.pk, action=action, from_state=from_state, to_state=target)
    _refresh(licence, locked)
    return locked


def _refresh(stale, fresh):
    """Let the caller's instance see the new row without another query."""
    if stale is not fresh:
        for f in Licence._meta.concrete_fields:
            setattr(stale, f.attname, getattr(fresh, f.attname))


# --- The application --------------------------------------------------------

@transaction.atomic
def licence_create_draft(*, organisation, by, accept_terms, **application):
    """A new application in draft. Not a transition: the licence starts its life here."""
    licence = Licence(organisation=organisation, applicant=by, **{k: application[k] for k in APPLICATION_FIELDS})
    if accept_terms:
        licence.terms_accepted_at, licence.terms_version = timezone.now(), RESEARCH_TERMS_VERSION
    licence.full_clean()
    licence.save()
    LicenceEvent.objects.create(
        licence=licence, actor=by, actor_label=_actor_label(by), action="create",
        from_state=LicenceState.DRAFT, to_state=LicenceState.DRAFT,
    )
    return licence


def licence_update_application(*, licence, by, expected_version=None, accept_terms=False, **application):
    with transaction.atomic():
        locked = Licence.objects.select_for_update().get(pk=licence.pk)
        if expected_version is not None and locked.version != int(expected_version):
            raise StaleLicence(_("This application changed while you were editing it. Nothing was saved; reload and try again."))
        if locked.state not in (LicenceState.DRAFT, LicenceState.CHANGES_REQUESTED):
            raise LicenceActionRefused(
                _("The application can be edited only as a draft or when changes are requested; it is "
                  "%(state)s.") % {"state": state_in_sentence(locked.state)}
            )
        if "applicant" not in workflow.actor_kinds(by, locked):
            raise LicenceActionRefused(_("Only the applicant's organisation can edit the application."))
        changed = sorted(key for key in APPLICATION_FIELDS if key in application and getattr(locked, key) != application[key])
        for key in APPLICATION_FIELDS:
            if key in application:
                setattr(locked, key, application[key])
        if accept_terms and locked.terms_accepted_at is None:
            locked.terms_accepted_at, locked.terms_version = timezone.now(), RESEARCH_TERMS_VERSION
        locked.full_clean()
        locked.version += 1
        locked.save()
        audit(actor=by, organisation=locked.organisation, action="licence.edit_application", target=locked,
              payload={"fields": changed, "accepted_terms": bool(accept_terms)})
    _refresh(licence, locked)
    return locked


def licence_submit(*, licence, by, expected_version=None):
    return _perform(licence=licence, action="submit", by=by, expected_version=expected_version)


def licence_withdraw(*, licence, by, note="", expected_version=None):
    return _perform(licence=licence, action="withdraw", by=by, note=note, expected_version=expected_version)


# --- Review -----------------------------------------------------------------

def licence_request_changes(*, licence, by, message, expected_version=None):
    return _perform(licence=licence, action="request_changes", by=by, payload={"message": message},
                    expected_version=expected_version)


def licence_reject(*, licence, by, reason, expected_version=None):
    return _perform(licence=licence, action="reject", by=by, payload={"reason": reason},
                    expected_version=expected_version)


def licence_approve(*, licence, by, max_assets=None, max_bytes=None, max_slices=None, duration_days=None, note="",
                    expected_version=None):
    caps = {
        "max_assets": settings.RESEARCH_DEFAULT_MAX_ASSETS if max_assets is None else max_assets,
        "max_bytes": settings.RESEARCH_DEFAULT_MAX_BYTES if max_bytes is None else max_bytes,
        "max_slices": settings.RESEARCH_DEFAULT_MAX_SLICES if max_slices is None else max_slices,
        "duration_days": settings.RESEARCH_DEFAULT_DURATION_DAYS if duration_days is None else duration_days,
    }
    for key, value in caps.items():
        if int(value) < 1:
            raise LicenceActionRefused(_("Cannot approve: %(cap)s must be at least 1.")
                                       % {"cap": key.replace("_", " ")})

    def apply(locked, now):
        locked.max_assets, locked.max_bytes, locked.max_slices = caps["max_assets"], caps["max_bytes"], caps["max_slices"]
        locked.research_starts_at = now
        locked.research_ends_at = now + timedelta(days=caps["duration_days"])

    def schedule_fee(locked):
        if settings.RESEARCH_FEE > 0:
            jobs.schedule("invoice.issue_research_fee", licence_id=locked.pk,
                          dedupe=f"invoice.issue_research_fee:{locked.pk}")

    approved = _perform(licence=licence, action="approve", by=by, note=note, payload=caps, apply=apply,
                        expected_version=expected_version, then=schedule_fee)
    return approved


# --- The upgrade --------------------------------------------------------------

def licence_request_upgrade(*, licence, by, intended_use, expected_scale, expected_version=None):
    def apply(locked, now):
        locked.upgrade_intended_use, locked.upgrade_expected_scale = intended_use, expected_scale

    return _perform(licence=licence, action="request_upgrade", by=by, apply=apply, expected_version=expected_version,
                    payload={"intended_use": intended_use, "expected_scale": expected_scale})


def licence_make_offer(*, licence, by, fee, currency, billing_period, term_months, scope, territory="Worldwide",
                       max_assets=None, max_bytes=None, max_slices=None, disclosure=Disclosure.NONE, note="",
                       expected_version=None, coverage=OfferCoverage.SLICES, collections=(), exclusive=False,
                       custom_model="", attribution_rate=None, reporting_period=ReportingPeriod.QUARTERLY,
                       reporting_days=30):
    """The commercial offer. It covers the licence's slices, the whole catalogue or listed collections; an
    exclusive one is refused when another licence holds some of its works, decided under the exclusivity
    lock so that of two conflicting offers exactly one is made."""
    fee = Decimal(fee)
    attribution_rate = settings.ROYALTY_SHARE if attribution_rate is None else Decimal(attribution_rate)
    if not attribution_rate.is_finite() or not (0 <= attribution_rate <= 1) or attribution_rate != attribution_rate.quantize(Decimal("0.0001")):
        raise LicenceActionRefused(_("Cannot make the offer: the attribution rate must be from 0 to 1 (100%), "
                                     "in steps of 0.01%."))
    if reporting_period not in ReportingPeriod.values:
        raise LicenceActionRefused(
            _("Cannot make the offer: usage is reported %(items)s.") % {"items": ' or '.join(ReportingPeriod.values)})
    if not 1 <= int(reporting_days) <= 366:
        raise LicenceActionRefused(_("Cannot make the offer: the usage report deadline is 1 to 366 days after "
                                     "the period."))
    if fee < 0:
        raise LicenceActionRefused(_("Cannot make the offer: the fee cannot be negative."))
    if currency not in CURRENCIES:
        raise LicenceActionRefused(_("Cannot make the offer: the currency must be one of %(items)s.")
                                   % {"items": ', '.join(CURRENCIES)})
    if int(term_months) < 1:
        raise LicenceActionRefused(_("Cannot make the offer: the term must be at least one month."))
    if disclosure not in Disclosure.values:
        raise LicenceActionRefused(
            _("Cannot make the offer: disclosure of trained models must be one of %(items)s.")
            % {"items": ', '.join(Disclosure.values)})
    if coverage not in OfferCoverage.values:
        raise LicenceActionRefused(_("Cannot make the offer: it covers %(items)s.")
                                   % {"items": ', '.join(OfferCoverage.values)})
    collection_ids = sorted({getattr(c, "pk", c) for c in collections})
    if coverage == OfferCoverage.COLLECTIONS:
        if not collection_ids:
            raise LicenceActionRefused(_("Cannot make the offer: choose the collections it covers."))
        if Collection.objects.filter(pk__in=collection_ids).count() != len(collection_ids):
            raise LicenceActionRefused(_("Cannot make the offer: one of its collections does not exist."))
    else:
        collection_ids = []
    custom_model = (custom_model or "").strip()
    offer = {
        "fee": fee, "currency": currency, "billing_period": billing_period, "term_months": int(term_months),
        "scope": scope, "territory": territory, "max_assets": max_assets, "max_bytes": max_bytes,
        "max_slices": max_slices, "disclosure": disclosure, "coverage": coverage, "collections": collection_ids,
        "exclusive": bool(exclusive), "custom_model": custom_model, "attribution_rate": attribution_rate,
        "reporting_period": reporting_period, "reporting_days": int(reporting_days),
    }

    def apply(locked, now):
        locked.offer_disclosure = disclosure
        lock_exclusivity()
        try:
            check_offer_conflicts(licence=locked, exclusive=bool(exclusive), coverage=coverage,
                                  collection_ids=collection_ids)
        except OfferConflict as conflict:
            raise LicenceActionRefused(str(conflict)) from None
        locked.offer_coverage, locked.offer_exclusive, locked.offer_custom_model = coverage, bool(exclusive), \
            custom_model
        locked.offer_attribution_rate = attribution_rate
        locked.offer_reporting_period, locked.offer_reporting_days = reporting_period, int(reporting_days)
        locked.offer_fee, locked.offer_currency = fee, currency
        locked.offer_billing_period, locked.offer_term_months = billing_period, int(term_months)
        locked.offer_scope, locked.offer_territory = scope, territory
        locked.offer_max_assets, locked.offer_max_bytes, locked.offer_max_slices = max_assets, max_bytes, max_slices
        locked.offer_made_at = now

    def keep_collections(locked):
        locked.offer_collections.set(collection_ids)

    return _perform(licence=licence, action="make_offer", by=by, note=note, payload=offer, apply=apply,
                    expected_version=expected_version, then=keep_collections)


def licence_decline_upgrade(*, licence, by, reason, expected_version=None):
    return _perform(licence=licence, action="decline_upgrade", by=by, payload={"reason": reason},
                    expected_version=expected_version)


def licence_accept_offer(*, licence, by, expected_version=None):
    def apply(locked, now):
        locked.offer_accepted_at = now

    def schedule_invoice(locked):
        # In the acceptance's own transaction: no accepted offer is left without its invoice.
        jobs.schedule("invoice.issue_commercial", licence_id=locked.pk,
                      dedupe=f"invoice.issue_commercial:{locked.pk}:{locked.version}")

    return _perform(licence=licence, action="accept_offer", by=by, apply=apply, expected_version=expected_version,
                    payload={"fee": licence.offer_fee, "currency": licence.offer_currency}, then=schedule_invoice)


def licence_record_payment(*, licence, by, reference="", note="", actor_label=None, expected_version=None):
    """The commercial term starts when the payment is recorded (by finance, or by the payment job with by=None)."""

    def apply(locked, now):
        if locked.commercial_starts_at is None:
            locked.commercial_starts_at = now
            locked.commercial_ends_at = now + relativedelta(months=locked.offer_term_months or 12)

    def grant_collections(locked):
        if locked.offer_coverage == OfferCoverage.COLLECTIONS:
            # The deal is the collections, whole: one slice of them, built set-based like every slice.
            jobs.schedule("slice.grant_collections", licence_id=locked.pk,
                          dedupe=f"slice.grant_collections:{locked.pk}")

    return _perform(licence=licence, action="record_payment", by=by, note=note, apply=apply, actor_label=actor_label,
                    payload={"reference": reference}, expected_version=expected_version, then=grant_collections)


# --- Administration -------------------------------------------------------------

def licence_suspend(*, licence, by, reason, actor_label=None, expected_version=None, dunning_invoice=None):
    payload = {"reason": reason}
    if dunning_invoice is not None:
        payload["dunning"] = dunning_invoice.display_number

    def apply(locked, now):
        # Paying this invoice lifts the suspension without an admin (licence_lift_dunning_suspension).
        locked.suspended_for_invoice = dunning_invoice

    return _perform(licence=licence, action="suspend", by=by, payload=payload, actor_label=actor_label,
                    expected_version=expected_version, apply=apply)


def licence_lift_dunning_suspension(*, licence, invoice, by=None, reference="", actor_label=None):
    """The invoice the dunning job suspended the licence for is settled: the licence goes on from where it
    was suspended (an unpaid first invoice becomes the payment that makes it commercial). A suspension
    for anything else, or by an admin, stays until an admin lifts it."""
    if licence.state != LicenceState.SUSPENDED or licence.suspended_for_invoice_id != invoice.pk:
        return licence
    if licence.suspended_from == LicenceState.AWAITING_PAYMENT:
        return licence_record_payment(licence=licence, by=by, reference=reference,
                                      actor_label=actor_label or "Tessera (payment job)")
    return licence_reinstate(licence=licence, by=None, note=f"{invoice.display_number} paid.")


def licence_reinstate(*, licence, by, note="", expected_version=None):
    reinstated = _perform(licence=licence, action="reinstate", by=by, note=note, expected_version=expected_version)
    if reinstated.state == LicenceState.AWAITING_PAYMENT and reinstated.invoices.filter(
        reason=InvoiceReason.COMMERCIAL, status=InvoiceStatus.PAID
    ).exists():
        # Paid while an admin held it suspended: it was only waiting for the payment.
        return licence_record_payment(licence=reinstated, by=None, reference="paid while suspended",
                                      actor_label="Tessera (payment job)")
    return reinstated


def licence_revoke(*, licence, by, reason, expected_version=None):
    return _perform(licence=licence, action="revoke", by=by, payload={"reason": reason},
                    expected_version=expected_version)


def licence_expire(*, licence, by=None):
    return _perform(licence=licence, action="expire", by=by)


# Each action of the workflow table is done by the function named after it.
SERVICES = {action: globals()[f"licence_{action}"] for action in workflow.TABLE}


def licences_expire(*, now=None):
    """Expire every licence past its end date. The workflow re-checks each under its lock,
    so a second run, or a run racing an admin, expires nothing twice."""
    expired = 0
    for licence in licences_due_for_expiry(now=now or timezone.now()).only("pk"):
        try:
            licence_expire(licence=licence)
        except LicenceActionRefused as refusal:
            log.info("expire_skipped", licence=licence.pk, reason=str(refusal))
            continue
        expired += 1
    return expired


def licences_remind_expiring(*, now=None):
    """E-mail each member of licences ending within the reminder window, once per licence and member."""
    now = now or timezone.now()
    horizon = now + timedelta(days=settings.LICENCE_EXPIRY_REMINDER_DAYS)
    sent = 0
    for licence in licences_ending_soon(now=now, horizon=horizon):
        sent += notifications.send_expiry_reminders(licence, max((licence.ends_at - now).days, 0))
    return sent
