"""``provd serve -v`` logs no credential material (issue 21, finding 10), as text lines
or as JSON objects (``--log-format json``).

A real process with debug logging: a console sign-in (and a failed one), a console
page and a form posted with the session's CSRF token, API calls with a bearer token,
a phone's Digest fetch (and one with a wrong password). Then every secret involved, and
every hash or sealed copy the database keeps of one, is looked for in what the process
printed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import DigestAuthMiddleware
from yarl import URL

from provd.db.models import Account, ApiToken, WebSession
from provd.services.access import accounts, tokens
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.procs import free_port, provd_json

UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37"
WRONG_PASSWORD = "Wr0ng-console-pa55word!"
WRONG_PHONE_PASSWORD = "Wr0ng-phone-pa55word!"


async def test_database_queries_are_not_logged_even_at_debug(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    # Turned up the way a test or a logging config would: the secrets must still not show.
    caplog.set_level(logging.DEBUG)
    for name in ("tortoise", "tortoise.db_client", "aiosqlite", "asyncpg"):
        caplog.set_level(logging.DEBUG, logger=name)
    await accounts.add_account(TEST_ACTOR, "alice", "Correct-horse-battery-9", role="admin")
    signed_in = await accounts.sign_in(
        accounts.SignInGuard(), "alice", "Correct-horse-battery-9", "127.0.0.1"
    )
    assert await accounts.resume(signed_in.session_token) is not None
    token = await tokens.create_token(TEST_ACTOR, "ci")
    assert await tokens.authenticate(token) is not None
    account = await Account.get(username="alice")
    session = await WebSession.get(account=account)
    stored = [account.password_hash, session.token_sha256, session.csrf_token]
    stored += [t.token_sha256 for t in await ApiToken.all()]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert [s for s in stored if s in logged] == []
    # The statements themselves are still there to debug with.
    assert 'INSERT INTO "web_session"' in logged


def _csrf_in(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token in the page"
    return match[1]


def _stored_secrets(db: Path) -> set[str]:
    """Hashes, session and CSRF tokens and sealed secrets as the database keeps them."""
    found: set[str] = set()
    with sqlite3.connect(db) as conn:
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
            wanted = [
                c for c in columns if c.endswith(("_hash", "_sha256", "_enc")) or c == "csrf_token"
            ]
            for column in wanted:
                for (value,) in conn.execute(f'SELECT "{column}" FROM "{table}"'):
                    if isinstance(value, bytes):
                        value = value.decode("ascii", "replace")
                    if value:
                        found.add(str(value))
    return found


def _json_lines(text: str) -> list[dict[str, Any]]:
    """Every line a JSON object with the fields every record has."""
    records = []
    for line in text.splitlines():
        record = json.loads(line)
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message"} <= record.keys(), line
        assert record["time"].endswith("Z"), line
        records.append(record)
    return records


def _strings(value: object) -> list[str]:
    """The strings in a parsed JSON value, as they read once unescaped."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.slow
@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_verbose_serve_logs_no_secret(tmp_path: Path, log_format: str) -> None:
    data_dir = tmp_path / "data"
    https = free_port()
    init = provd_json(data_dir, "init", "--public-host", "127.0.0.1", "--https-port", str(https))
    provd_json(data_dir, "user", "add", "--extension", "201", "--name", "Front Desk")
    device = provd_json(
        data_dir, "device", "add", "--mac", "00:15:65:4a:a9:37", "--model", "yealink-t46g"
    )
    provisioning = device["provisioning"]
    assert isinstance(provisioning, dict)
    log, out = tmp_path / "serve.log", tmp_path / "serve.out"
    seen: set[str] = set()
    with log.open("w") as log_file, out.open("w") as out_file:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "provd",
                "--data-dir",
                str(data_dir),
                "serve",
                "-v",
                "--bind",
                "127.0.0.1",
                "--log-format",
                log_format,
            ],
            stdout=out_file,
            stderr=log_file,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    socket.create_connection(("127.0.0.1", https), timeout=0.5).close()
                    break
                except OSError:
                    assert proc.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.1)
            context = ssl.create_default_context(cafile=str(data_dir / "ca.pem"))
            base = f"https://127.0.0.1:{https}"
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(
                base, connector=aiohttp.TCPConnector(ssl=context), cookie_jar=jar
            ) as s:
                # A failed sign-in, then a good one.
                for password in (WRONG_PASSWORD, str(init["console_password"])):
                    async with s.get("/login") as r:
                        login_csrf = _csrf_in(await r.text())
                    seen.add(login_csrf)
                    form = {"username": "admin", "password": password, "csrf_token": login_csrf}
                    async with s.post("/login", data=form, allow_redirects=False) as r:
                        assert r.status in (200, 303)
                session_cookie = jar.filter_cookies(URL(base))["provd_session"]
                seen.add(session_cookie.value)
                async with s.get("/console/access") as r:
                    assert r.status == 200
                    csrf = _csrf_in(await r.text())
                seen.add(csrf)
                # A console form (CSRF-checked) that creates a token shown once.
                async with s.post(
                    "/console/access/tokens",
                    data={"name": "ci", "role": "admin", "days": "1", "csrf_token": csrf},
                ) as r:
                    assert r.status == 200
                    page = await r.text()
                shown = re.findall(r'id="secret-value">([^<]+)<', page)
                assert len(shown) == 1
                seen.update(shown)
            token = str(init["api_token"])
            async with aiohttp.ClientSession(
                base,
                connector=aiohttp.TCPConnector(ssl=context),
                headers={"Authorization": f"Bearer {token}"},
            ) as api:
                async with api.get("/api/v1/devices") as r:
                    assert r.status == 200
                async with api.post(
                    "/api/v1/users",
                    json={"tenant": "default", "extension": "202", "name": "Back Office"},
                ) as r:
                    assert r.status == 201, await r.text()
                    seen.add((await r.json())["sip_password"])
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as phone:
                for password, status in (
                    (WRONG_PHONE_PASSWORD, 401),
                    (str(provisioning["password"]), 200),
                ):
                    async with phone.get(
                        f"{base}/0015654aa937.cfg",
                        headers={"User-Agent": UA},
                        middlewares=(
                            DigestAuthMiddleware(str(provisioning["username"]), password),
                        ),
                    ) as r:
                        assert r.status == status
        finally:
            proc.terminate()
            assert proc.wait(timeout=15) == 0, log.read_text()

    text = log.read_text()
    assert out.read_text() == ""
    assert "DEBUG" in text  # -v did switch debug logging on
    if log_format == "json":
        records = _json_lines(text)
        [failed] = [r for r in records if r["message"].startswith("provisioning auth failed")]
        assert failed["level"] == "WARNING"
        assert failed["logger"] == "provd.provisioning"
        assert (failed["client_ip"], failed["user"], failed["file"]) == (
            "127.0.0.1",
            provisioning["username"],
            "0015654aa937.cfg",
        )
        # A secret with a character JSON escapes would not be found in the raw text.
        text += "\n".join(s for r in records for s in _strings(r))
    secrets = {
        WRONG_PASSWORD,
        WRONG_PHONE_PASSWORD,
        str(init["console_password"]),
        str(init["bootstrap_password"]),
        token,
        hashlib.sha256(token.encode()).hexdigest(),
        str(provisioning["password"]),
        *seen,
        *(hashlib.sha256(v.encode()).hexdigest() for v in seen),
        *_stored_secrets(data_dir / "provd.sqlite3"),
    }
    assert any(s.startswith("$argon2") for s in secrets)  # the hashes were found to look for
    leaked = sorted(s for s in secrets if s in text)
    assert not leaked, f"{len(leaked)} secrets in the log, e.g. {leaked[0][:12]}…"
