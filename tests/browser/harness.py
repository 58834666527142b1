"""A real `provd serve` process and a real headless Chromium for the web-page tests.

`Provd` starts the server as a newcomer would (own data dir, own port, real TLS)
and runs CLI commands against the same data dir. Browser pages collect console
errors and uncaught exceptions; the `page` fixture fails a test that caused any.
Screenshots go to test-artifacts/ (CI keeps them; they are not committed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
)

from tests.procs import free_port

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# The machine's network is closed: Chromium's own background traffic would only
# produce refused connections and noise.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE_VIEWPORT: ViewportSize = {"width": 390, "height": 844}
DESKTOP_VIEWPORT: ViewportSize = {"width": 1366, "height": 900}
_TIMEOUT_S = 60.0


@dataclass
class Provd:
    """A running ``provd serve`` with its data dir; ``cli`` runs commands against it."""

    data_dir: Path
    https: int
    log: Path
    init: dict[str, Any]
    process: subprocess.Popen[bytes] | None = None
    extra_args: list[str] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.https}"

    @property
    def admin_password(self) -> str:
        return str(self.init["console_password"])

    @property
    def api_token(self) -> str:
        return str(self.init["api_token"])

    def cli(self, *args: str, check: bool = True, stdin: str | None = None) -> Any:
        """Run ``provd ARGS --json``; the parsed JSON (or the CompletedProcess if not check)."""
        done = subprocess.run(
            [sys.executable, "-m", "provd", "--data-dir", str(self.data_dir), *args, "--json"],
            capture_output=True,
            text=True,
            input=stdin,
            timeout=_TIMEOUT_S,
        )
        if not check:
            return done
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    def start(self, *, ready_mark: str = "provd serving phones") -> None:
        argv = [
            sys.executable,
            "-m",
            "provd",
            "--data-dir",
            str(self.data_dir),
            "serve",
            "--bind",
            "127.0.0.1",
            *self.extra_args,
        ]
        log_file = self.log.open("ab")
        self.process = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT)
        log_file.close()
        deadline = time.monotonic() + _TIMEOUT_S
        while ready_mark not in self.log.read_text(errors="replace"):
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "provd serve not up:\n" + self.log.read_text()
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            rc = self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            rc = self.process.wait()
        self.process = None
        assert rc == 0, self.log.read_text()


def init_provd(tmp: Path, *extra_args: str) -> Provd:
    """A fresh data dir initialised by ``provd init`` (not started)."""
    data_dir = tmp / "data"
    https = free_port()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "provd",
            "--data-dir",
            str(data_dir),
            "init",
            "--public-host",
            "127.0.0.1",
            "--https-port",
            str(https),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        check=True,
    )
    return Provd(
        data_dir, https, tmp / "serve.log", json.loads(done.stdout), None, list(extra_args)
    )


def launch(playwright: Playwright, *extra_args: str) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args], headless=True
    )


class ConsoleErrors:
    """Console errors and uncaught page exceptions seen in a browser context."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._allowed: list[str] = []

    def allow(self, fragment: str) -> None:
        """Expect errors containing ``fragment`` (a test that provokes a 403, say)."""
        self._allowed.append(fragment)

    def _add(self, text: str) -> None:
        if not any(fragment in text for fragment in self._allowed):
            self.seen.append(text)

    def _console(self, message: ConsoleMessage) -> None:
        # Chromium asks for /favicon.ico itself on pages that name no icon (plain-text
        # error responses): not the page's doing.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self._add(f"console.{message.type}: {message.text}")

    def watch(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda e: self._add(f"uncaught: {e}"))
        return page

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


def new_context(browser: Browser, *, phone: bool = False, **kw: Any) -> BrowserContext:
    # The server's certificate is provd's own self-signed CA: trusted here the way
    # an admin would accept it once.
    return browser.new_context(
        ignore_https_errors=True,
        viewport=PHONE_VIEWPORT if phone else DESKTOP_VIEWPORT,
        is_mobile=phone,
        has_touch=phone,
        **kw,
    )


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, provd: Provd, username: str = "admin", password: str | None = None) -> None:
    page.goto(provd.base_url + "/login")
    page.fill("#username", username)
    page.fill("#password", password if password is not None else provd.admin_password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def t46g_user_agent(mac: str) -> str:
    colons = ":".join(mac[i : i + 2] for i in range(0, 12, 2))
    return f"Yealink SIP-T46G 28.83.0.120 {colons}"


def fetch_config(
    provd: Provd, mac: str, username: str, password: str, *, interface: str | None = None
) -> dict[str, str]:
    """A T46G's own ``<mac>.cfg`` fetched as the phone does (curl --digest, provd's CA),
    as ``key = value`` pairs; ``interface`` sets the phone's source address."""
    argv = ["curl", "-sS", "--fail", "--digest", "-u", f"{username}:{password}"]
    if interface is not None:
        argv += ["--interface", interface]
    argv += ["-A", t46g_user_agent(mac), "--cacert", str(provd.data_dir / "ca.pem")]
    done = subprocess.run(
        [*argv, f"{provd.base_url}/{mac}.cfg"],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        check=True,
    )
    pairs = (line.split(" = ", 1) for line in done.stdout.splitlines() if " = " in line)
    return dict(pairs)
