"""``provd tenant …`` and ``provd user …`` as scripts use them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from tests.cli.call_handling import ok, refused
from tests.cli.runner import run


def test_user_on_a_device_cannot_be_removed(data_dir: Path) -> None:
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
    result = run(data_dir, "user", "remove", "201")
    assert result.exit_code == 1
    assert "0015654aa937 line 1" in result.output
    assert run(data_dir, "device", "remove", "0015654aa937").exit_code == 0
    assert run(data_dir, "user", "remove", "201").exit_code == 0


def test_tenant_add_list(data_dir: Path) -> None:
    added = json.loads(
        run(data_dir, "tenant", "add", "acme", "--name", "Acme B.V.", "--json").output
    )
    assert added["sip_domain"] == "acme.provd.internal"
    assert added["bootstrap_username"] == "bootstrap-acme"
    listed = json.loads(run(data_dir, "tenant", "list", "--json").output)
    assert [t["slug"] for t in listed] == ["acme", "default"]
    assert "bootstrap_password" not in listed[0]


def test_tenant_list_columns_fit_the_longest_value(data_dir: Path) -> None:
    slug = "acme-corporation-international-holdings"  # 39 characters, within the 40 allowed
    assert run(data_dir, "tenant", "add", slug).exit_code == 0
    header, *rows = run(data_dir, "tenant", "list").output.splitlines()
    assert header.split() == ["TENANT", "SIP", "DOMAIN", "TIMEZONE"]
    # Every row's SIP domain starts where the header's column does, however long the slug.
    column = header.index("SIP DOMAIN")
    domains = {row.split()[0]: row[column:].split()[0] for row in rows}
    assert domains == {slug: f"{slug}.provd.internal", "default": "default.provd.internal"}
    assert all(row[column - 1] == " " for row in rows)


def _audit_count(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM audit_entry").fetchone()[0])


def _json(data_dir: Path, *args: str) -> Any:
    result = run(data_dir, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_tenant_numbering_is_set_shown_and_cleared(data_dir: Path) -> None:
    assert run(data_dir, "number", "add", "020 123 4500", "--count", "10").exit_code == 0
    shown = _json(data_dir, "tenant", "show", "default")
    assert (shown["country"], shown["number_display"], shown["main_number"]) == (
        "NL",
        "national",
        None,
    )
    assert "main_number: none" in run(data_dir, "tenant", "show", "default").output

    args = ["--country", "nl", "--number-display", "e164", "--main-number", "0031 20 1234503"]
    view = _json(data_dir, "tenant", "set", "default", *args)
    assert (view["country"], view["number_display"], view["main_number"]) == (
        "NL",
        "e164",
        "+31201234503",
    )
    [listed] = _json(data_dir, "tenant", "list")
    assert listed["main_number"] == "+31201234503"
    assert "main_number: +31201234503" in run(data_dir, "tenant", "show", "default").output

    # The main number's block is not removed while it is the main number.
    refused = run(data_dir, "number", "remove", "+31201234500")
    assert refused.exit_code == 1
    assert "+31201234503 in use as tenant default's main number" in refused.stderr
    cleared = _json(data_dir, "tenant", "set", "default", "--main-number", "none")
    assert cleared["main_number"] is None
    assert run(data_dir, "number", "remove", "+31201234500").exit_code == 0


def test_bad_tenant_numbering_names_the_field_and_writes_nothing(data_dir: Path) -> None:
    assert run(data_dir, "tenant", "add", "other").exit_code == 0
    assert run(data_dir, "number", "add", "+31201234500", "--count", "10").exit_code == 0
    theirs = run(data_dir, "number", "add", "+31201234510", "--count", "10", "--tenant", "other")
    assert theirs.exit_code == 0
    before = (_audit_count(data_dir), _json(data_dir, "tenant", "show", "default"))
    cases = [
        (["--country", "XX"], "country"),
        (["--number-display", "international"], "number_display"),
        (["--main-number", "not a number"], "main_number"),
        (["--main-number", "0201234599"], "main_number"),  # nobody's
        (["--main-number", "0201234511"], "main_number"),  # the other tenant's
        (["--country", "BE", "--main-number", "0201234501"], "main_number"),
        (["--number-display", "e164", "--country", "XX"], "country"),
    ]
    for args, field in cases:
        result = run(data_dir, "tenant", "set", "default", *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith(f"error: {field}: "), (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1
        assert "other" not in result.stderr
    after = (_audit_count(data_dir), _json(data_dir, "tenant", "show", "default"))
    assert after == before


def test_user_caller_id_is_hidden_and_shown(data_dir: Path) -> None:
    assert _json(data_dir, "user", "show", "201")["hide_caller_id"] is False
    hidden = _json(data_dir, "user", "set", "201", "--hide-caller-id")
    assert hidden["hide_caller_id"] is True
    again = _json(data_dir, "user", "set", "201", "--tenant", "default", "--hide-caller-id")
    assert again["hide_caller_id"] is True
    assert [u["hide_caller_id"] for u in _json(data_dir, "user", "list")] == [True]
    assert "hide_caller_id: True" in run(data_dir, "user", "show", "201").output
    shown = _json(data_dir, "user", "set", "201", "--show-caller-id", "--name", "Reception")
    assert (shown["hide_caller_id"], shown["name"]) == (False, "Reception")
    with sqlite3.connect(data_dir / "provd.sqlite3") as db:
        actions = db.execute(
            "SELECT object_key FROM audit_entry WHERE action='user.set' ORDER BY id"
        ).fetchall()
    assert actions == [("default/201",)] * 3


def test_bad_user_changes_name_the_field_and_write_nothing(data_dir: Path) -> None:
    before = (_audit_count(data_dir), _json(data_dir, "user", "show", "201"))
    cases = [
        (["user", "set", "201"], "settings"),
        (["user", "set", "299", "--hide-caller-id"], "extension"),
        (["user", "set", "201", "--tenant", "nobody", "--hide-caller-id"], "tenant"),
        (["user", "set", "201", "--hide-caller-id", "--new-extension", "2"], "extension"),
    ]
    for args, field in cases:
        result = run(data_dir, *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith(f"error: {field}: "), (args, result.stderr)
    assert (_audit_count(data_dir), _json(data_dir, "user", "show", "201")) == before


def test_user_forwarding_and_dnd(data_dir: Path) -> None:
    ok(data_dir, "user add --extension 202 --name 'Back Office'")
    ok(data_dir, "group add 600 --name Sales --policy simultaneous")
    shown = ok(
        data_dir,
        "user forward 201 --busy user:202 --no-answer group:600 --after 30"
        " --unreachable external:0612345678",
    )
    assert shown.splitlines() == [
        "user: 201 in default",
        "always: none",
        "busy: user 202 (Back Office)",
        "no-answer: group 600 (Sales) after 30 s",
        "unreachable: external +31612345678",
        "dnd: off",
    ]
    assert "dnd: on" not in ok(data_dir, "user forward 201")
    assert ok(data_dir, "user dnd 201 on").strip() == "Do-not-disturb of 201: on"
    as_json = json.loads(ok(data_dir, "user forward 201 --json"))
    assert as_json["dnd"] is True and as_json["no_answer_seconds"] == 30
    assert as_json["busy"] == {"kind": "user", "key": "202", "name": "Back Office",
                               "text": "user:202"}  # fmt: skip
    cleared = json.loads(ok(data_dir, "user forward 201 --clear busy --clear no-answer --json"))
    assert (cleared["busy"], cleared["no_answer"], cleared["unreachable"]["key"]) == (
        None,
        None,
        "+31612345678",
    )
    ok(data_dir, "user forward 202 --always user:201")
    assert "user 202's forwarding (always)" in refused(data_dir, "user remove 201", "extension")
    assert json.loads(ok(data_dir, "user forward 202 --clear all --json"))["always"] is None
    ok(data_dir, "user dnd 201 OFF")

    for line, field in [
        ("user forward 201 --always user:201", "always"),
        ("user forward 201 --busy user:299", "busy"),
        ("user forward 201 --no-answer external:112", "no_answer"),
        ("user forward 201 --unreachable somewhere", "unreachable"),
        ("user forward 201 --no-answer user:202 --after 4", "no_answer_seconds"),
        ("user forward 201 --clear sometimes", "clear"),
        ("user forward 201 --busy user:202 --clear busy", "busy"),
        ("user forward 299 --busy user:202", "extension"),
        ("user dnd 299 on", "extension"),
        ("user add --extension 600 --name Clash", "extension"),
    ]:
        refused(data_dir, line, field)
    maybe = run(data_dir, "user", "dnd", "201", "maybe")
    assert maybe.exit_code == 2


def test_a_user_may_be_allowed_to_switch_the_night_switch(data_dir: Path) -> None:
    assert _json(data_dir, "user", "show", "201")["may_switch_night"] is False
    allowed = _json(data_dir, "user", "set", "201", "--may-switch-night")
    assert allowed["may_switch_night"] is True
    denied = _json(data_dir, "user", "set", "201", "--may-not-switch-night")
    assert denied["may_switch_night"] is False


def test_codes_lists_the_service_codes(data_dir: Path) -> None:
    listed = run(data_dir, "codes")
    assert listed.exit_code == 0
    assert "*21*NUMBER#" in listed.output and "*915" in listed.output
    as_json = json.loads(run(data_dir, "codes", "--json").output)
    assert {"code": "*78", "meaning": "do-not-disturb on"} in as_json


def test_codes_for_a_tenant_number_its_night_switches(data_dir: Path) -> None:
    _json(data_dir, "user", "set", "201", "--may-switch-night")
    for name in ("shop", "office"):
        _json(data_dir, "schedule", "add", name, "--rule", "mon-fri 09:00-17:00")
    _json(data_dir, "nightswitch", "office", "on")
    view = _json(data_dir, "codes", "--tenant", "default")
    # By name, as *915*N counts them; the first is plain *915 too.
    assert view["night_switches"] == [
        {"code": "*915", "schedule": "office", "on": True},
        {"code": "*915*1", "schedule": "office", "on": True},
        {"code": "*915*2", "schedule": "shop", "on": False},
    ]
    assert view["may_switch_night"] == [{"extension": "201", "name": "Front Desk"}]
    assert view["pickup_code"] == "*8"
    text = run(data_dir, "codes", "--tenant", "default").output
    assert "*915*2" in text and "May flip the night switch: 201" in text
    missing = run(data_dir, "codes", "--tenant", "nope")
    assert missing.exit_code != 0 and "tenant" in missing.output
