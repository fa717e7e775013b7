"""Every string the code and templates mark is in each committed catalogue, translated and not fuzzy.

makemessages runs over a copy of the project (so nothing committed is touched) with the committed
catalogues as its starting point; any msgid it finds that the committed catalogue lacks is a string
someone marked without it being translated. Until a language's catalogue is committed its test is
skipped, and says so."""
import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.core.management import call_command
from django.test import override_settings

BASE = Path(__file__).resolve().parents[2]
LANGUAGES = ["de", "it", "ar"]
SOURCES = ["accounts", "licensing", "config", "templates"]


def catalogue(path):
    with open(path, "rb") as file:
        return read_po(file)


def entries(messages):
    return {(message.context or "", message.id if isinstance(message.id, str) else message.id[0]): message
            for message in messages if message.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """{language: the catalogue makemessages writes today from the code, merged into the committed one}."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        pytest.skip("makemessages needs GNU gettext (xgettext, msgmerge): apt-get install gettext")
    committed = [lang for lang in LANGUAGES if (BASE / "locale" / lang / "LC_MESSAGES" / "django.po").is_file()]
    if not committed:
        return {}
    root = tmp_path_factory.mktemp("project")
    for name in SOURCES:
        shutil.copytree(BASE / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
    shutil.copytree(BASE / "locale", root / "locale", ignore=shutil.ignore_patterns("*.mo"))
    with override_settings(LOCALE_PATHS=[root / "locale"]):
        previous = Path.cwd()
        try:
            os.chdir(root)
            call_command("makemessages", locale=committed, no_obsolete=True, no_location=True, verbosity=0)
        finally:
            os.chdir(previous)
    return {lang: catalogue(root / "locale" / lang / "LC_MESSAGES" / "django.po") for lang in committed}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalogue_has_every_marked_string_translated(language, extracted):
    path = BASE / "locale" / language / "LC_MESSAGES" / "django.po"
    if not path.is_file():
        pytest.skip(f"No catalogue for {language!r} yet: the lead writes {path.relative_to(BASE)} with "
                    f"`make messages` once the strings are marked, and translators fill it.")
    committed = catalogue(path)
    have = entries(committed)
    wanted = entries(extracted[language])

    missing = sorted(key for key in wanted if key not in have)
    untranslated = sorted(key for key, message in have.items()
                          if not (all(message.string) if isinstance(message.string, (list, tuple))
                                  else message.string))
    fuzzy = sorted(key for key, message in have.items() if message.fuzzy)

    assert not committed.fuzzy, f"{path.relative_to(BASE)}: the catalogue's header is marked fuzzy (Babel will not " \
                                "compile it): remove the flag once it is reviewed"
    assert not missing, f"{len(missing)} marked strings are not in {path.relative_to(BASE)} (run make messages): " \
                        f"{missing[:20]}"
    assert not untranslated, f"{len(untranslated)} entries of {path.relative_to(BASE)} are not translated: " \
                             f"{untranslated[:20]}"
    assert not fuzzy, f"{len(fuzzy)} entries of {path.relative_to(BASE)} are fuzzy: {fuzzy[:20]}"


def test_the_install_step_compiles_the_catalogues_with_python_alone(tmp_path):
    """What `make install` runs: Babel's compiler, no GNU gettext."""
    folder = tmp_path / "locale" / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "django.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n"Language: de\\n"\n\n'
        'msgid "Language"\nmsgstr "Sprache"\n', encoding="utf-8")
    makefile = (BASE / "Makefile").read_text()
    assert "-m babel.messages.frontend compile" in makefile

    compiled = subprocess.run([sys.executable, "-m", "babel.messages.frontend", "compile", "-d",
                               str(tmp_path / "locale"), "-D", "django"], capture_output=True, text=True)

    assert compiled.returncode == 0, compiled.stderr
    translations = gettext.translation("django", localedir=tmp_path / "locale", languages=["de"])
    assert translations.gettext("Language") == "Sprache"
