"""An invoice's PDF, drawn from its issued snapshot only (never from live organisation data).

It is written in the buyer's language: the saved language of the buyer organisation's owner, else
English. The PDF is stored once and is the same document for everyone who downloads it (the buyer's
members and finance), as the e-mail announcing it is in the buyer's language too."""
import io

from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from accounts.models import Membership
from licensing import formats
from licensing.documents.text import TextParagraph, is_rtl_language
from licensing.models.audit import AuditEvent


def buyer_language(invoice):
    """The language of the buyer organisation's owner, else English."""
    owner = (Membership.objects.filter(organisation_id=invoice.organisation_id, role=Membership.Role.OWNER)
             .select_related("user").order_by("created_at").first())
    return (owner.user.language if owner is not None else "") or "en"


def _credit_reason(invoice):
    """Why finance issued the credit note. The note has no field for it: the reason is recorded with
    the note, in the same transaction, in the audit trail."""
    event = AuditEvent.objects.filter(action="credit_note.issue", target_type=invoice._meta.model_name,
                                      target_id=str(invoice.pk)).first()
    return (event.payload or {}).get("reason", "") if event else ""


def render_invoice_pdf(invoice, *, language=None):
    language = language or buyer_language(invoice)
    with translation.override(language):
        return _render(invoice, language)


def _render(invoice, language):
    rtl = is_rtl_language(language)
    styles = getSampleStyleSheet()
    normal = styles["Normal"]
    figure = normal.clone("figure", alignment=TA_RIGHT)

    def text(value, style=normal, bold=False):
        return TextParagraph(value, style, rtl=rtl, bold=bold)

    def row(cells):  # a right-to-left page reads its columns from the right
        return cells[::-1] if rtl else cells

    def widths(values):
        return values[::-1] if rtl else values

    def party(title, party):
        lines = [party.get("name", "")]
        lines += [line for line in (party.get("address") or "").splitlines() if line.strip()]
        if party.get("vat_id"):
            lines.append(_("VAT id: %(vat_id)s") % {"vat_id": party["vat_id"]})
        return [text(title, bold=True), text("\n".join(lines))]

    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                                 title=invoice.display_number, author=invoice.issuer.get("name", ""),
                                 lang=language)
    if invoice.is_credit_note:
        title = _("Credit note %(number)s") % {"number": invoice.display_number}
    else:
        title = _("Invoice %(number)s") % {"number": invoice.display_number}
    story = [
        text(title, styles["Title"]),
        Table([row([party(_("From"), invoice.issuer), party(_("Bill to"), invoice.buyer)])],
              colWidths=[85 * mm, 85 * mm], style=[("VALIGN", (0, 0), (-1, -1), "TOP")]),
        Spacer(1, 6 * mm),
    ]
    facts = [[_("Issued"), formats.day(invoice.issued_at)], [_("Due"), formats.day(invoice.due_date)]]
    if invoice.period_start:
        facts.append([_("Period"),
                      f"{formats.short_day(invoice.period_start)} – {formats.short_day(invoice.period_end)}"])
    facts.append([_("Licence"), f"#{invoice.licence_id}"])
    if invoice.corrects_id:
        facts.append([_("Corrects"), invoice.corrects.display_number])
    if invoice.is_credit_note and (reason := _credit_reason(invoice)):
        facts.append([_("Reason"), reason])
    story += [Table([row([text(label), text(value)]) for label, value in facts], colWidths=widths([30 * mm, 140 * mm])),
              Spacer(1, 6 * mm)]
    rows = [row([text(_("Description"), bold=True), text(_("Qty"), figure, bold=True),
                 text(_("Unit price"), figure, bold=True), text(_("Tax"), figure, bold=True),
                 text(_("Net"), figure, bold=True)])]
    for line in invoice.lines.all():
        rows.append(row([text(line.description), text(formats.decimal(line.quantity.normalize(), max_places=3), figure),
                         text(formats.money(line.unit_price), figure),
                         text(f"{formats.number(line.tax_rate)}%", figure),
                         text(formats.money(line.net_amount), figure)]))
    blank = text("")
    rows += [
        row([blank, blank, blank, text(_("Net total"), figure), text(formats.money(invoice.net_total), figure)]),
        row([blank, blank, blank, text(_("Tax %(rate)s%%") % {"rate": formats.number(invoice.tax_rate)}, figure),
             text(formats.money(invoice.tax_total), figure)]),
        row([blank, blank, blank, text(_("Total"), figure, bold=True),
             text(formats.money(invoice.gross_total, invoice.currency), figure, bold=True)]),
    ]
    table = Table(rows, colWidths=widths([85 * mm, 15 * mm, 25 * mm, 22 * mm, 28 * mm]), repeatRows=1)
    first, last = (0, 1) if rtl else (3, 4)  # the totals' label and amount columns
    table.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEABOVE", (first, -3), (last, -3), 0.5, colors.grey),
    ]))
    story += [table, Spacer(1, 8 * mm)]
    if not invoice.is_credit_note:
        story.append(text(_("Please pay %(amount)s by %(date)s, quoting %(number)s.") % {
            "amount": formats.money(invoice.gross_total, invoice.currency), "date": formats.day(invoice.due_date),
            "number": invoice.display_number}))
        if bank := invoice.issuer.get("bank"):
            story.append(text(_("Bank transfer to %(name)s: IBAN %(iban)s, BIC %(bic)s (%(bank)s).") % {
                "name": invoice.issuer.get("name", ""), "iban": bank.get("iban", ""), "bic": bank.get("bic", ""),
                "bank": bank.get("name", "")}))
    document.build(story)
    return out.getvalue()
