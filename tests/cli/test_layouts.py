"""Keys, expansion modules, VLANs and the SIP proxy through the CLI form scripts rely on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from tests.cli.runner import run
from tests.conftest import PreparedDataDir

MAC = "0015654aa937"
SNOM = "000413922d24"


def _prepare(d: Path, info: dict[str, Any]) -> None:
    for ext, name in (("201", "Anna"), ("202", "Bram"), ("203", "Cor")):
        assert run(d, "user", "add", "--extension", ext, "--name", name).exit_code == 0
    assert (
        run(d, "device", "add", "--mac", MAC, "--model", "yealink-t46g", "--user", "201").exit_code
        == 0
    )
    assert (
        run(d, "device", "add", "--mac", SNOM, "--model", "snom-d785", "--user", "202").exit_code
        == 0
    )


@pytest.fixture
def data_dir(tmp_path: Path, prepared_data_dir: PreparedDataDir) -> Path:
    return prepared_data_dir(tmp_path / "data", _prepare)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def config(data_dir: Path, mac: str, name: str) -> str:
    return ok(run(data_dir, "device", "config", mac, name, "--reveal")).output


def test_admin_programs_t46g_with_two_exp40_and_a_personal_layout(data_dir: Path) -> None:
    ok(run(data_dir, "device", "set", MAC, "--expansion-modules", "2"))
    t = ["--model", "yealink-t46g", "--tenant", "default"]
    ok(
        run(
            data_dir,
            "keys",
            "set",
            *t,
            "--key",
            "line:1",
            "--function",
            "line",
            "--target",
            "1",
            "--lock",
        )
    )
    ok(
        run(
            data_dir,
            "keys",
            "set",
            *t,
            "--key",
            "line:2",
            "--function",
            "blf",
            "--target",
            "202",
            "--label",
            "Bram",
        )
    )
    ok(
        run(
            data_dir,
            "keys",
            "set",
            *t,
            "--key",
            "exp:2:21",
            "--function",
            "blf",
            "--target",
            "203",
            "--label",
            "Cor",
        )
    )
    ok(run(data_dir, "keys", "page", *t, "--module", "2", "--page", "2", "--description", "Sales"))
    u = ["--model", "yealink-t46g", "--user", "201"]
    ok(
        run(
            data_dir,
            "keys",
            "set",
            *u,
            "--key",
            "line:5",
            "--function",
            "speed_dial",
            "--target",
            "0612345678",
        )
    )
    ok(run(data_dir, "tenant", "set", "default", "--vlan-lan", "100:5", "--vlan-pc", "200"))
    ok(run(data_dir, "device", "set", MAC, "--vlan-pc", "off"))

    cfg = config(data_dir, MAC, f"{MAC}.cfg")
    assert "linekey.2.type = 16\n" in cfg and "linekey.2.value = 202\n" in cfg
    assert "linekey.2.label = Bram\n" in cfg
    assert "linekey.5.type = 13\n" in cfg and "linekey.5.value = 0612345678\n" in cfg
    assert "expansion_module.2.key.21.type = 16\n" in cfg
    assert "expansion_module.2.key.21.value = 203\n" in cfg
    assert "static.network.vlan.internet_port_vid = 100\n" in cfg
    assert "static.network.vlan.internet_port_priority = 5\n" in cfg
    assert "static.network.vlan.pc_port_enable = 0\n" in cfg

    shown = json.loads(ok(run(data_dir, "keys", "show", "--device", MAC, "--json")).output)
    origins = {k["key"]: k["from"] for k in shown["effective"]}
    assert origins == {
        "line:1": "tenant",
        "line:2": "tenant",
        "exp:2:21": "tenant",
        "line:5": "user",
    }

    locked = run(data_dir, "keys", "set", "--device", MAC, "--key", "line:1", "--function", "dnd")
    assert (
        locked.exit_code == 1
        and "error: key line:1: is locked by the tenant default" in locked.output
    )


def test_d785_with_one_d7_module(data_dir: Path) -> None:
    ok(run(data_dir, "device", "set", SNOM, "--expansion-modules", "1"))
    s = ["--model", "snom-d785", "--tenant", "default"]
    ok(run(data_dir, "keys", "set", *s, "--key", "line:3", "--function", "blf", "--target", "201"))
    ok(
        run(
            data_dir,
            "keys",
            "set",
            *s,
            "--key",
            "exp:1:18",
            "--function",
            "speed_dial",
            "--target",
            "112",
        )
    )
    ok(run(data_dir, "tenant", "set", "default", "--vlan-lan", "100:5", "--lldp", "off"))
    xml = config(data_dir, SNOM, "000413922D24.xml")
    assert 'idx="2"' in xml and "blf sip:201@default.provd.internal|*8" in xml
    assert "speed 112" in xml and 'idx="41"' in xml
    assert '<vlan_id perm="R">100</vlan_id>' in xml
    too_far = run(
        data_dir, "keys", "set", "--device", SNOM, "--key", "exp:2:1", "--function", "dnd"
    )
    assert too_far.exit_code == 1 and "error: key exp:2:1:" in too_far.output


def test_sip_proxy_per_tenant(data_dir: Path) -> None:
    ok(run(data_dir, "tenant", "set", "default", "--sip-proxy", "pbx.example.net:5070"))
    cfg = config(data_dir, MAC, f"{MAC}.cfg")
    assert "account.1.outbound_proxy.1.address = pbx.example.net\n" in cfg
    assert "account.1.outbound_proxy.1.port = 5070\n" in cfg
    ok(run(data_dir, "tenant", "set", "default", "--sip-proxy", "default"))
    assert "account.1.outbound_proxy.1.address = provd.test\n" in config(
        data_dir, MAC, f"{MAC}.cfg"
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["tenant", "set", "default", "--vlan-lan", "4095"], "vlan_lan"),
        (["tenant", "set", "default", "--vlan-pc", "10:8"], "vlan_pc"),
        (["tenant", "set", "default", "--lldp", "maybe"], "lldp"),
        (["tenant", "set", "default", "--sip-proxy", "bad host:99999"], "sip_proxy"),
        (["device", "set", MAC, "--expansion-modules", "7"], "expansion_modules"),
        (["device", "set", SNOM, "--expansion-modules", "4"], "expansion_modules"),
        (["device", "set", MAC, "--vlan-lan", "0"], "vlan_lan"),
        (
            ["keys", "set", "--model", "yealink-t46g", "--key", "line:3", "--function", "dnd"],
            "scope",
        ),
        (["keys", "set", "--tenant", "default", "--key", "line:3", "--function", "dnd"], "model"),
        (
            [
                "keys",
                "set",
                "--tenant",
                "default",
                "--model",
                "yealink-t46g",
                "--key",
                "line:30",
                "--function",
                "dnd",
            ],
            "key line:30",
        ),
        (
            [
                "keys",
                "set",
                "--user",
                "201",
                "--model",
                "yealink-t46g",
                "--key",
                "line:3",
                "--function",
                "blf",
                "--target",
                "299",
            ],
            "key line:3",
        ),
        (["keys", "set", "--device", MAC, "--key", "line:3", "--function", "warp"], "function"),
    ],
)
def test_bad_settings_name_the_field_and_change_nothing(
    data_dir: Path, args: list[str], field: str
) -> None:
    before = (
        run(data_dir, "tenant", "show", "default", "--json").output,
        run(data_dir, "device", "list", "--json").output,
        run(data_dir, "keys", "export", "--tenant", "default", "--model", "yealink-t46g").output,
    )
    result = run(data_dir, *args, "--json")
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout.splitlines()[0])["error"]["field"] == field
    after = (
        run(data_dir, "tenant", "show", "default", "--json").output,
        run(data_dir, "device", "list", "--json").output,
        run(data_dir, "keys", "export", "--tenant", "default", "--model", "yealink-t46g").output,
    )
    assert after == before


def test_layout_export_import_and_clear(data_dir: Path, tmp_path: Path) -> None:
    t = ["--tenant", "default", "--model", "yealink-t46g"]
    ok(run(data_dir, "keys", "set", *t, "--key", "line:4", "--function", "blf", "--target", "203"))
    exported = ok(run(data_dir, "keys", "export", *t)).output
    layout_file = tmp_path / "layout.json"
    layout_file.write_text(exported)
    ok(
        run(
            data_dir, "keys", "import", "--user", "202", "--model", "yealink-t46g", str(layout_file)
        )
    )
    assert json.loads(
        run(data_dir, "keys", "export", "--user", "202", "--model", "yealink-t46g").output
    ) == json.loads(exported)

    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "model": "yealink-t46g",
                "keys": [
                    {"key": "line:1", "function": "dnd"},
                    {"key": "line:99", "function": "dnd"},
                ],
            }
        )
    )
    refused = run(data_dir, "keys", "import", *t, str(bad))
    assert refused.exit_code == 1 and "row 2, key line:99" in refused.output
    assert run(data_dir, "keys", "export", *t).output == exported

    ok(run(data_dir, "keys", "clear", *t, "--key", "line:4"))
    assert json.loads(run(data_dir, "keys", "export", *t).output)["keys"] == []
