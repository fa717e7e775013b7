"""Every word a template shows a reader is marked for translation: text between tags, the
attributes a reader sees or hears (placeholder, title, alt, aria-label, an input button's value) and
every line of a plain-text e-mail sit inside {% translate %} or {% blocktranslate %}. What is
left outside is markup, variables, punctuation, and the names that stay the same in every
language (the glossary's product names, codes such as IBAN)."""
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.template.base import Lexer, TokenType

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "templates"
# The API docs page is Swagger's and stays English, as the API does.
SKIPPED = {"api/swagger_ui.html"}
# Names and codes that are the same in every language (the glossary's product names and the
# like); anything else with letters in it is a string someone forgot to mark.
UNTRANSLATED = {
    "Tessera", "JSONL", "CSV", "PDF", "Croissant", "JSON", "JSON-LD", "IBAN", "BIC", "HTTP", "SHA-256",
    "sha256", "tsk_", "px", "v",
}
READ_ATTRIBUTES = {"placeholder", "title", "alt", "aria-label", "aria-description", "label"}
MARKER = "\x00"
LETTERS = re.compile(r"[^\W\d_]")


def visible_source(source):
    """The template with every translated passage and every variable replaced by a marker, and
    every other tag and comment removed: what is left is the literal text the template holds."""
    out, depth, skip = [], 0, 0
    for token in Lexer(source).tokenize():
        if token.token_type == TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in ("comment", "verbatim"):
                skip += 1
            elif name in ("endcomment", "endverbatim"):
                skip -= 1
            elif name == "blocktranslate":
                depth += 1
                if " asvar " not in f" {token.contents} ":
                    out.append(MARKER)
            elif name == "endblocktranslate":
                depth -= 1
            elif name == "translate" and not skip and not depth:
                out.append(MARKER)
        elif token.token_type == TokenType.VAR and not skip and not depth:
            out.append(MARKER)
        elif token.token_type == TokenType.TEXT and not skip and not depth:
            out.append(token.contents)
    return "".join(out)


def untranslated_words(text):
    words = []
    for word in re.split(r"[\s" + MARKER + r"]+", text):
        word = word.strip("()[]{}.,:;·—–-+=#%&*\"'“”‘’/|<>…?!×≈−←→✓")
        if word and LETTERS.search(word) and word not in UNTRANSLATED and not word.startswith("&"):
            words.append(word)
    return words


class Reader(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.found, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.hidden += 1
        button = tag == "input" and dict(attrs).get("type") in ("submit", "button")
        for name, value in attrs:
            if value and (name in READ_ATTRIBUTES or (button and name == "value")):
                self.found += [f'{tag}[{name}]: {word}' for word in untranslated_words(value)]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.found += [f"text: {word}" for word in untranslated_words(data)]


def untranslated(path):
    text = visible_source(path.read_text())
    if path.suffix == ".txt":
        return [f"text: {word}" for word in untranslated_words(text)]
    reader = Reader()
    reader.feed(text)
    return reader.found


TEMPLATE_FILES = sorted(path for path in TEMPLATES.rglob("*") if path.suffix in (".html", ".txt")
                        and str(path.relative_to(TEMPLATES)) not in SKIPPED)


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_every_word_a_template_shows_is_marked_for_translation(path):
    assert untranslated(path) == []


def test_the_check_finds_an_unmarked_word_a_label_and_a_line_of_an_email(tmp_path):
    page = tmp_path / "page.html"
    page.write_text('{% load i18n %}<h1>{% translate "Licences" %}</h1><p>Apply {{ name }}</p>'
                    '<input placeholder="Search">{% blocktranslate %}Hello {{ name }}{% endblocktranslate %}'
                    '{% comment %}A note for developers{% endcomment %}<p>Tessera · {{ n }}%</p>')
    mail = tmp_path / "mail.txt"
    mail.write_text('{% load i18n %}{% translate "Hello," %}\n\nSee the licence: {{ link }}\n')
    assert untranslated(page) == ["text: Apply", "input[placeholder]: Search"]
    assert untranslated(mail) == ["text: See", "text: the", "text: licence"]


def test_the_check_sees_the_templates():
    assert len(TEMPLATE_FILES) > 100
