"""An invoice's PDF, drawn from its issued snapshot only (never from live organisation data)."""
import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from licensing.models.audit import AuditEvent


def _party(title, party, styles):
    lines = [f"<b>{title}</b>", party.get("name", "")]
    lines += [line for line in (party.get("address") or "").splitlines() if line.strip()]
    if party.get("vat_id"):
        lines.append(f"VAT id: {party['vat_id']}")
    return Paragraph("<br/>".join(_escape(line) if i else line for i, line in enumerate(lines)), styles["Normal"])


def _escape(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _credit_reason(invoice):
    """Why finance issued the credit note. The note has no field for it: the reason is recorded with
    the note, in the same transaction, in the audit trail."""
    event = AuditEvent.objects.filter(action="credit_note.issue", target_type=invoice._meta.model_name,
                                      target_id=str(invoice.pk)).first()
    return (event.payload or {}).get("reason", "") if event else ""


def render_invoice_pdf(invoice):
    styles = getSampleStyleSheet()
    out = io.BytesIO()
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                                 title=invoice.display_number, author=invoice.issuer.get("name", ""))
    title = "Credit note" if invoice.is_credit_note else "Invoice"
    story = [
        Paragraph(f"{title} {invoice.display_number}", styles["Title"]),
        Table([[_party("From", invoice.issuer, styles), _party("Bill to", invoice.buyer, styles)]],
              colWidths=[85 * mm, 85 * mm]),
        Spacer(1, 6 * mm),
    ]
    facts = [["Issued", f"{invoice.issued_at:%d %B %Y}"], ["Due", f"{invoice.due_date:%d %B %Y}"]]
    if invoice.period_start:
        facts.append(["Period", f"{invoice.period_start:%d %b %Y} – {invoice.period_end:%d %b %Y}"])
    facts.append(["Licence", f"#{invoice.licence_id}"])
    if invoice.corrects_id:
        facts.append(["Corrects", invoice.corrects.display_number])
    if invoice.is_credit_note and (reason := _credit_reason(invoice)):
        facts.append(["Reason", Paragraph(_escape(reason), styles["Normal"])])
    story += [Table(facts, colWidths=[30 * mm, 140 * mm]), Spacer(1, 6 * mm)]
    rows = [["Description", "Qty", "Unit price", "Tax", "Net"]]
    for line in invoice.lines.all():
        rows.append([Paragraph(_escape(line.description), styles["Normal"]), f"{line.quantity.normalize():f}",
                     f"{line.unit_price:,.2f}", f"{line.tax_rate:.2f}%", f"{line.net_amount:,.2f}"])
    rows += [
        ["", "", "", "Net total", f"{invoice.net_total:,.2f}"],
        ["", "", "", f"Tax {invoice.tax_rate:.2f}%", f"{invoice.tax_total:,.2f}"],
        ["", "", "", "Total", f"{invoice.gross_total:,.2f} {invoice.currency}"],
    ]
    table = Table(rows, colWidths=[85 * mm, 15 * mm, 25 * mm, 22 * mm, 28 * mm], repeatRows=1)
    table.setStyle(TableStyle([
        ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEABOVE", (3, -3), (-1, -3), 0.5, colors.grey),
        ("FONTNAME", (3, -1), (-1, -1), "Helvetica-Bold"),
    ]))
    story += [table, Spacer(1, 8 * mm)]
    if not invoice.is_credit_note:
        story.append(Paragraph(
            f"Please pay {invoice.gross_total:,.2f} {invoice.currency} by {invoice.due_date:%d %B %Y}, "
            f"quoting {invoice.display_number}.", styles["Normal"]))
        if bank := invoice.issuer.get("bank"):
            story.append(Paragraph(_escape(
                f"Bank transfer to {invoice.issuer.get('name', '')}: IBAN {bank.get('iban', '')}, "
                f"BIC {bank.get('bic', '')} ({bank.get('name', '')})."), styles["Normal"]))
    document.build(story)
    return out.getvalue()
