"""`provd trunk …`: a trunk with its numbers and accounts, passwords printed once, and
bad input one line naming the field with nothing written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.call_handling import ok, refused


def _trunk_rows(data_dir: Path) -> list[list[tuple[object, ...]]]:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return [
            db.execute(f"SELECT * FROM {t} ORDER BY id").fetchall()
            for t in ("trunk", "trunk_account", "trunk_number")
        ]


def test_a_trunk_with_numbers_and_passwords_shown_once(data_dir: Path) -> None:
    ok(data_dir, "number add '020 123 4500' --count 10")
    ok(data_dir, "number assign 0201234501 --user 201")
    added = ok(
        data_dir,
        "trunk add acme --channels 4 --allow-ip 192.0.2.10 --allow-ip 198.51.100.0/24"
        " --format national --brand asterisk --failover user:201 --ring-seconds 20",
    )
    lines = added.splitlines()
    assert lines[:9] == [
        "Added trunk acme",
        "trunk: acme in default",
        "brand: asterisk",
        "channels: 4",
        "format: national",
        "allowed: 192.0.2.10/32, 198.51.100.0/24",
        "authentication: accounts",
        "accounts:",
        "  primary: acme-primary",
    ]
    assert "failover: user 201 (Front Desk) after 20 s" in lines
    i = lines.index("Password(s), shown this once:")
    primary, secondary = lines[i + 1].split(": "), lines[i + 2].split(": ")
    assert primary[0].strip() == "acme-primary" and len(primary[1]) == 24
    assert secondary[0].strip() == "acme-secondary" and secondary[1] != primary[1]
    # Never again: not in show, list or the JSON of either.
    for line in ("trunk show acme", "trunk list", "trunk show acme --json", "trunk list --json"):
        assert primary[1] not in ok(data_dir, line)

    shown = ok(data_dir, "trunk number add acme 0201234501")
    assert "  +31201234501 (inbound, caller ID)" in shown.splitlines()
    assert "main number: +31201234501" in shown  # its first caller-ID number
    ok(data_dir, "trunk number add acme +31201234502 --no-inbound")
    moved = ok(data_dir, "number list").splitlines()
    assert "in use by trunk acme" in next(line for line in moved if "+31201234501" in line)
    view = json.loads(ok(data_dir, "trunk set acme --main-number 0201234502 --json"))
    assert view["main_number"] == "+31201234502"
    assert view["numbers"] == [
        {"number": "+31201234501", "inbound": True, "caller_id": True},
        {"number": "+31201234502", "inbound": False, "caller_id": True},
    ]
    listed = ok(data_dir, "trunk list").splitlines()
    assert listed[0].split() == [
        "TENANT", "NAME", "CHANNELS", "FORMAT", "AUTH", "NUMBERS", "FAILOVER",
    ]  # fmt: skip
    assert listed[1].split()[:6] == ["default", "acme", "4", "national", "accounts", "2"]

    new = json.loads(ok(data_dir, "trunk password acme --account secondary --json"))
    [account] = new["new_passwords"]
    assert (account["role"], account["username"]) == ("secondary", "acme-secondary")
    assert account["password"] != secondary[1]
    ok(data_dir, "trunk number remove acme 0201234501")
    ok(data_dir, "trunk remove acme")
    assert _trunk_rows(data_dir) == [[], [], []]


def test_an_ip_trunk(data_dir: Path) -> None:
    added = ok(
        data_dir,
        "trunk add pbx --channels 2 --allow-ip 203.0.113.5 --ip-auth --address 203.0.113.5:5080"
        " --caller-id-policy refuse",
    )
    assert "address: 203.0.113.5:5080" in added.splitlines()
    assert "Password" not in added


def test_refusals_name_the_field_and_write_nothing(data_dir: Path) -> None:
    ok(data_dir, "trunk add acme --channels 2 --allow-ip 192.0.2.10")
    before = _trunk_rows(data_dir)
    for line, field in (
        ("trunk add Acme! --channels 2 --allow-ip 192.0.2.10", "name"),
        ("trunk add other --channels 0 --allow-ip 192.0.2.10", "channels"),
        ("trunk add other --channels 2 --allow-ip 10.0.0.0/8", "allow_ip"),
        ("trunk add other --channels 2 --allow-ip 192.0.2.10 --ip-auth", "address"),
        ("trunk add other --channels 2 --allow-ip 192.0.2.10 --failover user:299", "failover"),
        ("trunk add acme --channels 2 --allow-ip 192.0.2.10", "name"),
        ("trunk set acme --ring-seconds 2", "ring_seconds"),
        ("trunk set acme --main-number +31201234599", "main_number"),
        ("trunk number add acme +31201234599", "number"),
        ("trunk number add acme +31201234599 --no-inbound --no-caller-id", "number"),
        ("trunk show nope", "name"),
    ):
        refused(data_dir, line, field)
    assert _trunk_rows(data_dir) == before
