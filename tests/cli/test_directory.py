"""``provd tenant …`` and ``provd user …`` as scripts use them."""

from __future__ import annotations

import json
from pathlib import Path

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
