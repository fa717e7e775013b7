"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server."""
import os
import re

import pytest

from tests.conftest import ARTIFACTS

# `playwright install` cannot download a browser here: `make browser` puts Chromium at this path.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
PASSWORD = "pw-for-tests-123"  # what tests.conftest.make_user gives everyone


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio event loop running in the test thread while the
    # browser is open. Django sees that loop and refuses every ORM call made from this thread
    # (SynchronousOnlyOperation), including the fixtures' user and licence set-up. Those calls
    # really are synchronous and nothing else runs on that loop, so the guard is a false alarm
    # here; the live server answers from its own thread and is unaffected. Package scope keeps
    # the switch off for the rest of the suite.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def open_page(browser, live_server, request):
    """open_page(viewport=...) -> a page in a fresh browser context: its own cookies, so its own user.

    When the test fails, each page it opened is saved to var/test-artifacts/ to show what the user saw.
    """
    contexts = []
    refused = []

    def open_(**context_options):
        context = browser.new_context(base_url=live_server.url, **context_options)
        context.set_default_timeout(10_000)
        # Whatever the Content-Security-Policy blocks is something a page meant to do: every
        # browser test also checks that the policy stopped nothing.
        context.on("console", lambda message: "Content Security Policy" in message.text
                   and refused.append(f"{message.page.url if message.page else ''}: {message.text}"))
        contexts.append(context)
        return context.new_page()

    yield open_
    failed = getattr(request.node, "report_call", None) is not None and request.node.report_call.failed
    for number, context in enumerate(contexts):
        if failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^\w-]", "_", request.node.name)
            for page in context.pages:
                page.screenshot(path=ARTIFACTS / f"failed-{name}-{number}.png", full_page=True)
        context.close()
    assert not refused, "the Content-Security-Policy blocked:\n" + "\n".join(refused)


@pytest.fixture
def verified():
    """Marks a user's e-mail address as verified: login is blocked until it is (mandatory verification)."""
    from allauth.account.models import EmailAddress

    def verify(user):
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    return verify


@pytest.fixture
def logged_in(open_page, verified):
    """logged_in(user) -> a page in that user's own browser context, signed in through the login form."""
    from playwright.sync_api import expect

    def log_in(user, **context_options):
        verified(user)
        page = open_page(**context_options)
        page.goto("/accounts/login/")
        page.locator("input[name=login]").fill(user.email)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("input[name=password]").press("Enter")
        expect(page.locator("header nav")).to_contain_text(user.email)
        return page

    return log_in
