"""E-mails about licences, each sent at most once per (reason, recipient), each in its recipient's language
(their saved preference, else English)."""
import structlog
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.mail import EmailMultiAlternatives, send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import ngettext

from accounts.models import User
from accounts.roles import FINANCE, LICENSOR_ADMIN, REVIEWER
from licensing import formats
from licensing.models import LicenceEvent, SentEmail

log = structlog.get_logger(__name__)

# What each transition tells its readers, and which staff hear of it besides the organisation.
EVENT_MESSAGES = {
    "submit": (gettext_lazy("Application submitted"), gettext_lazy("The application was submitted for review."),
               [REVIEWER, LICENSOR_ADMIN]),
    "request_changes": (gettext_lazy("Changes requested"),
                        gettext_lazy("A reviewer asked for changes to the application."), []),
    "approve": (gettext_lazy("Research licence approved"), gettext_lazy("The research licence is approved and active."),
                []),
    "reject": (gettext_lazy("Application rejected"), gettext_lazy("The application was rejected."), []),
    "withdraw": (gettext_lazy("Application withdrawn"), gettext_lazy("The application was withdrawn."), [REVIEWER]),
    "request_upgrade": (gettext_lazy("Commercial upgrade requested"),
                        gettext_lazy("The licensee asked to upgrade to a commercial licence."), [LICENSOR_ADMIN]),
    "make_offer": (gettext_lazy("Commercial offer made"),
                   gettext_lazy("You have a commercial offer: read its terms and accept it on the licence page."), []),
    "decline_upgrade": (gettext_lazy("Upgrade declined"),
                        gettext_lazy("The upgrade was declined; the research licence continues."), [LICENSOR_ADMIN]),
    "accept_offer": (gettext_lazy("Offer accepted"),
                     gettext_lazy("The commercial offer was accepted; the licence becomes commercial once the invoice "
                                  "is paid."), [FINANCE, LICENSOR_ADMIN]),
    "record_payment": (gettext_lazy("Commercial licence active"),
                       gettext_lazy("Payment was received: the commercial licence is active."), [FINANCE]),
    "expire": (gettext_lazy("Licence expired"), gettext_lazy("The licence reached its end date and has expired."), []),
    "suspend": (gettext_lazy("Licence suspended"),
                gettext_lazy("The licence is suspended: no new slices or downloads until it is reinstated."),
                [LICENSOR_ADMIN]),
    "reinstate": (gettext_lazy("Licence reinstated"), gettext_lazy("The licence is reinstated."), []),
    "revoke": (gettext_lazy("Licence revoked"), gettext_lazy("The licence was revoked."), [LICENSOR_ADMIN]),
}

DEFAULT_LANGUAGE = "en"


def organisation_emails(organisation):
    return list(organisation_recipients(organisation))


def organisation_recipients(organisation):
    """{e-mail: language} of the organisation's active members."""
    users = User.objects.filter(membership__organisation=organisation, is_active=True)
    return {email: language or DEFAULT_LANGUAGE for email, language in users.values_list("email", "language")}


def staff_recipients(roles):
    if not roles:
        return {}
    users = User.objects.filter(groups__in=Group.objects.filter(name__in=roles), is_active=True).distinct()
    return {email: language or DEFAULT_LANGUAGE for email, language in users.values_list("email", "language")}


def staff_emails(roles):
    return list(staff_recipients(roles))


def send_once(*, key, to, subject, template, context, language=DEFAULT_LANGUAGE):
    """Send unless this key was sent before. The record and the send share a transaction:
    a failed send leaves no record, so a retry sends it. `subject` is called, and the templates
    rendered, in the recipient's `language`."""
    context = {**context, "site_url": settings.SITE_URL}
    try:
        with transaction.atomic(), translation.override(language):
            SentEmail.objects.create(key=key)
            message = EmailMultiAlternatives(
                subject=f"[Tessera] {subject() if callable(subject) else subject}",
                body=render_to_string(f"email/{template}.txt", context),
                to=[to],
            )
            message.attach_alternative(render_to_string(f"email/{template}.html", context), "text/html")
            message.extra_headers["Content-Language"] = language
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
    recipients = {**staff_recipients(staff_roles), **organisation_recipients(licence.organisation)}
    sent = 0
    for email, language in recipients.items():
        sent += send_once(
            key=f"licence-event:{event.pk}:{email}",
            to=email,
            language=language,
            subject=lambda: _("%(title)s: %(project)s") % {"title": title, "project": licence.project_title},
            template="licence_event",
            context={"event": event, "licence": licence, "title": title, "sentence": sentence, "link": link},
        )
    log.info("licence_event_emails", event_id=event.pk, sent=sent)
    return sent


def send_expiry_reminders(licence, days_left):
    link = settings.SITE_URL + reverse("licence_detail", args=[licence.pk])
    ends_at = licence.ends_at
    sent = 0
    for email, language in organisation_recipients(licence.organisation).items():
        sent += send_once(
            key=f"expiry-reminder:{licence.pk}:{licence.phase}:{ends_at:%Y-%m-%d}:{email}",
            to=email,
            language=language,
            subject=lambda: _("%(project)s ends on %(date)s") % {"project": licence.project_title,
                                                                  "date": formats.day(ends_at)},
            template="expiry_reminder",
            context={"licence": licence, "ends_at": ends_at, "days_left": days_left, "link": link},
        )
    return sent


def send_invoice_issued(invoice):
    link = settings.SITE_URL + reverse("licence_detail", args=[invoice.licence_id])
    sent = 0
    for email, language in organisation_recipients(invoice.organisation).items():
        sent += send_once(
            key=f"invoice-issued:{invoice.pk}:{email}", to=email, language=language,
            subject=lambda: _("Invoice %(number)s: %(amount)s") % {
                "number": invoice.display_number, "amount": formats.money(invoice.gross_total, invoice.currency)},
            template="invoice_issued", context={"invoice": invoice, "link": link},
        )
    return sent


def send_payment_reminders(invoice, *, stage, days_late):
    link = settings.SITE_URL + reverse("licence_detail", args=[invoice.licence_id])
    sent = 0
    for email, language in organisation_recipients(invoice.organisation).items():
        sent += send_once(
            key=f"dunning:{invoice.pk}:{stage}:{email}", to=email, language=language,
            subject=lambda: payment_reminder_subject(invoice, stage=stage, days_late=days_late),
            template="payment_reminder",
            context={"invoice": invoice, "link": link, "stage": stage, "days_late": days_late,
                     "suspend_after": settings.DUNNING_SUSPEND_DAYS},
        )
    return sent


def payment_reminder_subject(invoice, *, stage, days_late):
    values = {"number": invoice.display_number, "days": days_late}
    if stage == 1:
        if days_late == 0:
            return _("Reminder: invoice %(number)s is due") % values
        return ngettext("Reminder: invoice %(number)s is %(days)s day overdue",
                        "Reminder: invoice %(number)s is %(days)s days overdue", days_late) % values
    if days_late == 0:
        return _("Second reminder: invoice %(number)s is due") % values
    return ngettext("Second reminder: invoice %(number)s is %(days)s day overdue",
                    "Second reminder: invoice %(number)s is %(days)s days overdue", days_late) % values


def send_plain_email(*, subject, body, to):
    """A plain-text e-mail scheduled through the outbox (invitations and the like)."""
    return send_mail(subject, body, None, list(to))
