"""Celery tasks: load by id, call a service, done. Each is safe to run twice.

Work a service asks for arrives through the outbox (licensing/jobs.py) with the job's id,
so the delivery is counted and the job marked done; beat runs the periodic ones.
"""
from celery import shared_task

from licensing import jobs, notifications
from licensing.services.attribution import attribution_pool_create, usage_report_process
from licensing.services.billing import (
    commercial_invoice_issue,
    dunning_run,
    invoice_document_deliver,
    renewal_invoices_issue,
    research_fee_invoice_issue,
)
from licensing.services.catalogue import catalogue_verify, ingest_run_execute
from licensing.services.delivery import slice_shards_write
from licensing.services.licences import licences_expire, licences_remind_expiring
from licensing.services.previews import previews_make
from licensing.services.royalties import (
    royalties_reverse_for_credit_note,
    royalty_pool_create,
)
from licensing.services.slices import slice_build, slice_grant_collections
from licensing.services.webhooks import webhook_deliver


@shared_task(acks_late=True)
def notify_licence_event(event_id, job_id=None):
    return jobs.run(job_id, notifications.send_licence_event_emails, event_id=event_id)


@shared_task(acks_late=True)
def send_email(subject, body, to, job_id=None):
    return jobs.run(job_id, notifications.send_plain_email, subject=subject, body=body, to=to)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def build_slice(slice_id, job_id=None):
    jobs.run(job_id, slice_build, slice_id=slice_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def write_slice_shards(slice_id, job_id=None):
    jobs.run(job_id, slice_shards_write, slice_id=slice_id)


@shared_task(acks_late=True)
def deliver_webhook(delivery_id, job_id=None):
    jobs.run(job_id, webhook_deliver, delivery_id=delivery_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def grant_collections(licence_id, job_id=None):
    jobs.run(job_id, slice_grant_collections, licence_id=licence_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def ingest_catalogue(run_id, job_id=None):
    jobs.run(job_id, ingest_run_execute, run_id=run_id)


@shared_task(acks_late=True)
def verify_catalogue(run_id, job_id=None):
    jobs.run(job_id, catalogue_verify, run_id=run_id)


@shared_task(acks_late=True)
def issue_commercial_invoice(licence_id, job_id=None):
    jobs.run(job_id, commercial_invoice_issue, licence_id=licence_id)


@shared_task(acks_late=True)
def issue_research_fee_invoice(licence_id, job_id=None):
    jobs.run(job_id, research_fee_invoice_issue, licence_id=licence_id)


@shared_task(acks_late=True)
def render_invoice_pdf(invoice_id, job_id=None):
    jobs.run(job_id, invoice_document_deliver, invoice_id=invoice_id)


@shared_task(acks_late=True)
def create_royalty_pool(payment_id, job_id=None):
    jobs.run(job_id, royalty_pool_create, payment_id=payment_id)


@shared_task(acks_late=True)
def reverse_royalties_for_credit_note(credit_note_id, job_id=None):
    jobs.run(job_id, royalties_reverse_for_credit_note, credit_note_id=credit_note_id)


@shared_task(acks_late=True)
def make_previews(asset_id, job_id=None):
    jobs.run(job_id, previews_make, asset_id=asset_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def process_usage_report(report_id, job_id=None):
    jobs.run(job_id, usage_report_process, report_id=report_id)


@shared_task(acks_late=True)
def create_attribution_pool(payment_id, job_id=None):
    jobs.run(job_id, attribution_pool_create, payment_id=payment_id)


# --- Beat -------------------------------------------------------------------------

@shared_task(acks_late=True)
def sweep_jobs():
    """Hand over outbox jobs the broker never got or lost."""
    return jobs.sweep()


@shared_task(acks_late=True)
def expire_licences():
    return licences_expire()


@shared_task(acks_late=True)
def remind_expiring_licences():
    return licences_remind_expiring()


@shared_task(acks_late=True)
def issue_renewal_invoices():
    return renewal_invoices_issue()


@shared_task(acks_late=True)
def run_dunning():
    return dunning_run()
