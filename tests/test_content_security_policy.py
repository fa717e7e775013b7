"""Every page is sent with a strict Content-Security-Policy, and no template needs it relaxed."""
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def policy(response):
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


def assert_strict(directives):
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in source for sources in directives.values() for source in sources)


def test_the_home_page_is_sent_with_the_strict_policy(client):
    response = client.get("/")
    assert response.status_code == 200
    assert_strict(policy(response))


def test_signed_in_pages_are_sent_with_the_strict_policy(client_for, alice, rita):
    for user, url in ((alice, "/organisation/"), (alice, "/organisation/api-keys/"), (rita, "/staff/contributors/")):
        response = client_for(user).get(url)
        assert response.status_code == 200, url
        assert_strict(policy(response))


def test_the_contributor_charts_are_drawn_by_a_script_file_not_an_inline_script(client_for, rita):
    page = client_for(rita).get("/staff/contributors/").content.decode()
    assert '<script src="/static/js/contributor-charts.js"></script>' in page
    # The only script element without src is the chart data, which is JSON and never runs.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert inline == [' id="contributor-chart-data" type="application/json"']


def test_the_api_docs_load_their_start_up_script_as_a_file_under_the_same_policy(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert_strict(policy(response))
    page = response.content.decode()
    assert "<style" not in page and 'style="' not in page
    assert re.findall(r"<script(?![^>]*\bsrc=)", page) == []
    assert '<script src="/api/docs/?script="></script>' in page
    assert '<link rel="stylesheet" href="/static/css/api-docs.css">' in page

    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert 'SwaggerUIBundle({\n  url: "/api/schema/"' in script.content.decode()
    assert client.get("/api/schema/").status_code == 200


# E-mail is not a web page: no policy reaches a mail client, and mail clients ignore
# linked stylesheets, so the e-mail templates keep their one inline style.
WEB_TEMPLATES = [path for path in TEMPLATES.rglob("*.html") if path.relative_to(TEMPLATES).parts[0] != "email"]


@pytest.mark.parametrize("path", WEB_TEMPLATES, ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_no_web_template_has_an_inline_script_style_or_event_handler(path):
    source = path.read_text()
    # A data block (JSON, JSON-LD) is never run, so the policy does not govern it; any other script needs src.
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(ld\+)?json\")[^>]*>", source), \
        "an inline <script>"
    assert not re.search(r"<style\b", source), "an inline <style>"
    assert not re.search(r"\sstyle\s*=", source), "a style attribute"
    assert not re.search(r"\son[a-z]+\s*=", source), "an on…= event handler"
    assert "hx-on" not in source, "an htmx handler, which htmx runs with eval"
    assert "javascript:" not in source.lower()


def test_the_scan_sees_the_templates():
    assert len(WEB_TEMPLATES) > 30
