"""``provd device …`` as scripts use it: JSON out, clear errors, nothing written on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.runner import run


def test_device_add_prints_url_username_and_password(data_dir: Path) -> None:
    result = run(
        data_dir,
        "device",
        "add",
        "--mac",
        "00:15:65:4a:a9:37",
        "--model",
        "yealink-t46g",
        "--user",
        "201",
        "--json",
    )
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert view["mac"] == "0015654aa937"
    assert view["provisioning"]["url"] == "https://provd.test:8443/"
    assert view["provisioning"]["username"] == "dev-0015654aa937"
    assert len(view["provisioning"]["password"]) >= 20
    assert view["lines"] == [{"slot": 1, "extension": "201", "name": "Front Desk"}]

    listed = json.loads(run(data_dir, "device", "list", "--json").output)
    assert [d["mac"] for d in listed] == ["0015654aa937"]
    assert "password" not in json.dumps(listed)

    text = run(data_dir, "device", "add", "--mac", "0004.1392.2d24", "--model", "snom-d785")
    assert text.exit_code == 0
    assert "provisioning password:" in text.output


def _state(data_dir: Path) -> tuple[str, str]:
    devices = run(data_dir, "device", "list", "--json").output
    users = run(data_dir, "user", "list", "--json").output
    return devices, users


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        (
            ["device", "add", "--mac", "00:15:65:4a:a9", "--model", "yealink-t46g"],
            "mac",
            "12 hexadecimal",
        ),
        (
            ["device", "add", "--mac", "zz15654aa937", "--model", "yealink-t46g"],
            "mac",
            "12 hexadecimal",
        ),
        (
            ["device", "add", "--mac", "0015654aa937", "--model", "yealink-t99"],
            "model",
            "unknown model",
        ),
        (
            ["device", "add", "--mac", "0015654aa937", "--model", "yealink-t46g", "--user", "299"],
            "user",
            "not found",
        ),
        (
            [
                "device",
                "add",
                "--mac",
                "0015654aa937",
                "--model",
                "yealink-t46g",
                "--password",
                "abc",
            ],
            "password",
            "too weak",
        ),
        (
            [
                "device",
                "add",
                "--mac",
                "0015654aa937",
                "--model",
                "yealink-t46g",
                "--password",
                "abcdefgh1",
            ],
            "password",
            "too weak",
        ),
        (
            [
                "device",
                "add",
                "--mac",
                "0015654aa937",
                "--model",
                "yealink-t46g",
                "--tenant",
                "nope",
            ],
            "tenant",
            "not found",
        ),
        (["user", "add", "--extension", "1", "--name", "X"], "extension", "2 to 5 digits"),
        (["user", "add", "--extension", "201", "--name", "Dup"], "extension", "already exists"),
        (["user", "add", "--extension", "203", "--name", "Bad\nName"], "name", "line breaks"),
        (
            ["user", "add", "--extension", "203", "--name", "X", "--sip-password", "weak"],
            "sip_password",
            "too weak",
        ),
        (["tenant", "add", "Bad Slug"], "tenant", "not a valid tenant name"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    data_dir: Path, args: list[str], field: str, words: str
) -> None:
    before = _state(data_dir)
    result = run(data_dir, *args)
    assert result.exit_code == 1
    assert f"error: {field}:" in result.output
    assert words in result.output
    assert _state(data_dir) == before

    as_json = run(data_dir, *args, "--json")
    assert as_json.exit_code == 1
    error = json.loads(as_json.stdout.splitlines()[0])["error"]
    assert error.get("field") == field


def test_duplicate_mac_is_refused_in_any_notation(data_dir: Path) -> None:
    assert (
        run(data_dir, "device", "add", "--mac", "0015654aa937", "--model", "yealink-t46g").exit_code
        == 0
    )
    before = _state(data_dir)
    result = run(data_dir, "device", "add", "--mac", "00-15-65-4A-A9-37", "--model", "yealink-t48g")
    assert result.exit_code == 1
    assert "error: mac: 0015654aa937 is already registered" in result.output
    assert _state(data_dir) == before


def test_reset_and_show(data_dir: Path) -> None:
    run(
        data_dir,
        "device",
        "add",
        "--mac",
        "0015654aa937",
        "--model",
        "yealink-t46g",
        "--user",
        "201",
    )
    shown = json.loads(run(data_dir, "device", "show", "00:15:65:4A:A9:37", "--json").output)
    assert shown["sealed"] is False
    assert run(data_dir, "device", "reset", "0015654aa937").exit_code == 0
    missing = run(data_dir, "device", "show", "0015654aa938")
    assert missing.exit_code == 1 and "not found" in missing.output


def test_config_preview_masks_secrets_unless_revealed(data_dir: Path) -> None:
    added = run(
        data_dir,
        "device",
        "add",
        "--mac",
        "0015654aa937",
        "--model",
        "yealink-t46g",
        "--user",
        "201",
        "--json",
    )
    password = json.loads(added.output)["provisioning"]["password"]
    masked = run(data_dir, "device", "config", "0015654aa937")
    assert masked.exit_code == 0
    assert "===== 0015654aa937.cfg" in masked.output
    assert "static.auto_provision.server.password = ********" in masked.output
    assert "account.1.password = ********" in masked.output
    assert password not in masked.output
    revealed = run(data_dir, "device", "config", "0015654aa937", "0015654aa937.cfg", "--reveal")
    assert f"static.auto_provision.server.password = {password}" in revealed.output
    assert "y000000000028.cfg" not in revealed.output
