"""``provd backup`` and ``provd restore`` as an admin types them, and a served restore."""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from provd.services.backup import envelope, restore
from provd.settings import load_settings, save_settings
from tests.cli.runner import run
from tests.digest_client import authorization, parse_challenge
from tests.procs import free_port

PASSPHRASE = "Correct-Horse-9-battery"
MAC = "0015654aa937"
CONFIG = f"{MAC}.cfg"
UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37"


@pytest.fixture(autouse=True)
def _passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVD_BACKUP_PASSPHRASE", PASSPHRASE)
    # The key derivation's cost is in each file's header; tests pay a small one.
    monkeypatch.setattr(envelope, "WRITE_COST", envelope.Cost(log2_n=10, r=8, p=1))


@pytest.fixture
def fleet(data_dir: Path) -> dict[str, str]:
    """The CLI's data directory with a phone on user 201: the files it is served."""
    added = run(data_dir, "device", "add", "--mac", MAC, "--model", "yealink-t46g", "--user", "201")
    assert added.exit_code == 0, added.output
    return {"config": _config(data_dir)}


def _config(data_dir: Path, filename: str | None = None) -> str:
    shown = run(data_dir, "device", "config", MAC, *([filename] if filename else []), "--reveal")
    assert shown.exit_code == 0, shown.output
    assert "account.1.user_name = 201" in shown.output
    return shown.output


def _entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_a_backup_restored_into_a_new_directory_renders_the_same_files(
    data_dir: Path, fleet: dict[str, str], tmp_path: Path
) -> None:
    file = tmp_path / "nightly.provd"
    made = run(data_dir, "backup", str(file), "--json")
    assert made.exit_code == 0, made.output
    view = json.loads(made.output)
    assert view["file"] == str(file) and view["backend"] == "sqlite"
    assert view["size"] == file.stat().st_size and len(view["sha256"]) == 64

    fresh = tmp_path / "fresh" / "data"
    restored = run(fresh, "restore", str(file), "--json")
    assert restored.exit_code == 0, restored.output
    result = json.loads(restored.output)
    assert result["data_dir"] == str(fresh) and result["backup_schema"] == view["schema"]
    assert _config(fresh) == fleet["config"]
    listed = run(fresh, "device", "list", "--json")
    assert [d["mac"] for d in json.loads(listed.output)] == [MAC]


def test_the_passphrase_comes_from_a_file_and_text_output_names_the_parts(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROVD_BACKUP_PASSPHRASE")
    secret = tmp_path / "passphrase"
    secret.write_text(PASSPHRASE + "\n")
    file = tmp_path / "b.provd"
    made = run(data_dir, "backup", str(file), "--passphrase-file", str(secret))
    assert made.exit_code == 0, made.output
    assert f"Backed up {data_dir} to {file}" in made.output
    assert "database: SQLite, schema 00" in made.output
    restored = run(tmp_path / "new", "restore", str(file), "--passphrase-file", str(secret))
    assert restored.exit_code == 0, restored.output
    assert f"Restored {file} into {tmp_path / 'new'}" in restored.output


def test_no_passphrase_or_a_weak_one_is_refused_and_nothing_written(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROVD_BACKUP_PASSPHRASE")
    missing = run(data_dir, "backup", str(tmp_path / "b.provd"), "--json")
    assert missing.exit_code == 1
    error = json.loads(missing.stdout)["error"]
    assert error["field"] == "passphrase" and "PROVD_BACKUP_PASSPHRASE" in error["message"]
    for weak in ("", "password", "Sh0rt!"):
        monkeypatch.setenv("PROVD_BACKUP_PASSPHRASE", weak)
        refused = run(data_dir, "backup", str(tmp_path / "b.provd"))
        assert refused.exit_code == 1
        assert refused.stderr.startswith("error: passphrase: is ")
    assert _entries(tmp_path) == ["data"]


def test_a_wrong_passphrase_is_refused_and_nothing_written(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "b.provd"
    assert run(data_dir, "backup", str(file)).exit_code == 0
    monkeypatch.setenv("PROVD_BACKUP_PASSPHRASE", "Wrong-Horse-9-battery")
    refused = run(tmp_path / "new", "restore", str(file), "--json")
    assert refused.exit_code == 1
    assert json.loads(refused.stdout)["error"]["field"] == "passphrase"
    assert (
        refused.stderr == "error: passphrase: does not open this backup: it is not the one used\n"
    )
    assert _entries(tmp_path) == ["b.provd", "data"]


def test_a_truncated_file_is_refused_and_nothing_written(data_dir: Path, tmp_path: Path) -> None:
    file = tmp_path / "b.provd"
    assert run(data_dir, "backup", str(file)).exit_code == 0
    file.write_bytes(file.read_bytes()[:-100])
    refused = run(tmp_path / "new", "restore", str(file))
    assert refused.exit_code == 1
    assert refused.stderr == "error: file: the backup is truncated: it ends before its last chunk\n"
    assert _entries(tmp_path) == ["b.provd", "data"]


def test_a_newer_schema_is_refused_in_one_line_naming_the_versions(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "b.provd"
    assert run(data_dir, "backup", str(file)).exit_code == 0
    ours = restore.migration_names()
    monkeypatch.setattr(restore, "migration_names", lambda: ours[:-1])
    refused = run(tmp_path / "new", "restore", str(file))
    assert refused.exit_code == 1
    [line] = refused.stderr.splitlines()
    assert f"schema is {ours[-1]}, newer than this provd's (its last is {ours[-2]})" in line
    assert _entries(tmp_path) == ["b.provd", "data"]


def test_a_non_empty_target_is_refused_unless_forced(data_dir: Path, tmp_path: Path) -> None:
    file = tmp_path / "b.provd"
    assert run(data_dir, "backup", str(file)).exit_code == 0
    assert run(data_dir, "user", "add", "--extension", "202", "--name", "Later").exit_code == 0
    refused = run(data_dir, "restore", str(file))
    assert refused.exit_code == 1 and "is not empty" in refused.stderr
    assert run(data_dir, "user", "show", "202").exit_code == 0

    replaced = run(data_dir, "restore", str(file), "--force")
    assert replaced.exit_code == 0, replaced.output
    assert run(data_dir, "user", "show", "202").exit_code == 1
    assert _entries(tmp_path) == ["b.provd", "data"]


def test_an_existing_backup_file_is_kept_unless_forced(data_dir: Path, tmp_path: Path) -> None:
    file = tmp_path / "b.provd"
    file.write_text("last week's")
    refused = run(data_dir, "backup", str(file))
    assert refused.exit_code == 1 and "exists" in refused.stderr
    assert file.read_text() == "last week's"
    assert run(data_dir, "backup", str(file), "--force").exit_code == 0


# -- restored, then served -------------------------------------------------------------


@contextlib.contextmanager
def _serving(data_dir: Path, port: int, log: Path) -> Iterator[None]:
    """``provd serve`` on ``data_dir`` until the block ends; it must then stop cleanly."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "provd", "--data-dir", str(data_dir), "serve"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                time.sleep(0.1)
        else:
            pytest.fail("provd serve did not listen in time:\n" + log.read_text())
        yield
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0, log.read_text()


def _fetch(data_dir: Path, port: int, username: str, password: str) -> tuple[int, bytes]:
    """GET the phone's config over HTTPS, trusting only the restored CA, with Digest."""
    context = ssl.create_default_context(cafile=str(data_dir / "ca.pem"))
    path = f"/{CONFIG}"

    def get(headers: dict[str, str]) -> tuple[int, str, bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
        try:
            conn.request("GET", path, headers={"User-Agent": UA, **headers})
            reply = conn.getresponse()
            return reply.status, reply.getheader("WWW-Authenticate") or "", reply.read()
        finally:
            conn.close()

    status, challenge, _ = get({})
    assert status == 401
    header = authorization(parse_challenge(challenge), username, password, "GET", path)
    status, _, body = get({"Authorization": header})
    return status, body


@pytest.mark.slow
def test_a_restored_directory_is_served_with_the_same_ca_credentials_and_files(
    data_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    # Where the restored copy will listen, so the URL in the phone's files is the same.
    save_settings(data_dir, dataclasses.replace(load_settings(data_dir), https_port=port))
    added = run(
        data_dir, "device", "add", "--mac", MAC, "--model", "yealink-t46g", "--user", "201",
        "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    provisioning = json.loads(added.output)["provisioning"]
    config = _config(data_dir, CONFIG)
    ca = (data_dir / "ca.pem").read_bytes()
    file = tmp_path / "b.provd"
    assert run(data_dir, "backup", str(file)).exit_code == 0
    # A fresh machine: the original directory is gone.
    os.rename(data_dir, tmp_path / "gone")

    restored = tmp_path / "restored"
    result = run(restored, "restore", str(file))
    assert result.exit_code == 0, result.output
    assert (restored / "ca.pem").read_bytes() == ca
    with _serving(restored, port, tmp_path / "serve.log"):
        status, body = _fetch(restored, port, provisioning["username"], provisioning["password"])
    assert status == 200, body
    assert body.decode() + "\n" == config
