"""`provd schedule …`, `provd nightswitch` and `provd route …`: opening hours with their
state now, the night switch, number plans and numbers assigned to them; bad input one
line naming the field with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.call_handling import ok, refused


def test_a_schedule_its_night_switch_and_a_route(data_dir: Path) -> None:
    added = json.loads(
        ok(
            data_dir,
            "schedule add Office --rule 'Mon-Fri 08:00-17:00' --rule 'sat 10:00-12:00'"
            " --holiday 'Christmas=2026-12-25..2026-12-26' --json",
        )
    )
    assert added["rules"] == ["mon-fri 08:00-17:00", "sat 10:00-12:00"]
    assert added["timezone"] == "Europe/Amsterdam"
    shown = ok(data_dir, "schedule show Office").splitlines()
    assert shown[:4] == [
        "schedule: Office in default (Europe/Amsterdam)",
        "rules: mon-fri 08:00-17:00; sat 10:00-12:00",
        "holidays: Christmas=2026-12-25..2026-12-26",
        "night switch: auto",
    ]
    assert shown[4].startswith(("now: open (rule) until ", "now: closed (no rule) until "))

    switched = ok(data_dir, "nightswitch Office on --until '2099-12-07 08:00'")
    assert switched.strip() == (
        "Night switch of Office: on until 2099-12-07 08:00;"
        " now closed (override) until 2099-12-07 08:00"
    )
    as_json = json.loads(ok(data_dir, "schedule show Office --json"))
    assert (as_json["night_switch"], as_json["until"]) == ("on", "2099-12-07T07:00:00+00:00")
    listed = ok(data_dir, "schedule list").splitlines()
    assert listed[0].split() == ["TENANT", "SCHEDULE", "NOW", "NIGHT", "SWITCH", "RULES"]
    assert "on until 2099-12-07 08:00" in listed[1]
    assert json.loads(ok(data_dir, "nightswitch Office auto --json"))["night_switch"] == "auto"

    ok(data_dir, "group add 600 --name Sales --policy fixed")
    route = ok(
        data_dir,
        "route add 'Main hours' --schedule Office --open group:600 --closed external:0612345678",
    )
    assert route.splitlines()[1:] == [
        "route: Main hours in default, by schedule Office",
        "open: group 600 (Sales)",
        "closed: external +31612345678",
        "holiday: as closed",
        "numbers: none",
    ]
    ok(data_dir, "number add 0201234500")
    assigned = ok(data_dir, "number assign 0201234500 --route 'Main hours'")
    assert "+31201234500 is now in use by route Main hours" in assigned
    assert ok(data_dir, "number list").splitlines()[1].split()[3:] == [
        "in", "use", "by", "route", "Main", "hours"
    ]  # fmt: skip
    ok(data_dir, "route set 'Main hours' --holiday user:201")
    routes = ok(data_dir, "route list").splitlines()
    assert routes[0].split() == ["TENANT", "ROUTE", "SCHEDULE", "OPEN", "CLOSED", "HOLIDAY"]
    assert routes[1].split()[-3:] == ["201", "(Front", "Desk)"]
    assert json.loads(ok(data_dir, "route show 'Main hours' --json"))["numbers"] == ["+31201234500"]

    assert "number +31201234500" in refused(data_dir, "route remove 'Main hours'", "name")
    assert "route Main hours" in refused(data_dir, "schedule remove Office", "name")
    ok(data_dir, "number release 0201234500")
    ok(data_dir, "route remove 'Main hours'")
    changed = json.loads(ok(data_dir, "schedule set Office --name Shop --no-holidays --json"))
    assert (changed["name"], changed["holidays"]) == ("Shop", [])
    ok(data_dir, "schedule remove Shop")
    assert json.loads(ok(data_dir, "schedule list --json")) == []


_REFUSED = [
    ("schedule add Office", "name"),  # taken
    ("schedule add Shop --rule 'mon-fri 17:00-08:00'", "rules[0]"),
    ("schedule add Shop --rule 'mon 08:00-12:00' --rule 'mon 11:00-13:00'", "rules[1]"),
    ("schedule add Shop --holiday '2026-12-27..2026-12-25'", "holidays[0]"),
    ("schedule add Shop --holiday 'next week'", "holidays[0]"),
    ("schedule set Office", "settings"),
    ("schedule set Office --rule 'mon all day' --no-rules", "rules"),
    ("schedule show Nothing", "name"),
    ("nightswitch Office maybe", "state"),
    ("nightswitch Office on --until '2000-01-01 08:00'", "until"),
    ("nightswitch Office on --until soon", "until"),
    ("nightswitch Office auto --until '2099-01-01 08:00'", "until"),
    ("nightswitch Nothing on", "name"),
    ("route add Main --schedule Nothing --open none --closed none", "schedule"),
    ("route add Main --schedule Office --open user:299 --closed none", "open"),
    ("route add Main --schedule Office --open none --closed external:112", "closed"),
    ("route add Main --schedule Office --open none --closed none --holiday later", "holiday"),
    ("route set Night --open scheduled:Night", "open"),
    ("route set Nothing --open none", "name"),
    ("route remove Nothing", "name"),
    ("number assign 0201234500 --route Nothing", "route"),
]


def test_bad_input_is_one_line_naming_the_field_and_writes_nothing(data_dir: Path) -> None:
    ok(data_dir, "schedule add Office --rule 'mon-fri 08:00-17:00'")
    ok(data_dir, "route add Night --schedule Office --open none --closed none")
    ok(data_dir, "number add 0201234500")
    for line, field in _REFUSED:
        refused(data_dir, line, field)
