"""How a PDF writes text in any of Tessera's languages: embedded fonts that cover Latin, Arabic, Hebrew
and emoji, each character drawn with the first font that has it; right-to-left lines laid out in visual
order (python-bidi's Unicode bidi algorithm) with every word shaped by HarfBuzz (ReportLab's shaping),
and a ToUnicode map that gives back the characters as written, so a reader copying or extracting the
text gets "شركة النور" in logical order, not presentation forms.

The fonts are Debian's (scripts/ensure-fonts.sh): Noto Sans, Noto Naskh Arabic, Noto Sans Hebrew,
DejaVu Sans, Symbola for emoji. Whichever are missing are skipped; with none at all the PDF is drawn in Helvetica,
which shows Latin text only, so the demo on a bare machine still serves its PDFs."""
import unicodedata
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from bidi import algorithm as bidi_algorithm
from bidi.mirror import MIRRORED
from django.conf import settings
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph

try:
    import uharfbuzz
except ImportError:  # shaping off: Arabic is then drawn unjoined, still in the right order
    uharfbuzz = None

FONT_DIRS = [Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"), Path("/usr/local/share/fonts")]
# Tried in this order for every character; (regular file, bold file).
FACES = [
    ("TesseraNotoSans", "noto/NotoSans-Regular.ttf", "noto/NotoSans-Bold.ttf"),
    # Naskh, the style Arabic documents are set in; it also shapes letter by letter (its only ligature is the
    # obligatory lam-alef), so each glyph maps back to one character.
    ("TesseraNotoArabic", "noto/NotoNaskhArabic-Regular.ttf", "noto/NotoNaskhArabic-Bold.ttf"),
    ("TesseraNotoHebrew", "noto/NotoSansHebrew-Regular.ttf", "noto/NotoSansHebrew-Bold.ttf"),
    ("TesseraDejaVu", "dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    ("TesseraSymbola", "ancient-scripts/Symbola_hint.ttf", None),
]
FALLBACK_FONT, FALLBACK_BOLD = "Helvetica", "Helvetica-Bold"
SHAPING_FEATURES = {"kern": True, "liga": True, "dlig": True}
# Marks that steer the bidi algorithm (Babel puts one before an Arabic amount): used, then not drawn.
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
# The embeddings and isolates the algorithm drops (X9) before it assigns levels; the marks it keeps.
EMBEDDINGS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
RTL_LANGUAGES = {"ar", "he", "fa", "ur"}


class EmbeddedFont(TTFont):
    """A TrueType font whose ToUnicode map gives each shaped glyph the characters it was shaped from."""

    def __init__(self, name, filename):
        super().__init__(name, filename)
        self.glyph_texts = {}

    def text_of(self, code):
        gid = self.face.charToGlyph.get(code)
        if gid is not None and gid in self.glyph_texts:
            return self.glyph_texts[gid]
        char = chr(code)
        if 0xFB00 <= code <= 0xFDFF or 0xFE70 <= code <= 0xFEFF:  # ligatures, presentation forms: their letters
            return unicodedata.normalize("NFKC", char)
        return char

    def learn(self, word, size=10):
        """Shape `word` as ReportLab will, and remember which characters each glyph stands for."""
        if uharfbuzz is None or not self.shapable:
            return
        buffer = uharfbuzz.Buffer()
        buffer.cluster_level = uharfbuzz.BufferClusterLevel.MONOTONE_CHARACTERS
        buffer.add_str(word)
        buffer.guess_segment_properties()
        uharfbuzz.shape(self.hbFont(size), buffer, SHAPING_FEATURES)
        starts = sorted({info.cluster for info in buffer.glyph_infos}) + [len(word)]
        seen = set()
        for info in buffer.glyph_infos:
            if info.cluster in seen:
                continue
            seen.add(info.cluster)
            end = starts[starts.index(info.cluster) + 1]
            self.glyph_texts.setdefault(info.codepoint, word[info.cluster:end])

    def addObjects(self, doc):
        state = self.state.get(doc)  # ReportLab drops it once the objects are made
        super().addObjects(doc)
        for n, subset in enumerate(getattr(state, "subsets", [])):
            base_name = (b"".join((_subset_tag(n), b"+", self.face.name, self.face.subfontNameX))).decode("pdfdoc")
            stream = doc.idToObject.get("toUnicodeCMap:" + base_name)
            if stream is not None:
                stream.content = self._to_unicode(base_name, subset)

    def _to_unicode(self, name, subset):
        entries = []
        for code, value in enumerate(subset):
            text = self.text_of(value) or chr(value)
            entries.append(f"<{code:02X}> <{text.encode('utf-16-be').hex().upper()}>")
        return "\n".join([
            "/CIDInit /ProcSet findresource begin", "12 dict begin", "begincmap", "/CIDSystemInfo",
            f"<< /Registry ({name})", f"/Ordering ({name})", "/Supplement 0", ">> def", f"/CMapName /{name} def",
            "/CMapType 2 def", "1 begincodespacerange", f"<00> <{len(subset) - 1:02X}>", "endcodespacerange",
            f"{len(entries)} beginbfchar", *entries, "endbfchar", "endcmap",
            "CMapName currentdict /CMap defineresource pop", "end", "end",
        ])


def _subset_tag(n, table=bytes.maketrans(b"0123456789", b"ABCDEFGIJK")):
    return bytes("%6.6d" % n, "ASCII").translate(table)


def _font_file(relative):
    for folder in [*map(Path, getattr(settings, "PDF_FONT_DIRS", [])), *FONT_DIRS]:
        path = folder / relative
        if path.is_file():
            return path
    return None


@cache
def faces():
    """{font name: (regular font, bold font)} of the fonts found, in the order they are tried, registered
    with ReportLab."""
    found = {}
    for name, regular, bold in FACES:
        regular_path = _font_file(regular)
        if regular_path is None:
            continue
        font = bold_font = EmbeddedFont(name, str(regular_path))
        pdfmetrics.registerFont(font)
        bold_path = _font_file(bold) if bold else None
        if bold_path is not None:
            bold_font = EmbeddedFont(f"{name}-Bold", str(bold_path))
            pdfmetrics.registerFont(bold_font)
        addMapping(name, 0, 0, name)
        addMapping(name, 0, 1, name)
        addMapping(name, 1, 0, bold_font.fontName)
        addMapping(name, 1, 1, bold_font.fontName)
        found[name] = (font, bold_font)
    return found


def base_font(bold=False):
    for font, bold_font in faces().values():
        return (bold_font if bold else font).fontName
    return FALLBACK_BOLD if bold else FALLBACK_FONT


def _covers(name, text):
    glyphs = faces()[name][0].face.charToGlyph
    return all(ord(char) in glyphs for char in text)


def _face_for(text):
    """The first font that has every character of `text`, or None."""
    return next((name for name in faces() if _covers(name, text)), None)


def is_rtl_language(language):
    return (language or "").split("-")[0].lower() in RTL_LANGUAGES


def has_rtl(text):
    return any(unicodedata.bidirectional(c) in ("R", "AL") for c in text)


def _levels(text, rtl):
    storage = bidi_algorithm.get_empty_storage()
    storage["base_level"] = 1 if rtl else 0
    storage["base_dir"] = "R" if rtl else "L"
    bidi_algorithm.get_embedding_levels(text, storage, False, False)
    bidi_algorithm.explicit_embed_and_overrides(storage, False)
    bidi_algorithm.resolve_weak_types(storage, False)
    bidi_algorithm.resolve_neutral_types(storage, False)
    bidi_algorithm.resolve_implicit_levels(storage, False)
    return [c["level"] for c in storage["chars"]]


def visual_words(line, rtl):
    """The words of one line in the order they are drawn left to right, each word's characters still in
    logical order (HarfBuzz shapes a right-to-left word into its visual glyph order), with mirrored
    brackets where a neutral stands in right-to-left text."""
    if not line:
        return []
    levels = _levels(line, rtl)
    chars = list(line)
    # L1: trailing white space takes the paragraph's level.
    base = 1 if rtl else 0
    i = len(chars) - 1
    while i >= 0 and chars[i].isspace():
        levels[i] = base
        i -= 1
    order = list(range(len(chars)))
    highest = max(levels)
    lowest_odd = min(level for level in levels if level % 2) if any(level % 2 for level in levels) else highest + 1
    for level in range(highest, lowest_odd - 1, -1):
        i = 0
        while i < len(order):
            if levels[order[i]] >= level:
                j = i
                while j < len(order) and levels[order[j]] >= level:
                    j += 1
                order[i:j] = reversed(order[i:j])
                i = j
            else:
                i += 1
    words, current = [], []
    for index in order + [None]:
        if index is None or chars[index] == " ":
            if current:
                words.append(current)
            current = []
            continue
        current.append(index)
    return [_visual_word(indices, chars, levels) for indices in words]


def _visual_word(indices, chars, levels):
    """One space-free stretch of the visual line, as ReportLab should be given it: its runs of one level in
    visual order; a right-to-left run with letters turned back to logical order (HarfBuzz shapes it right to
    left), a right-to-left run of neutrals only kept as drawn, its brackets mirrored."""
    runs = []
    for index in indices:
        if runs and levels[runs[-1][-1]] == levels[index]:
            runs[-1].append(index)
        else:
            runs.append([index])
    word = ""
    for run in runs:
        text = "".join(chars[k] for k in run)
        if levels[run[0]] % 2:
            if has_rtl(text):
                text = text[::-1]
            else:
                text = "".join(MIRRORED.get(c, c) for c in text)
        word += text
    return word


def _runs(word):
    """The word in runs of one font each: one run when a single font has all its characters (ReportLab
    shapes a word with its first font), else a run per font."""
    if _face_for(word) is not None:
        return [(_face_for(word), word)]
    runs = []
    for char in word:
        face = _face_for(char)
        if runs and runs[-1][0] == face:
            runs[-1] = (face, runs[-1][1] + char)
        else:
            runs.append((face, char))
    return runs


def _line_markup(words, bold=False):
    """A line of words as Paragraph markup. Neighbouring words in the same font share one <font> element,
    spaces included, so that the line is written without font changes (a text extractor then reads a
    right-to-left run as one). A word needing several fonts (text and an emoji) is drawn as several
    words, a thin space apart, so that each is shaped with its own font (ReportLab shapes a word with its
    first font)."""
    pieces = []  # (face, text), faces None for characters no font has
    for word in words:
        runs = _runs(word)
        for face, run in runs:
            if face is not None:
                for font in faces()[face]:
                    font.learn(run)
        for i, (face, run) in enumerate(runs):
            separator = " " if i == 0 else "\u2009"
            if pieces and pieces[-1][0] == face:
                pieces[-1] = (face, pieces[-1][1] + separator + run)
            else:
                if pieces:
                    pieces[-1] = (pieces[-1][0], pieces[-1][1] + separator)
                pieces.append((face, run))
    def font_name(face):  # a <font> inside <b> is not made bold by ReportLab: name the bold face itself
        return faces()[face][1].fontName if bold else face

    return "".join(escape(text) if face in (None, base_font())
                   else f'<font name="{font_name(face)}">{escape(text)}</font>' for face, text in pieces)


def markup(text, *, rtl=False, bold=False):
    """Paragraph markup for plain `text` (escaped here), laid out for a page whose lines run right to left
    when `rtl`. Lines are broken where the text has line breaks."""
    lines = []
    for line in str(text).split("\n"):
        steered = " ".join(line.translate(EMBEDDINGS).split())
        line = steered.translate(BIDI_CONTROLS)
        words = visual_words(steered, rtl) if (rtl or has_rtl(line)) else line.split(" ")
        words = [w.translate(BIDI_CONTROLS) for w in words]
        lines.append(_line_markup([w for w in words if w], bold=bold))
    joined = "<br/>".join(lines)
    return f"<b>{joined}</b>" if bold else joined


class TextParagraph(Paragraph):
    """A Paragraph of plain text in any script. Right-to-left text is broken into lines here (in logical
    order, as a reader reads it) and each line then laid out in visual order."""

    def __init__(self, text, style, *, rtl=False, bold=False):
        self.plain, self.rtl, self.bold = str(text), rtl, bold
        style = style.clone(f"{style.name}-{'rtl' if rtl else 'ltr'}", fontName=base_font(),
                            shaping=1 if uharfbuzz is not None else 0,
                            alignment=TA_RIGHT if rtl and style.alignment == TA_LEFT else style.alignment)
        super().__init__(markup(self.plain, rtl=rtl, bold=bold), style)

    def wrap(self, available_width, available_height):
        if self.rtl or has_rtl(self.plain):
            lines = self._logical_lines(available_width)
            Paragraph.__init__(self, markup("\n".join(lines), rtl=self.rtl, bold=self.bold), self.style)
        return super().wrap(available_width, available_height)

    def _logical_lines(self, width):
        font_size, lines = self.style.fontSize, []
        for paragraph in self.plain.split("\n"):
            current = ""
            for word in paragraph.split():
                candidate = f"{current} {word}" if current else word
                if current and self._width(candidate, font_size) > width * 0.97:
                    lines.append(current)
                    current = word
                else:
                    current = candidate
            lines.append(current)
        return lines

    def _width(self, text, size):
        total = 0.0
        for word in text.translate(BIDI_CONTROLS).split(" "):
            for face, run in _runs(word):
                total += pdfmetrics.stringWidth(run + " ", face or base_font(), size)
        return total


