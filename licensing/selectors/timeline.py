"""A licence's timeline: its state changes (LicenceEvent) and everything that happened to its
slices, invoices and payments (AuditEvent), in one list, newest last, filterable by kind."""
from datetime import date

from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from licensing import formats
from licensing.models import AuditEvent, Invoice, Job, JobState, Payment, SliceStatus

KINDS = {
    "all": _("Everything"),
    "state": _("Licence"),
    "slices": _("Slices"),
    "withdrawals": _("Withdrawals"),
    "billing": _("Invoices and payments"),
}
AUDIT_KINDS = {
    "slice.request": "slices", "slice.ready": "slices", "slice.failed": "slices",
    "slice.withdraw": "withdrawals",
    "invoice.issue": "billing", "invoice.pdf": "billing", "payment.record": "billing", "credit_note.issue": "billing",
}


def _money(value, currency):
    try:
        return formats.money(float(value), currency)
    except (TypeError, ValueError):
        return f"{value} {currency}"


def _date(value):
    """"2026-12-15" as the site writes dates: "15 Dec 2026"."""
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    if formats.reader_locale() is None:
        return f"{day.day} {day:%b %Y}"
    return formats.short_day(day)


def _works(n):
    return ngettext("%(count)s work", "%(count)s works", n) % {"count": formats.count(n)}


def describe(event):
    """An audit event in the licensee's words."""
    p = event.payload or {}
    action = event.action
    if action == "slice.request":
        return gettext("requested a slice of %(works)s") % {"works": _works(int(p.get("size", 0)))}
    if action == "slice.ready":
        return gettext("Slice %(number)s is ready: %(works)s granted") % {
            "number": p.get("number"), "works": _works(int(p.get("assets", 0)))}
    if action == "slice.failed":
        return gettext("Slice %(number)s could not be built: %(reason)s") % {
            "number": p.get("number"), "reason": p.get("reason", "")}
    if action == "slice.withdraw":
        return gettext("%(works)s withdrawn from slice %(number)s: a contributor opted out of AI training") % {
            "works": _works(int(p.get("items", 0))), "number": p.get("number")}
    if action == "invoice.issue":
        return gettext("Invoice %(number)s issued: %(amount)s, due %(due)s") % {
            "number": p.get("number"), "amount": _money(p.get("gross"), p.get("currency", "")),
            "due": _date(p.get("due"))}
    if action == "invoice.pdf":
        return gettext("The PDF of %(number)s is ready") % {"number": p.get("number")}
    if action == "payment.record":
        return gettext("recorded a payment of %(amount)s for %(invoice)s") % {
            "amount": p.get("amount"), "invoice": p.get("invoice")}
    if action == "credit_note.issue":
        return gettext("issued a credit note for %(invoice)s: %(reason)s") % {
            "invoice": p.get("corrects"), "reason": p.get("reason", "")}
    return action.replace(".", " ").replace("_", " ")


def licence_timeline(*, licence, kind="all"):
    """[{"at", "kind", "actor", "text", "event"|None, "link"}] in time order."""
    kind = kind if kind in KINDS else "all"
    entries = []
    if kind in ("all", "state"):
        for event in licence.events.select_related("actor"):
            entries.append({"at": event.created_at, "kind": "state", "actor": event.actor_label, "event": event,
                            "id": f"e{event.pk}"})
    if kind != "state":
        slices = {str(pk): pk for pk in licence.slices.values_list("pk", flat=True)}
        invoices = [str(pk) for pk in Invoice.objects.filter(licence=licence).exclude(number__isnull=True)
                    .values_list("pk", flat=True)]
        payments = [str(pk) for pk in Payment.objects.filter(invoice__licence=licence).values_list("pk", flat=True)]
        actions = [a for a, k in AUDIT_KINDS.items() if kind in ("all", k)]
        audits = AuditEvent.objects.filter(
            Q(target_type="slice", target_id__in=list(slices)) | Q(target_type="invoice", target_id__in=invoices)
            | Q(target_type="payment", target_id__in=payments), action__in=actions,
        ).select_related("actor", "api_key").order_by("created_at", "id")
        for event in audits:
            if event.action == "invoice.issue" and (event.payload or {}).get("kind") == "credit_note":
                continue  # the credit note's own event says it, with its reason
            actor = (event.actor.get_full_name() or event.actor.email) if event.actor else (
                gettext("API key %(name)s") % {"name": event.api_key.name} if event.api_key else "")
            link = None
            if event.target_type == "slice":
                link = ("slice_detail", int(event.target_id))
            entries.append({"at": event.created_at, "kind": AUDIT_KINDS[event.action], "actor": actor,
                            "text": describe(event), "event": None, "link": link, "id": f"a{event.pk}"})
    entries.sort(key=lambda entry: (entry["at"], entry["id"]))
    return entries


def licence_work_pending(*, licence):
    """Is background work for this licence still under way (an invoice to issue, a slice to build)?
    The licence page follows it by itself while it is."""
    if licence.slices.filter(status__in=[SliceStatus.QUEUED, SliceStatus.BUILDING]).exists():
        return True
    return Job.objects.filter(kwargs__licence_id=licence.pk, state__in=[JobState.WAITING, JobState.DISPATCHED]) \
        .exists()
