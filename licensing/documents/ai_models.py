"""A model version's EU AI Act summary of training content as PDF: the template's sections in order,
each answer marked with where it comes from."""
import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle


def _escape(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer_text(entry):
    value = entry["value"]
    if value is None or value == []:
        return "Not answered"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def render_eu_summary_pdf(summary):
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    out = io.BytesIO()
    title = f"Public summary of training content: {summary['model']} {summary['version']}"
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                                 title=title, author=summary["provider"])
    story = [
        Paragraph(_escape(title), styles["Title"]),
        Paragraph(_escape(f"{summary['template']['title']}. {summary['template']['legal_basis']}; "
                          f"{summary['template']['reference']}."), small),
        Paragraph(_escape(f"Provider: {summary['provider']}. Answers marked “records” were filled from the "
                          "licensor's records; the provider answered the others."), small),
        Spacer(1, 4 * mm),
    ]
    section = None
    rows, style = [], [("VALIGN", (0, 0), (-1, -1), "TOP"), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]
    for field_id, entry in summary["fields"].items():
        if entry["section"] != section:
            section = entry["section"]
            rows.append([Paragraph(f"<b>{_escape(section)}</b>", styles["BodyText"]), "", ""])
            style += [("SPAN", (0, len(rows) - 1), (-1, len(rows) - 1)),
                      ("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), colors.whitesmoke)]
        answer = answer_text(entry)
        if entry.get("detail"):
            answer += f" ({entry['detail']})"
        rows.append([Paragraph(_escape(f"{field_id} {entry['label']}"), small), Paragraph(_escape(answer), small),
                     Paragraph(entry["source"], small)])
    table = Table(rows, colWidths=[62 * mm, 98 * mm, 14 * mm], repeatRows=0)
    table.setStyle(TableStyle(style))
    story.append(table)
    document.build(story)
    return out.getvalue()
