"""The PBX's site options are one table (``PBX_OPTIONS``, read from :class:`PbxSettings`):
``provd serve``, ``python -m provd.pbx`` and the dataclass must agree on every name,
default and environment variable. They once disagreed on ``with_blf`` (on for ``serve``,
off for the other two), so a container's ``export`` and its ``serve --pbx-external``
wrote different Kamailio configurations into the same directory."""

from __future__ import annotations

import argparse
import re
from dataclasses import fields
from pathlib import Path

import click
import pytest

from provd.cli.lifecycle import pbx_runtime, serve
from provd.domain.errors import InvalidInput
from provd.pbx.__main__ import parser, settings_from_args
from provd.pbx.settings import PBX_OPTIONS, PbxSettings
from provd.settings import Settings

ROOT = Path(__file__).resolve().parents[1]

# serve's own options, not the PBX's site settings.
SERVE_ONLY = {"PROVD_PBX_RPC_URL", "PROVD_PBX_EXPORT_DIR"}

# A value for every option, none of them its default, valid together.
NON_DEFAULT = {
    "sip_address": "192.0.2.10",
    "sip_port": "5070",
    "advertised_address": "198.51.100.7",
    "rpc_address": "127.0.0.2",
    "rpc_port": "5082",
    "route_address": "127.0.0.4",
    "route_port": "5090",
    "rtpengine_ng_address": "127.0.0.3",
    "rtpengine_ng_port": "2224",
    "media_address": "192.0.2.11",
    "media_advertised_address": "198.51.100.8",
    "rtp_port_min": "40000",
    "rtp_port_max": "40999",
    "children": "8",
    "flood_limit": "off",
    "with_blf": "0",
    "media_app_address": "127.0.0.5",
    "media_app_port": "5091",
    "media_app": "0",
    "media_app_rtp_min": "45000",
    "media_app_rtp_max": "45999",
}


@pytest.fixture(autouse=True)
def _no_pbx_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for option in PBX_OPTIONS:
        monkeypatch.delenv(option.env, raising=False)


def _from_module(data_dir: Path, *argv: str) -> PbxSettings:
    args = parser().parse_args(["--data-dir", str(data_dir), *argv, "run"])
    return settings_from_args(args)


def _from_serve(data_dir: Path, *argv: str) -> PbxSettings:
    ctx = serve.make_context("serve", ["--pbx", *argv])
    runtime, _ = pbx_runtime(data_dir, Settings(), dict(ctx.params))
    assert runtime is not None
    return runtime.settings


def _click_params() -> dict[str, click.Parameter]:
    return {
        p.name: p
        for p in serve.params
        if p.name is not None
        and isinstance(p, click.Option)
        and isinstance(p.envvar, str)
        and p.envvar.startswith("PROVD_PBX_")
        and p.envvar not in SERVE_ONLY
    }


def _argparse_actions() -> dict[str, argparse.Action]:
    return {a.dest: a for a in parser()._actions if a.option_strings and a.dest in NON_DEFAULT}


def test_the_table_covers_what_both_commands_take() -> None:
    names = {o.name for o in PBX_OPTIONS}
    assert names == set(NON_DEFAULT)
    assert set(_click_params()) == names
    assert set(_argparse_actions()) == names
    # Every field an operator can set is in the table; the rest are provd's own choices.
    assert names <= {f.name for f in fields(PbxSettings)}


def test_both_commands_default_to_the_dataclass_defaults(tmp_path: Path) -> None:
    # serve's SIP address is this host's when not given; with the table's, the media
    # address (the SIP one for serve) comes out the same too.
    expected = PbxSettings(tmp_path)
    assert _from_module(tmp_path) == expected
    assert _from_serve(tmp_path, "--sip-address", expected.sip_address) == expected
    assert expected.with_blf is True


def test_each_option_has_the_same_flag_default_and_variable_everywhere() -> None:
    params, actions = _click_params(), _argparse_actions()
    given = serve.make_context("serve", []).params
    defaults = {f.name: f.default for f in fields(PbxSettings)}
    for option in PBX_OPTIONS:
        assert option.default == defaults[option.name]
        assert option.env == "PROVD_PBX_" + option.name.upper()
        param, action = params[option.name], actions[option.name]
        assert param.envvar == option.env
        assert f"--{option.flag}" in action.option_strings
        assert option.parse(action.default) == option.default
        if option.name not in ("sip_address", "media_address"):  # serve: this host's
            assert option.parse(given[option.name]) == option.default, option.name


def test_every_variable_reaches_both_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for option in PBX_OPTIONS:
        monkeypatch.setenv(option.env, NON_DEFAULT[option.name])
    for settings in (_from_module(tmp_path), _from_serve(tmp_path)):
        for option in PBX_OPTIONS:
            value = getattr(settings, option.name)
            assert value == option.parse(NON_DEFAULT[option.name]), option.name
            assert value != option.default, option.name


def test_every_flag_reaches_both_commands(tmp_path: Path) -> None:
    module_argv: list[str] = []
    serve_argv: list[str] = []
    for option in PBX_OPTIONS:
        value = NON_DEFAULT[option.name]
        if option.kind is bool:
            assert option.parse(value) is False
            module_argv.append(f"--no-{option.flag}")
            serve_argv.append(f"--no-{option.serve_flag}")
        else:
            module_argv += [f"--{option.flag}", value]
            serve_argv += [f"--{option.serve_flag}", value]
    for settings in (_from_module(tmp_path, *module_argv), _from_serve(tmp_path, *serve_argv)):
        for option in PBX_OPTIONS:
            assert getattr(settings, option.name) == option.parse(NON_DEFAULT[option.name])


def test_the_docker_files_name_only_known_variables() -> None:
    known = {o.env for o in PBX_OPTIONS} | SERVE_ONLY
    text = "\n".join(
        (ROOT / "docker" / name).read_text()
        for name in ("env.example", "compose.yaml", "provd-entrypoint.sh", "rtpengine-run.sh")
    )
    used = set(re.findall(r"PROVD_PBX_[A-Z_]+", text))
    assert used, "the docker files no longer configure the PBX by environment"
    assert used <= known


def test_compose_passes_unset_addresses_as_empty_strings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVD_PBX_ADVERTISED_ADDRESS", "")
    monkeypatch.setenv("PROVD_PBX_MEDIA_ADVERTISED_ADDRESS", "")
    monkeypatch.setenv("PROVD_PBX_RPC_PORT", "5081")
    settings = _from_module(tmp_path)
    assert settings.advertised_address is None
    assert settings.media_advertised_address is None


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("flood_limit", "0", None),
        ("flood_limit", "off", None),
        ("flood_limit", "150", 150),
        ("with_blf", "yes", True),
        ("with_blf", "off", False),
        ("sip_port", " 5062 ", 5062),
    ],
)
def test_values_are_read_alike_from_flags_and_variables(name: str, raw: str, value: object) -> None:
    [option] = [o for o in PBX_OPTIONS if o.name == name]
    assert option.parse(raw) == value


@pytest.mark.parametrize(("name", "raw"), [("sip_port", "fifty"), ("with_blf", "maybe")])
def test_a_bad_value_names_its_option(name: str, raw: str) -> None:
    [option] = [o for o in PBX_OPTIONS if o.name == name]
    with pytest.raises(InvalidInput) as e:
        option.parse(raw)
    assert e.value.field == name
