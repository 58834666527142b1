"""Signing in to the console in a real Chromium: success, a wrong password, the
lockout, and a form forged on another origin."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.browser.harness import ConsoleErrors, Provd, screenshot, sign_in
from tests.procs import free_port


def test_admin_signs_in_and_out(page: Page, provd_server: Provd) -> None:
    page.goto(provd_server.base_url + "/")
    assert page.url.endswith("/login")
    screenshot(page, "sign-in")
    sign_in(page, provd_server)
    assert page.url == provd_server.base_url + "/console/"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["provd_session"]["httpOnly"] and cookies["provd_session"]["secure"]
    page.click("text=Sign out")
    page.wait_for_url("**/login")
    page.goto(provd_server.base_url + "/console/")
    assert "/login?next=/console/" in page.url


def test_wrong_password_then_lockout(page: Page, provd_server: Provd) -> None:
    done = provd_server.cli("account", "add", "locky", "--password-stdin", stdin="Right-pass1\n")
    assert done["role"] == "admin"
    for _ in range(5):
        sign_in(page, provd_server, "locky", "Wrong-pass1")
        assert page.inner_text("#login-error") == "username or password is wrong"
    sign_in(page, provd_server, "locky", "Right-pass1")
    assert "too many failed sign-ins" in page.inner_text("#login-error")
    assert "/login" in page.url
    screenshot(page, "sign-in-locked")


@pytest.fixture
def evil_site(provd_server: Provd) -> Iterator[str]:
    """A page on another origin with a form that posts to the console (CSRF)."""
    port = free_port()
    target = provd_server.base_url + "/console/users"
    body = (
        '<link rel="icon" href="data:,">'
        f'<form id="f" method="post" action="{target}">'
        '<input name="extension" value="666"><input name="name" value="Evil">'
        '<button id="go">go</button></form>'
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/"
    server.shutdown()
    server.server_close()


def test_forged_form_from_another_site_is_rejected(
    page: Page, provd_server: Provd, evil_site: str, console_errors: ConsoleErrors
) -> None:
    console_errors.allow("status of 403")
    sign_in(page, provd_server)
    page.goto(evil_site)
    with page.expect_response(lambda r: "/console/users" in r.url) as info:
        page.click("#go")
    # SameSite=Strict keeps the session cookie off the cross-site post, and the
    # CSRF token and Origin checks would refuse it anyway.
    assert info.value.status == 403
    users = provd_server.cli("user", "list")
    assert all(u["extension"] != "666" for u in users)
