"""The catalogue browser over a million works: GET /catalogue/ and a filtered page, against a bare view.

One gunicorn (one sync worker) serves the site and /bench/bare (bench/urls.py) on loopback;
a logged-in licensee asks for each page one request at a time, alternating between them,
and the median latency of each is reported. The catalogue is `generate_catalog`'s million
metadata-only rows (ten tags, six image and three video resolutions). The filtered page
asks for Full-HD videos tagged "city" (about 0.7% of the catalogue) with a search word,
so its counts are exact ones rather than the planner's estimates.

Facet counts of a combination of filters are cached for two minutes; the *_cold figures
forget them before every request, so they measure the counting itself.

Target: each catalogue page under 200 ms (median), on a machine that may be shared.
"""
import http.client
import statistics
import time
from pathlib import Path

from bench.machine import load_note
from bench.measure import Figure, Report, Target
from bench.serving import generate_catalogue, gunicorn_serving

BASE_DIR = Path(__file__).resolve().parent.parent
CATALOGUE = ["--assets", "1000000", "--contributors", "100000", "--opt-out-rate", "0.01", "--seed", "1"]
PAGES = {
    "bare": "/bench/bare",
    "page": "/catalogue/",
    "filtered": "/catalogue/?kind=video&resolution=fhd&tags=city",
    "searched": "/catalogue/?q=city&kind=image&resolution=uhd",
    "next_page": None,  # the page after the first: filled in once the first page names its cursor
    "filtered_cold": "/catalogue/?kind=video&resolution=fhd&tags=city&",  # its facet counts forgotten first
    "searched_cold": "/catalogue/?q=city&kind=image&resolution=uhd&",
}
COLD = {"filtered_cold": {"kind": "video", "resolution": "fhd", "tags": ["city"]},
        "searched_cold": {"q": "city", "kind": "image", "resolution": "uhd"}}
REQUESTS = 40
WARM_UP = 5
TARGET_MS = 200


def run():
    generate_catalogue(CATALOGUE)
    cookie = licensee_session()
    notes = [f"{REQUESTS} requests per page, one at a time, alternating; gunicorn --workers 1 (sync); "
             f"after {WARM_UP} warm-up requests each", load_note("at the start")]
    timings = {name: [] for name in PAGES}
    with gunicorn_serving(name="catalogue", workers=1, timeout=120, env=server_settings()) as port:
        first = fetch(port, PAGES["page"], cookie)
        after = first.split('rel="next"')[0].rsplit('href="?after=', 1)[1].split('"')[0]
        PAGES["next_page"] = f"/catalogue/?after={after}"
        check_answers(port, cookie)
        for _ in range(WARM_UP):
            for path in PAGES.values():
                fetch(port, path, cookie)
        for n in range(REQUESTS):
            for name, path in (PAGES.items() if n % 2 == 0 else reversed(list(PAGES.items()))):
                if name in COLD:
                    forget_facets(COLD[name])
                started = time.perf_counter()
                fetch(port, path, cookie)
                timings[name].append((time.perf_counter() - started) * 1000)
    notes.append(load_note("at the end"))
    for name, samples in timings.items():
        print(f"  {name}: median {statistics.median(samples):.1f} ms")
    report = Report(figures=[
        Figure.median("catalogue_page_ms", timings["page"], "ms", "GET /catalogue/, 1,000,000 works, logged in"),
        Figure.median("catalogue_filtered_ms", timings["filtered"], "ms", PAGES["filtered"]),
        Figure.median("catalogue_searched_ms", timings["searched"], "ms", PAGES["searched"]),
        Figure.median("catalogue_filtered_cold_ms", timings["filtered_cold"], "ms",
                      "the filtered page with its facet counts not cached"),
        Figure.median("catalogue_searched_cold_ms", timings["searched_cold"], "ms",
                      "the searched page with its facet counts not cached"),
        Figure.median("catalogue_next_page_ms", timings["next_page"], "ms", "the second keyset page"),
        Figure.median("bare_view_ms", timings["bare"], "ms", "constant JSON body, same server"),
    ], targets=[], notes=notes)
    bare = report.figure("bare_view_ms")
    report.targets = [
        Target(f"{key}_under_{TARGET_MS}ms", f"{label} under {TARGET_MS} ms",
               f"{report.figure(key):.0f} ms ({report.figure(key) / bare:.0f}× the bare view's {bare:.1f} ms)",
               report.figure(key) < TARGET_MS)
        for key, label in (("catalogue_page_ms", "catalogue page"), ("catalogue_filtered_ms", "filtered page"),
                           ("catalogue_searched_ms", "searched page"), ("catalogue_next_page_ms", "next page"),
                           ("catalogue_filtered_cold_ms", "filtered page, facets not cached"),
                           ("catalogue_searched_cold_ms", "searched page, facets not cached"))
    ]
    return report


def forget_facets(filters):
    from django.core.cache import cache

    from licensing.selectors.catalogue import facets_cache_key

    cache.delete(facets_cache_key(filters))


def licensee_session():
    """A session cookie of a licensee with an active research licence, written as login would."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from bench.licensees import applicant, research_licence

    user = applicant()
    research_licence(user, max_assets=100_000)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def server_settings():
    return {"LOG_LEVEL": "WARNING", "ROOT_URLCONF": "bench.urls", "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0"}


def fetch(port, path, cookie):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        body = response.read().decode()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:300]}")
        return body
    finally:
        conn.close()


def check_answers(port, cookie):
    page = fetch(port, PAGES["page"], cookie)
    assert "works in the catalogue" in page and page.count('<li class="tile') == 48, "a full first page"
    filtered = fetch(port, PAGES["filtered"], cookie)
    assert "match your filters" in filtered and page.count('<li class="tile') == 48
