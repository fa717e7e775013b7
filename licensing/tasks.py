"""Celery tasks: load by id, call a service, done. Each is safe to run twice."""
from datetime import timedelta

import structlog
from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from licensing import notifications
from licensing.models import Licence, LicenceState
from licensing.services import licences as licence_services
from licensing.workflow import LicenceActionRefused

log = structlog.get_logger(__name__)


@shared_task(acks_late=True)
def notify_licence_event(event_id):
    return notifications.send_licence_event_emails(event_id)


def _due_for_expiry(now):
    return Licence.objects.filter(
        Q(state=LicenceState.RESEARCH_ACTIVE, research_ends_at__lte=now)
        | Q(state=LicenceState.COMMERCIAL_ACTIVE, commercial_ends_at__lte=now)
    )


@shared_task(acks_late=True)
def expire_licences():
    """Expire every licence past its end date. The workflow re-checks each under its lock,
    so a second run, or a run racing an admin, expires nothing twice."""
    expired = 0
    for licence in _due_for_expiry(timezone.now()).only("pk"):
        try:
            licence_services.licence_expire(licence=licence)
        except LicenceActionRefused as refusal:
            log.info("expire_skipped", licence=licence.pk, reason=str(refusal))
            continue
        expired += 1
    return expired


@shared_task(acks_late=True)
def remind_expiring_licences():
    now = timezone.now()
    horizon = now + timedelta(days=settings.LICENCE_EXPIRY_REMINDER_DAYS)
    due = Licence.objects.select_related("organisation").filter(
        Q(state__in=[LicenceState.RESEARCH_ACTIVE, LicenceState.UPGRADE_REQUESTED, LicenceState.UPGRADE_OFFERED],
          research_ends_at__gt=now, research_ends_at__lte=horizon)
        | Q(state=LicenceState.COMMERCIAL_ACTIVE, commercial_ends_at__gt=now, commercial_ends_at__lte=horizon)
    )
    sent = 0
    for licence in due:
        days_left = max((licence.ends_at - now).days, 0)
        sent += notifications.send_expiry_reminders(licence, days_left)
    return sent


@shared_task(acks_late=True, reject_on_worker_lost=True)
def build_slice(slice_id):
    from licensing.services.slices import slice_build

    slice_build(slice_id=slice_id)


@shared_task(acks_late=True)
def sweep_slices():
    """Re-send the build job of slices whose job was lost. Building twice is harmless (see slice_build)."""
    from licensing.services.slices import slices_to_sweep

    slice_ids = slices_to_sweep()
    for slice_id in slice_ids:
        build_slice.delay(slice_id)
    if slice_ids:
        log.warning("slices_requeued", slices=slice_ids)
    return len(slice_ids)


@shared_task(acks_late=True)
def issue_commercial_invoice(licence_id):
    from licensing.services.billing import commercial_invoice_issue

    commercial_invoice_issue(licence_id=licence_id)


@shared_task(acks_late=True)
def issue_research_fee_invoice(licence_id):
    from licensing.services.billing import research_fee_invoice_issue

    research_fee_invoice_issue(licence_id=licence_id)


@shared_task(acks_late=True)
def render_invoice_pdf(invoice_id):
    from licensing.services.billing import invoice_pdf_store

    invoice = invoice_pdf_store(invoice_id=invoice_id)
    if invoice is not None and not invoice.is_credit_note:
        notifications.send_invoice_issued(invoice)


@shared_task(acks_late=True)
def issue_renewal_invoices():
    from licensing.services.billing import renewal_invoices_issue

    return renewal_invoices_issue()


@shared_task(acks_late=True)
def run_dunning():
    from licensing.services.billing import dunning_run

    return dunning_run()


@shared_task(acks_late=True)
def create_royalty_pool(payment_id):
    from licensing.services.royalties import royalty_pool_create

    royalty_pool_create(payment_id=payment_id)


@shared_task(acks_late=True)
def reverse_royalties_for_credit_note(credit_note_id):
    from licensing.services.royalties import royalties_reverse_for_credit_note

    royalties_reverse_for_credit_note(credit_note_id=credit_note_id)
