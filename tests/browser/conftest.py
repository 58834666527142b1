"""Fixtures for the browser tests: one Chromium per session, a fresh context and
page per test that fails the test on any console error or uncaught exception."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.browser.harness import ConsoleErrors, Provd, init_provd, launch, new_context


# Module scope, not session: while Playwright's sync API is started it leaves an
# event loop marked running in this thread, which breaks every later test that
# calls asyncio.run() (the CLI) or runs async tests. Stopping it after each module
# hands the thread back clean.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = launch(playwright)
    yield b
    b.close()


@pytest.fixture
def console_errors() -> ConsoleErrors:
    return ConsoleErrors()


@pytest.fixture
def page(browser: Browser, console_errors: ConsoleErrors) -> Iterator[Page]:
    context = new_context(browser)
    page = console_errors.watch(context.new_page())
    yield page
    context.close()
    assert console_errors.take() == [], "the page logged errors"


@pytest.fixture
def phone_page(browser: Browser, console_errors: ConsoleErrors) -> Iterator[Page]:
    """A phone-sized touch browser, as an installer on site has."""
    context = new_context(browser, phone=True)
    page = console_errors.watch(context.new_page())
    yield page
    context.close()
    assert console_errors.take() == [], "the page logged errors"


@pytest.fixture(scope="module")
def provd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provd]:
    """A running `provd serve` (no PBX), shared by the tests of one module."""
    server = init_provd(tmp_path_factory.mktemp("browser"))
    server.start()
    yield server
    server.stop()
