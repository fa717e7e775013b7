"""E-mails about licences, each sent at most once per (reason, recipient)."""
import structlog
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.mail import EmailMultiAlternatives, send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import User
from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER
from licensing.models import LicenceEvent, SentEmail

log = structlog.get_logger(__name__)

# What each transition tells its readers, and which staff hear of it besides the organisation.
EVENT_MESSAGES = {
    "submit": ("Application submitted", "The application was submitted for review.", [REVIEWER, LICENSOR_ADMIN]),
    "request_changes": ("Changes requested", "A reviewer asked for changes to the application.", []),
    "approve": ("Research licence approved", "The research licence is approved and active.", []),
    "reject": ("Application rejected", "The application was rejected.", []),
    "withdraw": ("Application withdrawn", "The application was withdrawn.", [REVIEWER]),
    "request_upgrade": ("Commercial upgrade requested", "The licensee asked to upgrade to a commercial licence.", [LICENSOR_ADMIN]),
    "make_offer": ("Commercial offer made", "You have a commercial offer: read its terms and accept it on the licence page.", []),
    "decline_upgrade": ("Upgrade declined", "The upgrade was declined; the research licence continues.", [LICENSOR_ADMIN]),
    "accept_offer": ("Offer accepted", "The commercial offer was accepted; the licence becomes commercial once the invoice is paid.", [FINANCE, LICENSOR_ADMIN]),
    "record_payment": ("Commercial licence active", "Payment was received: the commercial licence is active.", [FINANCE]),
    "expire": ("Licence expired", "The licence reached its end date and has expired.", []),
    "suspend": ("Licence suspended", "The licence is suspended: no new slices or downloads until it is reinstated.", [LICENSOR_ADMIN]),
    "reinstate": ("Licence reinstated", "The licence is reinstated.", []),
    "revoke": ("Licence revoked", "The licence was revoked.", [LICENSOR_ADMIN]),
}


def organisation_emails(organisation):
    return list(User.objects.filter(membership__organisation=organisation, is_active=True).values_list("email", flat=True))


def staff_emails(roles):
    if not roles:
        return []
    return list(
        User.objects.filter(groups__in=Group.objects.filter(name__in=roles), is_active=True)
        .values_list("email", flat=True).distinct()
    )


def send_once(*, key, to, subject, template, context):
    """Send unless this key was sent before. The record and the send share a transaction:
    a failed send leaves no record, so a retry sends it."""
    context = {**context, "site_url": settings.SITE_URL}
    try:
        with transaction.atomic():
            SentEmail.objects.create(key=key)
            message = EmailMultiAlternatives(
                subject=f"[Tessera] {subject}",
                body=render_to_string(f"email/{template}.txt", context),
                to=[to],
            )
            message.attach_alternative(render_to_string(f"email/{template}.html", context), "text/html")
            message.send()
    except IntegrityError:
        return False
    return True


def send_licence_event_emails(event_id):
    event = LicenceEvent.objects.select_related("licence__organisation").filter(pk=event_id).first()
    if event is None or event.action not in EVENT_MESSAGES:
        return 0
    title, sentence, staff_roles = EVENT_MESSAGES[event.action]
    licence = event.licence
    link = settings.SITE_URL + reverse("licence_detail", args=[licence.pk])
    recipients = dict.fromkeys(organisation_emails(licence.organisation) + staff_emails(staff_roles))
    sent = 0
    for email in recipients:
        sent += send_once(
            key=f"licence-event:{event.pk}:{email}",
            to=email,
            subject=f"{title}: {licence.project_title}",
            template="licence_event",
            context={"event": event, "licence": licence, "title": title, "sentence": sentence, "link": link},
        )
    log.info("licence_event_emails", event_id=event.pk, sent=sent)
    return sent


def send_expiry_reminders(licence, days_left):
    link = settings.SITE_URL + reverse("licence_detail", args=[licence.pk])
    ends_at = licence.ends_at
    sent = 0
    for email in organisation_emails(licence.organisation):
        sent += send_once(
            key=f"expiry-reminder:{licence.pk}:{licence.phase}:{ends_at:%Y-%m-%d}:{email}",
            to=email,
            subject=f"{licence.project_title} ends on {ends_at:%d %B %Y}",
            template="expiry_reminder",
            context={"licence": licence, "ends_at": ends_at, "days_left": days_left, "link": link},
        )
    return sent


def send_invoice_issued(invoice):
    link = settings.SITE_URL + reverse("licence_detail", args=[invoice.licence_id])
    sent = 0
    for email in organisation_emails(invoice.organisation):
        sent += send_once(
            key=f"invoice-issued:{invoice.pk}:{email}", to=email,
            subject=f"Invoice {invoice.display_number}: {invoice.gross_total:,.2f} {invoice.currency}",
            template="invoice_issued", context={"invoice": invoice, "link": link},
        )
    return sent


def send_payment_reminders(invoice, *, stage, days_late):
    link = settings.SITE_URL + reverse("licence_detail", args=[invoice.licence_id])
    sent = 0
    for email in organisation_emails(invoice.organisation):
        sent += send_once(
            key=f"dunning:{invoice.pk}:{stage}:{email}", to=email,
            subject=f"{'Reminder' if stage == 1 else 'Second reminder'}: invoice {invoice.display_number} is "
                    f"{'due' if days_late == 0 else f'{days_late} days overdue'}",
            template="payment_reminder",
            context={"invoice": invoice, "link": link, "stage": stage, "days_late": days_late,
                     "suspend_after": settings.DUNNING_SUSPEND_DAYS},
        )
    return sent


def send_plain_email(*, subject, body, to):
    """A plain-text e-mail scheduled through the outbox (invitations and the like)."""
    return send_mail(subject, body, None, list(to))
