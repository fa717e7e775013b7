"""A model version's EU AI Act summary of training content as PDF: the template's sections in order,
each answer marked with where it comes from. Written in the language of the page it is downloaded
from (the reader's), with the fonts and right-to-left layout of licensing/documents/text.py."""
import io

from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from licensing.documents.text import TextParagraph, is_rtl_language


def answer_text(entry):
    value = entry["value"]
    if value is None or value == []:
        return _("Not answered")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def render_eu_summary_pdf(summary, *, language=None):
    language = language or translation.get_language() or "en"
    rtl = is_rtl_language(language)
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)

    def text(value, style=small, bold=False):
        return TextParagraph(value, style, rtl=rtl, bold=bold)

    out = io.BytesIO()
    title = _("Public summary of training content: %(model)s %(version)s") % {
        "model": summary["model"], "version": summary["version"]}
    document = SimpleDocTemplate(out, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm,
                                 title=title, author=summary["provider"], lang=language)
    story = [
        text(title, styles["Title"]),
        text(f"{summary['template']['title']}. {summary['template']['legal_basis']}; "
             f"{summary['template']['reference']}."),
        text(_("Provider: %(provider)s. Answers marked “records” were filled from the licensor's records; the "
               "provider answered the others.") % {"provider": summary["provider"]}),
        Spacer(1, 4 * mm),
    ]
    section = None
    rows, style = [], [("VALIGN", (0, 0), (-1, -1), "TOP"), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey)]
    for field_id, entry in summary["fields"].items():
        if entry["section"] != section:
            section = entry["section"]
            rows.append([text(section, styles["BodyText"], bold=True), "", ""])
            style += [("SPAN", (0, len(rows) - 1), (-1, len(rows) - 1)),
                      ("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), colors.whitesmoke)]
        answer = answer_text(entry)
        if entry.get("detail"):
            answer += f" ({entry['detail']})"
        cells = [text(f"{field_id} {entry['label']}"), text(answer), text(entry["source"])]
        rows.append(cells[::-1] if rtl else cells)
    widths = [62 * mm, 98 * mm, 14 * mm]
    table = Table(rows, colWidths=widths[::-1] if rtl else widths, repeatRows=0)
    table.setStyle(TableStyle(style))
    story.append(table)
    document.build(story)
    return out.getvalue()
