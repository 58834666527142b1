"""``provd firmware …`` as scripts use it: JSON out, clear errors, nothing written on bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from provd.cli import cli
from tests.conftest import PreparedDataDir
from tests.firmware.images import image_bytes

T46G = "yealink-t46g"
MAC = "0015654aa937"


def run(data_dir: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], catch_exceptions=False)


def ok(data_dir: Path, *args: str) -> Any:
    result = run(data_dir, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _prepare(d: Path, info: dict[str, Any]) -> None:
    assert run(d, "tenant", "add", "acme").exit_code == 0
    assert run(d, "device", "add", "--mac", MAC, "--model", T46G).exit_code == 0


@pytest.fixture
def data_dir(tmp_path: Path, prepared_data_dir: PreparedDataDir) -> Path:
    return prepared_data_dir(tmp_path / "data", _prepare)


def _rom(tmp_path: Path, version: str) -> Path:
    path = tmp_path / f"T46-{version}.rom"
    path.write_bytes(image_bytes(version))
    return path


def _state(data_dir: Path) -> tuple[str, list[str]]:
    listed = run(data_dir, "firmware", "list", "--json").stdout
    store = data_dir / "firmware"
    return listed, sorted(p.name for p in store.iterdir()) if store.exists() else []


def test_add_list_tested_pin_resolve(data_dir: Path, tmp_path: Path) -> None:
    rom = _rom(tmp_path, "28.83.0.120")
    sha = hashlib.sha256(rom.read_bytes()).hexdigest()
    added = ok(
        data_dir, "firmware", "add", str(rom), "--model", T46G, "--version", "28.83.0.120",
        "--sha256", sha, "--notes", "BLF fix",
    )  # fmt: skip
    assert added["created"] and added["sha256"] == sha and added["filename"] == rom.name
    assert (data_dir / "firmware" / sha).read_bytes() == rom.read_bytes()
    assert (
        ok(data_dir, "firmware", "add", str(rom), "--model", T46G, "--version", "28.83.0.120")[
            "created"
        ]
        is False
    )
    again = run(data_dir, "firmware", "add", str(rom), "--model", T46G, "--version", "28.83.0.120")
    assert again.exit_code == 0 and "Already stored, nothing changed" in again.output

    refused = run(data_dir, "firmware", "pin", "--model", T46G, "--version", "28.83.0.120")
    assert refused.exit_code == 1
    assert "error: version: firmware 28.83.0.120 for yealink-t46g is not tested" in refused.output

    assert ok(data_dir, "firmware", "tested", "--version", "28.83.0.120")["tested"] is True
    pin = ok(data_dir, "firmware", "pin", "--model", T46G, "--version", "28.83.0.120")
    assert pin["level"] == "platform" and pin["sha256"] == sha

    listed = ok(data_dir, "firmware", "list")
    assert [(i["version"], [p["level"] for p in i["pins"]]) for i in listed] == [
        ("28.83.0.120", ["platform"])
    ]
    assert "pinned: platform for yealink-t46g" in run(data_dir, "firmware", "list").output

    resolved = ok(data_dir, "firmware", "resolve", MAC)
    assert resolved["expected"]["version"] == "28.83.0.120"
    assert resolved["expected"]["url"] == f"https://provd.test:8443/firmware/{sha}/{rom.name}"
    text = run(data_dir, "firmware", "resolve", "00:15:65:4a:a9:37").output
    assert "expected: 28.83.0.120 (platform pin)" in text
    assert "platform default: 28.83.0.120 (used)" in text
    assert "tenant override: none" in text


def test_pins_at_every_level_explain_themselves(data_dir: Path, tmp_path: Path) -> None:
    for version in ("28.80.0.1", "28.81.0.1", "28.82.0.1"):
        rom = _rom(tmp_path, version)
        ok(data_dir, "firmware", "add", str(rom), "--model", T46G, "--version", version, "--tested")
    ok(data_dir, "firmware", "pin", "--model", T46G, "--version", "28.80.0.1")
    ok(
        data_dir,
        "firmware",
        "pin",
        "--model",
        T46G,
        "--version",
        "28.81.0.1",
        "--tenant",
        "default",
    )
    ok(data_dir, "firmware", "pin", "--device", MAC, "--version", "28.82.0.1")
    resolved = ok(data_dir, "firmware", "resolve", MAC)
    assert resolved["expected"]["level"] == "device"
    assert resolved["explanation"] == [
        "device pin: 28.82.0.1 (used)",
        "tenant override: 28.81.0.1 (overridden)",
        "platform default: 28.80.0.1 (overridden)",
    ]
    assert ok(data_dir, "firmware", "unpin", "--device", MAC) == {
        "unpinned": f"device {MAC}",
        "model": T46G,
    }
    assert ok(data_dir, "firmware", "resolve", MAC)["expected"]["version"] == "28.81.0.1"
    ok(data_dir, "firmware", "unpin", "--model", T46G, "--tenant", "default")
    assert ok(data_dir, "firmware", "resolve", MAC)["expected"]["version"] == "28.80.0.1"
    # A pinned version cannot lose its tested mark; unpinned, it can.
    refused = run(data_dir, "firmware", "tested", "--version", "28.80.0.1", "--untested")
    assert refused.exit_code == 1 and "is pinned (platform)" in refused.output
    ok(data_dir, "firmware", "unpin", "--model", T46G)
    assert (
        ok(data_dir, "firmware", "tested", "--version", "28.80.0.1", "--untested")["tested"]
        is False
    )
    assert ok(data_dir, "firmware", "resolve", MAC)["expected"] is None


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--model", "yealink-t99", "--version", "1.0"], "model"),
        (["--model", T46G, "--model", "snom-d785", "--version", "1.0"], "model"),
        (["--model", T46G, "--version", "not a version"], "version"),
        (["--model", T46G, "--version", "1.0", "--sha256", "12ab"], "sha256"),
        (["--model", T46G, "--version", "1.0", "--sha256", "ab" * 32], "sha256"),
        (["--model", T46G, "--version", "1.0", "--filename", "a/b.rom"], "filename"),
    ],
)
def test_bad_add_input_names_the_field_and_writes_nothing(
    data_dir: Path, tmp_path: Path, args: list[str], field: str
) -> None:
    rom = _rom(tmp_path, "1.0")
    before = _state(data_dir)
    result = run(data_dir, "firmware", "add", str(rom), *args, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["field"] == field
    assert result.stderr.startswith(f"error: {field}: ")
    assert _state(data_dir) == before


def test_a_conflicting_import_names_the_existing_version(data_dir: Path, tmp_path: Path) -> None:
    rom = _rom(tmp_path, "28.83.0.120")
    ok(data_dir, "firmware", "add", str(rom), "--model", T46G, "--version", "28.83.0.120")
    before = _state(data_dir)
    result = run(data_dir, "firmware", "add", str(rom), "--model", T46G, "--version", "28.84.0.1")
    assert result.exit_code == 1
    assert "already stored as firmware 28.83.0.120 for yealink-t46g" in result.output
    other = _rom(tmp_path, "other")
    result = run(
        data_dir, "firmware", "add", str(other), "--model", T46G, "--version", "28.83.0.120"
    )
    assert result.exit_code == 1
    assert "error: version: yealink-t46g already has firmware 28.83.0.120" in result.output
    assert _state(data_dir) == before


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["pin", "--version", "1.0"], "model"),
        (["pin", "--model", T46G, "--version", "9.9"], "version"),
        (["pin", "--model", T46G, "--version", "1.0", "--tenant", "nope"], "tenant"),
        (["pin", "--model", T46G, "--version", "1.0", "--device", "0015654affff"], "device"),
        (
            ["pin", "--model", T46G, "--version", "1.0", "--tenant", "acme", "--device", MAC],
            "scope",
        ),
        (["pin", "--model", "yealink-t48g", "--version", "1.0", "--device", MAC], "model"),
        (["unpin", "--model", T46G], "model"),
        (["tested"], "version"),
        (["tested", "--sha256", "xyz"], "sha256"),
        (["resolve", "00:15"], "mac"),
        (["resolve", "0015654affff"], "mac"),
    ],
)
def test_bad_pin_input_names_the_field_and_writes_nothing(
    data_dir: Path, tmp_path: Path, args: list[str], field: str
) -> None:
    ok(data_dir, "firmware", "add", str(_rom(tmp_path, "1.0")), "--model", T46G, "--version", "1.0")
    before = _state(data_dir)
    result = run(data_dir, "firmware", *args, "--json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["error"]["field"] == field
    assert _state(data_dir) == before
