"""`provd account …` and `provd token …`: passwords shown once, hashes stored, roles scoped."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provd.cli import cli
from tests.conftest import PreparedDataDir


def run(data_dir: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(
        cli, ["--data-dir", str(data_dir), *args], input=stdin, catch_exceptions=False
    )


def _prepare(d: Path, info: dict[str, Any]) -> None:
    assert info["console_username"] == "admin"
    assert len(info["console_password"]) == 20
    assert info["console_url"] == "https://provd.test:8443/login"
    assert run(d, "tenant", "add", "acme").exit_code == 0


@pytest.fixture
def data_dir(tmp_path: Path, prepared_data_dir: PreparedDataDir) -> Path:
    return prepared_data_dir(tmp_path / "data", _prepare)


def _db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / "provd.sqlite3")


def test_init_admin_password_is_stored_only_as_argon2(data_dir: Path) -> None:
    rows = _db(data_dir).execute("SELECT username, password_hash, role FROM account").fetchall()
    assert len(rows) == 1
    username, hashed, role = rows[0]
    assert (username, role) == ("admin", "admin")
    assert hashed.startswith("$argon2id$")


def test_account_add_generates_a_password_once(data_dir: Path) -> None:
    result = run(
        data_dir, "account", "add", "ivan", "--role", "installer", "--tenant", "acme", "--json"
    )
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view["role"] == "installer" and view["tenant"] == "acme"
    assert len(view["password"]) == 20
    listed = json.loads(run(data_dir, "account", "list", "--json").output)
    assert [a["username"] for a in listed] == ["admin", "ivan"]
    assert all("password" not in a for a in listed)


def test_account_add_refuses_bad_input_and_writes_nothing(data_dir: Path) -> None:
    cases = [
        (["account", "add", "ivan", "--role", "installer"], "must belong to a tenant"),
        (["account", "add", "bob", "--role", "admin", "--tenant", "acme"], "platform-wide"),
        (["account", "add", "Bad Name!"], "username"),
        (["account", "add", "ivan", "--role", "installer", "--tenant", "nope"], "tenant"),
        (["account", "add", "admin"], "already exists"),
    ]
    for args, message in cases:
        result = run(data_dir, *args)
        assert result.exit_code == 1, args
        assert message in result.output, (args, result.output)
    weak = run(data_dir, "account", "add", "weak", "--password-stdin", stdin="abc\n")
    assert weak.exit_code == 1
    assert "password: is too weak" in weak.output
    count = _db(data_dir).execute("SELECT count(*) FROM account").fetchone()[0]
    assert count == 1


def test_passwd_and_remove(data_dir: Path) -> None:
    before = _db(data_dir).execute("SELECT password_hash FROM account").fetchone()[0]
    result = run(data_dir, "account", "passwd", "admin", "--password-stdin", stdin="N3w-secret\n")
    assert result.exit_code == 0, result.output
    assert "N3w-secret" not in result.output
    after = _db(data_dir).execute("SELECT password_hash FROM account").fetchone()[0]
    assert after != before
    assert run(data_dir, "account", "remove", "admin").exit_code == 0
    missing = run(data_dir, "account", "remove", "admin")
    assert missing.exit_code == 1
    assert "not found" in missing.output
    actions = [r[0] for r in _db(data_dir).execute("SELECT action FROM audit_entry")]
    assert "account.password" in actions and "account.remove" in actions
    # The audit log never carries the hash or the password.
    dumped = " ".join(
        str(r) for r in _db(data_dir).execute("SELECT before, after FROM audit_entry")
    )
    assert "argon2" not in dumped and "N3w-secret" not in dumped


def test_tokens_are_scoped_expiring_and_revocable(data_dir: Path) -> None:
    result = run(
        data_dir,
        "token",
        "create",
        "site-a",
        "--role",
        "installer",
        "--tenant",
        "acme",
        "--days",
        "7",
        "--json",
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["token"].startswith("provd_")
    listed = json.loads(run(data_dir, "token", "list", "--json").output)
    site = next(t for t in listed if t["name"] == "site-a")
    assert site["role"] == "installer" and site["tenant"] == "acme"
    assert site["expires_at"] is not None
    assert created["token"] not in json.dumps(listed)
    stored = [r[0] for r in _db(data_dir).execute("SELECT token_sha256 FROM api_token")]
    assert created["token"] not in stored
    assert run(data_dir, "token", "create", "x", "--days", "0").exit_code == 1
    assert run(data_dir, "token", "revoke", str(site["id"])).exit_code == 0
    assert run(data_dir, "token", "revoke", str(site["id"])).exit_code == 1


def test_tenant_admin_role_in_accounts_and_tokens(data_dir: Path) -> None:
    result = run(
        data_dir, "account", "add", "tara", "--role", "tenant-admin", "--tenant", "acme", "--json"
    )
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert (view["role"], view["tenant"]) == ("tenant-admin", "acme")
    listed = run(data_dir, "account", "list").output
    assert re.search(r"^tara\s+tenant-admin\s+acme\s+never$", listed, re.MULTILINE), listed

    token = run(
        data_dir, "token", "create", "tara-api", "--role", "tenant-admin", "--tenant", "acme"
    )
    assert token.exit_code == 0, token.output
    tokens = json.loads(run(data_dir, "token", "list", "--json").output)
    scoped = [(t["name"], t["role"], t["tenant"]) for t in tokens]
    assert ("tara-api", "tenant-admin", "acme") in scoped
    before = _db(data_dir).execute("SELECT count(*) FROM audit_entry").fetchone()[0]
    # A tenant admin without a tenant would be a platform admin by omission: refused.
    for args, message in (
        (["account", "add", "tina", "--role", "tenant-admin"], "must belong to a tenant"),
        (["token", "create", "t", "--role", "tenant-admin"], "must belong to a tenant"),
        (["account", "add", "tina", "--role", "tenant-admin", "--tenant", "nope"], "'nope'"),
    ):
        refused = run(data_dir, *args)
        assert refused.exit_code == 1, args
        assert message in refused.output, refused.output
    unknown = run(data_dir, "account", "add", "tina", "--role", "owner")
    assert unknown.exit_code == 2
    assert "'admin', 'tenant-admin', 'installer'" in unknown.output
    after = _db(data_dir).execute("SELECT count(*) FROM audit_entry").fetchone()[0]
    assert after == before
