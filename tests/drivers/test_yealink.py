from __future__ import annotations

import dataclasses
import random
import re
from typing import Any

import pytest

from provd.domain import service_codes
from provd.domain.catalogue import PhoneModel, Vendor
from provd.domain.keys import KeyFunction, KeyLocation
from provd.domain.mac import Mac, parse_mac
from provd.domain.service_codes import ClearForward, SetDnd, SetForward
from provd.drivers.base import Driver, NotThisDevicesFile, UserAgentInfo
from provd.drivers.context import (
    DeviceContext,
    FirmwareRef,
    Key,
    Line,
    Network,
    SipServer,
    TimeSettings,
    Transport,
    VlanPort,
)
from provd.drivers.registry import CATALOGUE, MODELS, get_model
from provd.drivers.yealink import DRIVER, parse_user_agent
from provd.drivers.yealink.driver import COMMON_BOOT_FILE, DSS_TYPE, UnsafeValue
from tests.golden import assert_golden
from tests.samples import layout_context, sample_context

YEALINK_MODELS = CATALOGUE.of(Vendor.YEALINK)
T46G = get_model("yealink-t46g")
MAC = parse_mac("00:15:65:4a:a9:37")
# "key = value", or "key =" for an empty value.
_KEY_LINE = re.compile(r"(?P<key>[a-z0-9_.]+) =(?: (?P<value>[^\r\n]*))?")

# Typed so that mypy checks the driver against the protocol.
_DRIVER: Driver = DRIVER


def _ctx(**changes: Any) -> DeviceContext:
    return dataclasses.replace(sample_context(T46G), **changes)


def _render(ctx: DeviceContext, filename: str) -> str:
    return DRIVER.render(ctx, filename).decode("utf-8")


def _settings(text: str) -> dict[str, str]:
    """The ``key = value`` lines of a file, checking that no other kind of line slipped in."""
    settings: dict[str, str] = {}
    for line in text.split("\n")[1:]:
        if not line or line.startswith("#") or line.startswith("include:config "):
            continue
        match = _KEY_LINE.fullmatch(line)
        assert match, f"not a key line: {line!r}"
        key = match["key"]
        assert key not in settings, f"{key} set twice"
        settings[key] = match["value"] or ""
    return settings


# --- User-Agent --------------------------------------------------------------


@pytest.mark.parametrize(
    ("ua", "model", "firmware", "mac"),
    [
        ("Yealink SIP-T46G 28.72.0.1 00:15:65:4a:a9:37", "T46G", "28.72.0.1", "0015654aa937"),
        ("Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37", "T46G", "28.83.0.120", "0015654aa937"),
        ("Yealink SIP-T48G 35.72.0.6 00:15:65:5c:60:82", "T48G", "35.72.0.6", "0015655c6082"),
        ("Yealink SIP-T42G 29.72.0.1 00:15:65:4c:3b:b0", "T42G", "29.72.0.1", "0015654c3bb0"),
        ("Yealink SIP-T41P 36.72.0.1 00:15:65:53:83:22", "T41P", "36.72.0.1", "001565538322"),
        ("Yealink SIP-T23G 44.80.0.60 00:15:65:93:70:f2", "T23G", "44.80.0.60", "0015659370f2"),
        # The reference elides these MACs; any device MAC stands in.
        ("Yealink SIP-T27P 45.80.0.25 00:15:65:11:22:33", "T27P", "45.80.0.25", "001565112233"),
        ("Yealink SIP-T40P 54.80.0.10 00:15:65:11:22:34", "T40P", "54.80.0.10", "001565112234"),
        ("Yealink SIP VP-T49G 51.80.0.10 00:15:65:9b:5a:44", "T49G", "51.80.0.10", "0015659b5a44"),
        ("Yealink SIP-T38G  38.70.0.125 00:15:65:2f:c3:5e", "T38G", "38.70.0.125", "0015652fc35e"),
        ("yealink SIP-T28P 2.70.0.140 00:15:65:13:ae:0b", "T28P", "2.70.0.140", "00156513ae0b"),
        (
            "Yealink SIP-T31G 124.85.257.55 80:5e:c0:d5:7d:72",
            "T31G",
            "124.85.257.55",
            "805ec0d57d72",
        ),
        ("Yealink SIP-T34W 124.86.0.75 24:9a:d8:88:d0:f4", "T34W", "124.86.0.75", "249ad888d0f4"),
        ("Yealink SIP-T77U 185.87.0.10 44:db:d2:bd:b5:69", "T77U", "185.87.0.10", "44dbd2bdb569"),
        ("Yealink SIP-T56A  58.80.0.25 001565f429a4", "T56A", "58.80.0.25", "001565f429a4"),
        ("Yealink W52P 25.80.0.15 00:15:65:b8:60:05", "W52P", "25.80.0.15", "001565b86005"),
        ("Yealink W60B 77.81.0.35 80:5e:c0:09:ab:dc", "W60B", "77.81.0.35", "805ec009abdc"),
        ("Yealink W80B 103.83.0.122 80:5e:c0:09:ab:dd", "W80B", "103.83.0.122", "805ec009abdd"),
        # Boot stage: the third field is a hardware version, not a MAC.
        ("Yealink-T46G 28.71.0.81 28.1.0.128.0.0.0", "T46G", "28.71.0.81", None),
        # The SIP User-Agent carries no MAC.
        ("Yealink SIP-T46G 28.82.0.20", "T46G", "28.82.0.20", None),
        (
            "  YEALINK   sip-t46g   28.83.0.120   00:15:65:4A:A9:37  ",
            "T46G",
            "28.83.0.120",
            "0015654aa937",
        ),
        ("Yealink SIP-T46G 28.83.0.120 01:00:5e:00:00:01", "T46G", "28.83.0.120", None),
        ("Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9", "T46G", "28.83.0.120", None),
    ],
)
def test_user_agent(ua: str, model: str, firmware: str, mac: str | None) -> None:
    expected = UserAgentInfo(
        vendor=Vendor.YEALINK,
        model_name=model,
        firmware=firmware,
        mac=Mac(mac) if mac else None,
    )
    assert parse_user_agent(ua) == expected
    assert DRIVER.parse_user_agent(ua) == expected


@pytest.mark.parametrize(
    "ua",
    [
        "",
        " ",
        "Yealink",
        "Yealink SIP-T46G",
        "Yealink SIP-T46G firmware",
        "YealinkSIP-T46G 28.83.0.120 00:15:65:4a:a9:37",
        "NotYealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37",
        "Mozilla/5.0 (X11; Linux x86_64) Yealink SIP-T46G 28.83.0.120",
        "Mozilla/5.0 (compatible; Snom D785 10.1.73.16 000413922D24)",
        "snom785-SIP 10.1.73.16",
        "\x00\r\n\t",
        "Yealink SIP-" + "T" * 10_000 + " 28.83.0.120",
        "Yealink " + " " * 100_000 + "x",
    ],
)
def test_user_agent_not_yealink(ua: str) -> None:
    assert parse_user_agent(ua) is None


def test_user_agent_never_raises_on_noise() -> None:
    rng = random.Random(20240601)
    alphabet = "Yealink SIP-VP T46G 0123456789.:abcdef\r\n\x00\u2028é-"
    for _ in range(2000):
        noise = "".join(rng.choice(alphabet) for _ in range(rng.randrange(60)))
        parse_user_agent(noise)
        parse_user_agent("Yealink SIP-T46G " + noise)


@pytest.mark.parametrize(
    ("ua", "firmware"),
    [
        # Yealink's REGISTER carries the same User-Agent as its HTTP requests.
        ("Yealink SIP-T46G 28.83.0.130", "28.83.0.130"),
        ("Yealink SIP-T54W 96.86.0.100 24:9a:d8:00:00:01", "96.86.0.100"),
        ("snomD785/10.1.33.33", None),
        ("Linphone/5.2", None),
    ],
)
def test_sip_user_agent(ua: str, firmware: str | None) -> None:
    assert DRIVER.sip_firmware(ua) == firmware


# --- File names --------------------------------------------------------------


def test_classify_device_files() -> None:
    boot = DRIVER.classify("0015654aa937.boot")
    cfg = DRIVER.classify("0015654AA937.cfg")
    assert boot is not None and (boot.mac, boot.model) == (MAC, None)
    assert cfg is not None and (cfg.filename, cfg.mac, cfg.model) == ("0015654aa937.cfg", MAC, None)


def test_classify_common_boot_file() -> None:
    request = DRIVER.classify("y000000000000.boot")
    assert request is not None and (request.mac, request.model) == (None, None)


@pytest.mark.parametrize("model", YEALINK_MODELS, ids=lambda m: m.id)
def test_classify_common_file(model: PhoneModel) -> None:
    request = DRIVER.classify(f"y{model.common_id}.cfg")
    assert request is not None
    assert (request.mac, request.model) == (None, model)


def test_common_ids_are_unique() -> None:
    # A shared id would serve one model's common file to another.
    ids = [m.common_id for m in YEALINK_MODELS]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "filename",
    [
        "",
        "0015654aa937-local.cfg",
        "0015654aa937-contact.xml",
        "0015654aa937.xml",
        "0015654aa937.CFG",
        "0015654aa937.cfg\n",
        "0015654aa937.boot.cfg",
        "../0015654aa937.cfg",
        "../x.cfg",
        "/0015654aa937.cfg",
        "a/0015654aa937.cfg",
        "..\\0015654aa937.cfg",
        "0015654aa93.cfg",
        "0015654aa9370.cfg",
        "000000000000.cfg",
        "ffffffffffff.boot",
        "0115654aa937.cfg",
        "y000000000000.cfg",
        "y000000000999.cfg",
        "y00000000028.cfg",
        "y000000000028.boot",
        "y000000000028.cfg.bak",
        "snomD785-000413922D24.htm",
    ],
)
def test_classify_rejects(filename: str) -> None:
    assert DRIVER.classify(filename) is None


def test_filenames_in_fetch_order() -> None:
    assert DRIVER.filenames(MAC, T46G) == (
        "0015654aa937.boot",
        "y000000000028.cfg",
        "0015654aa937.cfg",
    )


# --- Rendering ---------------------------------------------------------------


def test_every_yealink_model_in_catalogue_is_covered() -> None:
    assert {m.id for m in MODELS if m.vendor is Vendor.YEALINK} == {m.id for m in YEALINK_MODELS}
    assert YEALINK_MODELS


@pytest.mark.parametrize("model", YEALINK_MODELS, ids=lambda m: m.id)
def test_files_are_well_formed(model: PhoneModel) -> None:
    ctx = sample_context(model)
    for filename in (*DRIVER.filenames(ctx.mac, model), COMMON_BOOT_FILE):
        data = DRIVER.render(ctx, filename)
        assert data.split(b"\n", 1)[0] == b"#!version:1.0.0.1"
        assert b"\r" not in data and data.endswith(b"\n")
        _settings(data.decode("utf-8"))


def test_common_boot_file_is_the_device_boot_file() -> None:
    ctx = sample_context(T46G)
    assert DRIVER.render(ctx, COMMON_BOOT_FILE) == DRIVER.render(ctx, "0015654aa937.boot")


def test_boot_file_includes_common_then_device_file() -> None:
    lines = _render(sample_context(T46G), "0015654aa937.boot").split("\n")
    includes = [line for line in lines if line.startswith("include:config")]
    assert includes == [
        'include:config "y000000000028.cfg"',
        'include:config "0015654aa937.cfg"',
    ]
    assert "overwrite_mode = 1" in lines


@pytest.mark.parametrize("model", YEALINK_MODELS, ids=lambda m: m.id)
def test_common_file_holds_no_device_data(model: PhoneModel) -> None:
    ctx = sample_context(model)
    common = _render(ctx, f"y{model.common_id}.cfg")
    private = [
        ctx.mac,
        ctx.provisioning.base_url,
        ctx.provisioning.username,
        ctx.provisioning.password,
        ctx.admin_password,
        ctx.sip_proxy.host,
    ]
    for line in ctx.lines:
        private += [line.password, line.domain, line.display_name, line.label]
    for value in private:
        assert value not in common
    assert not any("password" in key or "url" in key for key in _settings(common))


# What the phone dials when the user switches each feature on (a forward's target
# follows its on code) and off, as provd reads it back.
_PHONE_FEATURES = {
    "dnd": (SetDnd(True), SetDnd(False)),
    "always_fwd": (SetForward("always", "3603"), ClearForward("always")),
    "busy_fwd": (SetForward("busy", "3603"), ClearForward("busy")),
    "timeout_fwd": (SetForward("no-answer", "3603"), ClearForward("no-answer")),
}


@pytest.mark.parametrize("model", YEALINK_MODELS, ids=lambda m: m.id)
def test_dnd_and_forward_dial_provd_service_codes(model: PhoneModel) -> None:
    ctx = sample_context(model)
    settings = _settings(_render(ctx, f"y{model.common_id}.cfg"))
    # Per-account codes are read only in custom mode.
    assert settings["features.dnd_mode"] == "1"
    assert settings["features.fwd_mode"] == "1"
    for slot in range(1, model.accounts + 1):
        for feature, (switched_on, switched_off) in _PHONE_FEATURES.items():
            target = "" if feature == "dnd" else "3603"
            on_code = settings[f"account.{slot}.{feature}.on_code"]
            assert service_codes.parse(on_code + target) == switched_on
            assert service_codes.parse(settings[f"account.{slot}.{feature}.off_code"]) == (
                switched_off
            )
    device = _settings(_render(ctx, f"{ctx.mac}.cfg"))
    assert not any(key.endswith("_code") or key.endswith("_mode") for key in device)


def test_device_file_settings() -> None:
    settings = _settings(_render(sample_context(T46G), "0015654aa937.cfg"))
    assert settings["static.auto_provision.server.url"] == "https://provd.example.net:8443/"
    assert settings["static.auto_provision.server.password"] == "Pr0v&<Secret>\"'x"
    assert settings["static.auto_provision.pnp_enable"] == "0"
    assert settings["static.security.user_password"] == "admin:Adm1n-R4nd0m_pw"
    assert settings["sip.notify_reboot_enable"] == "0"
    assert settings["account.2.display_name"] == "Jan & Piet <Sales>"
    assert settings["account.2.sip_server.1.address"] == "acme.example.net"
    assert settings["account.2.outbound_proxy.1.address"] == "sip.example.net"
    assert [settings[f"account.{n}.enable"] for n in range(1, 17)] == ["1"] * 2 + ["0"] * 14
    assert "account.17.enable" not in settings


def test_removed_line_is_disabled() -> None:
    ctx = sample_context(T46G)
    settings = _settings(_render(_ctx(lines=ctx.lines[1:]), "0015654aa937.cfg"))
    assert settings["account.1.enable"] == "0"
    assert "account.1.password" not in settings
    assert settings["account.2.enable"] == "1"


def test_transport_and_port_follow_the_proxy() -> None:
    proxy = SipServer(host="edge.example.net", port=5061, transport=Transport.TLS)
    settings = _settings(_render(_ctx(sip_proxy=proxy), "0015654aa937.cfg"))
    assert settings["account.1.sip_server.1.transport_type"] == "2"
    assert settings["account.1.sip_server.1.port"] == "5061"
    assert settings["account.1.outbound_proxy.1.port"] == "5061"


@pytest.mark.parametrize(
    ("zone", "offset", "name", "summer"),
    [
        ("UTC", "0", "United Kingdom(London)", "0"),
        ("Europe/London", "0", "United Kingdom(London)", "2"),
        ("Europe/Berlin", "+1", "Germany(Berlin)", "2"),
    ],
)
def test_time_zone(zone: str, offset: str, name: str, summer: str) -> None:
    ctx = _ctx(time=TimeSettings(timezone=zone, ntp_servers=("a.ntp", "b.ntp", "c.ntp")))
    settings = _settings(_render(ctx, "0015654aa937.cfg"))
    assert settings["local_time.time_zone"] == offset
    assert settings["local_time.time_zone_name"] == name
    assert settings["local_time.summer_time"] == summer
    assert (settings["local_time.ntp_server1"], settings["local_time.ntp_server2"]) == (
        "a.ntp",
        "b.ntp",
    )
    assert "local_time.ntp_server3" not in settings


@pytest.mark.parametrize("evil", ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\x0b", "\x00"])
def test_display_name_cannot_add_a_line(evil: str) -> None:
    clean = sample_context(T46G)
    injected = "static.auto_provision.server.url = http://attacker.example/"
    line = dataclasses.replace(
        clean.lines[0],
        display_name=f"Front Desk{evil}{injected}",
        label=f"201{evil}account.1.password = x",
    )
    ctx = _ctx(lines=(line, clean.lines[1]))
    text = _render(ctx, "0015654aa937.cfg")
    settings = _settings(text)
    assert settings.keys() == _settings(_render(clean, "0015654aa937.cfg")).keys()
    assert settings["static.auto_provision.server.url"] == "https://provd.example.net:8443/"
    assert settings["account.1.password"] == "S1p-Pass_word1"
    assert settings["account.1.display_name"] == f"Front Desk {injected}"
    assert len(text.splitlines()) == text.count("\n")


@pytest.mark.parametrize("field", ["password", "domain", "extension", "auth_user"])
def test_line_breaks_in_other_values_are_refused(field: str) -> None:
    clean = sample_context(T46G)
    bad: dict[str, Any] = {field: "x\nsip.notify_reboot_enable = 1"}
    line = dataclasses.replace(clean.lines[0], **bad)
    with pytest.raises(UnsafeValue) as excinfo:
        DRIVER.render(_ctx(lines=(line,)), "0015654aa937.cfg")
    assert "x\n" not in str(excinfo.value)


def test_admin_password_with_line_break_is_refused() -> None:
    with pytest.raises(UnsafeValue):
        DRIVER.render(_ctx(admin_password="pw\r\nx = 1"), "0015654aa937.cfg")


def test_render_refuses_files_of_other_devices() -> None:
    ctx = sample_context(T46G)
    other = get_model("yealink-t48g")
    for filename in ["001565000001.cfg", "001565000001.boot", f"y{other.common_id}.cfg", "x.cfg"]:
        with pytest.raises(NotThisDevicesFile):
            DRIVER.render(ctx, filename)


def test_render_accepts_upper_case_mac() -> None:
    ctx = sample_context(T46G)
    assert DRIVER.render(ctx, "0015654AA937.cfg") == DRIVER.render(ctx, "0015654aa937.cfg")


def test_inconsistent_lines_are_refused() -> None:
    clean = sample_context(T46G)
    same_slot = dataclasses.replace(clean.lines[1], slot=1)
    too_high = dataclasses.replace(clean.lines[1], slot=T46G.accounts + 1)
    for lines in [(clean.lines[0], same_slot), (too_high,)]:
        with pytest.raises(ValueError):
            DRIVER.render(_ctx(lines=lines), "0015654aa937.cfg")


def test_render_is_deterministic() -> None:
    line = Line(
        slot=3,
        extension="203",
        display_name="Zoë",
        auth_user="203",
        password="Pw-203_abc",
        domain="acme.example.net",
        label="203",
    )
    ctx = _ctx(lines=(line, *sample_context(T46G).lines))
    first = DRIVER.render(ctx, "0015654aa937.cfg")
    assert first == DRIVER.render(ctx, "0015654aa937.cfg")
    settings = _settings(first.decode("utf-8"))
    assert settings["account.3.display_name"] == "Zoë"
    keys = [k for k in settings if k.endswith(".enable") and k.startswith("account.")]
    assert keys == [f"account.{n}.enable" for n in range(1, 17)]


# --- Keys, expansion modules, VLAN -------------------------------------------

DEVICE_FILE = "0015654aa937.cfg"
_KEY_FIELDS = ("type", "line", "value", "label", "extension", "pickup_value")


def _device_settings(ctx: DeviceContext) -> dict[str, str]:
    return _settings(_render(ctx, DEVICE_FILE))


def _key(prefix: str, settings: dict[str, str]) -> dict[str, str]:
    return {field: settings[f"{prefix}.{field}"] for field in _KEY_FIELDS}


def _unset(line: str = "1") -> dict[str, str]:
    return {
        "type": "0",
        "line": line,
        "value": "",
        "label": "",
        "extension": "",
        "pickup_value": "",
    }


def _with_keys(*keys: Key, **changes: Any) -> DeviceContext:
    return _ctx(keys=keys, **changes)


@pytest.mark.parametrize("model", YEALINK_MODELS, ids=lambda m: m.id)
def test_layout_golden(model: PhoneModel) -> None:
    ctx = layout_context(model)
    for filename in DRIVER.filenames(ctx.mac, model):
        assert_golden(f"yealink/{model.id}/layout/{filename}", DRIVER.render(ctx, filename))


@pytest.mark.parametrize("model", YEALINK_MODELS, ids=lambda m: m.id)
def test_layout_files_are_well_formed(model: PhoneModel) -> None:
    data = DRIVER.render(layout_context(model), DEVICE_FILE)
    assert data.split(b"\n", 1)[0] == b"#!version:1.0.0.1"
    assert b"\r" not in data and data.endswith(b"\n")
    assert not any(line.endswith(b" ") for line in data.split(b"\n") if b".label" in line)
    _settings(data.decode("utf-8"))


def test_every_key_function_has_a_dss_type() -> None:
    assert set(DSS_TYPE) == set(KeyFunction)


@pytest.mark.parametrize(
    ("function", "code", "value"),
    [
        (KeyFunction.LINE, "15", ""),
        (KeyFunction.BLF, "16", "203"),
        (KeyFunction.BLF, "16", "*915"),  # the night switch's lamp
        (KeyFunction.SPEED_DIAL, "13", "+31201234567"),
        (KeyFunction.PARK, "10", "700"),
        (KeyFunction.PICKUP, "9", "204"),
        (KeyFunction.GROUP_PICKUP, "23", ""),
        (KeyFunction.DND, "5", ""),
        (KeyFunction.TRANSFER, "3", "0612345678"),
        (KeyFunction.TRANSFER, "3", ""),
        (KeyFunction.FORWARD, "2", "0612345678"),
        (KeyFunction.VOICEMAIL, "12", ""),
        (KeyFunction.INTERCOM, "14", "205"),
        (KeyFunction.URL, "17", "https://intranet.example.net/a?b=1&c=2"),
        (KeyFunction.DTMF, "11", "*3#"),
        (KeyFunction.NONE, "0", ""),
    ],
)
def test_dss_mapping(function: KeyFunction, code: str, value: str) -> None:
    # A LINE key's value is its slot; the slot goes to ``line`` and the value stays empty.
    target = "2" if function is KeyFunction.LINE else value
    key = Key(KeyLocation(0, 5), function, target, "My key", line=2)
    settings = _device_settings(_with_keys(key, pickup_code="**"))
    blf = function is KeyFunction.BLF
    assert _key("linekey.5", settings) == {
        "type": code,
        "line": "2",
        "value": value,
        "label": "My key",
        "extension": "**" if blf else "",
        "pickup_value": "**" if blf else "",
    }


def test_dss_mapping_on_an_expansion_module() -> None:
    key = Key(KeyLocation(2, 40), KeyFunction.BLF, "310", "Sales", line=1)
    settings = _device_settings(_with_keys(key, expansion_modules=2))
    assert _key("expansion_module.2.key.40", settings) == {
        "type": "16",
        "line": "1",
        "value": "310",
        "label": "Sales",
        "extension": "*8",
        "pickup_value": "*8",
    }


def test_unset_keys_are_rendered_empty() -> None:
    ctx = layout_context(T46G)
    settings = _device_settings(ctx)
    used = {k.location for k in ctx.keys}
    for n in range(1, T46G.line_keys + 1):
        if KeyLocation(0, n) not in used:
            assert _key(f"linekey.{n}", settings) == _unset(), n
    for m in (1, 2):
        for n in range(1, 41):
            if KeyLocation(m, n) not in used:
                assert _key(f"expansion_module.{m}.key.{n}", settings) == _unset(), (m, n)


def test_key_removed_from_layout_is_cleared() -> None:
    ctx = layout_context(T46G)
    before = _device_settings(ctx)
    assert before["linekey.3.type"] == "16"
    keys = tuple(k for k in ctx.keys if k.location != KeyLocation(0, 3))
    after = _device_settings(dataclasses.replace(ctx, keys=keys))
    assert _key("linekey.3", after) == _unset()
    # Nothing else moved.
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {f"linekey.3.{f}" for f in _KEY_FIELDS} - {"linekey.3.line"}


@pytest.mark.parametrize("model", YEALINK_MODELS, ids=lambda m: m.id)
def test_every_key_of_model_and_attached_modules_is_rendered(model: PhoneModel) -> None:
    assert model.expansion is not None
    settings = _device_settings(layout_context(model))
    linekeys = [k for k in settings if k.startswith("linekey.") and k.endswith(".type")]
    assert linekeys == [f"linekey.{n}.type" for n in range(1, model.line_keys + 1)]
    module_keys = [k for k in settings if k.startswith("expansion_module.") and k.endswith(".type")]
    assert module_keys == [
        f"expansion_module.{m}.key.{n}.type"
        for m in (1, 2)
        for n in range(1, model.expansion.keys + 1)
    ]


def test_module_counts_per_family() -> None:
    # EXP40 on T4x: 40 keys (2 pages of 20); EXP50 on T5x: 60 keys (3 pages of 20).
    for model_id, line_keys, module_keys in [
        ("yealink-t46g", 27, 40),
        ("yealink-t48g", 29, 40),
        ("yealink-t46s", 27, 40),
        ("yealink-t48s", 29, 40),
        ("yealink-t54w", 27, 60),
        ("yealink-t57w", 29, 60),
    ]:
        settings = _device_settings(layout_context(get_model(model_id)))
        types = [k for k in settings if k.endswith(".type")]
        assert len(types) == line_keys + 2 * module_keys, model_id


def test_keys_on_modules_not_attached_are_not_rendered() -> None:
    keys = (
        Key(KeyLocation(1, 1), KeyFunction.BLF, "301", "On module 1"),
        Key(KeyLocation(3, 1), KeyFunction.BLF, "303", "On module 3"),
    )
    settings = _device_settings(_with_keys(*keys, expansion_modules=2))
    assert settings["expansion_module.1.key.1.value"] == "301"
    assert not any(k.startswith("expansion_module.3.") for k in settings)
    assert "303" not in settings.values()


def test_no_module_attached_renders_no_module_keys() -> None:
    ctx = dataclasses.replace(layout_context(T46G), expansion_modules=0)
    settings = _device_settings(ctx)
    assert not any(k.startswith("expansion_module.") for k in settings)
    assert settings["linekey.3.type"] == "16"


def test_keys_beyond_the_model_are_not_rendered() -> None:
    key = Key(KeyLocation(0, T46G.line_keys + 1), KeyFunction.BLF, "299", "Too far")
    settings = _device_settings(_with_keys(key))
    assert f"linekey.{T46G.line_keys + 1}.type" not in settings
    assert "299" not in settings.values()


@pytest.mark.parametrize("modules", [-1, 7])
def test_impossible_module_count_is_refused(modules: int) -> None:
    with pytest.raises(ValueError, match="expansion modules"):
        DRIVER.render(_ctx(expansion_modules=modules), DEVICE_FILE)


def test_two_keys_at_one_location_are_refused() -> None:
    keys = (
        Key(KeyLocation(0, 3), KeyFunction.BLF, "203", "A"),
        Key(KeyLocation(0, 3), KeyFunction.DND, "", "B"),
    )
    with pytest.raises(ValueError, match="line:3"):
        DRIVER.render(_with_keys(*keys), DEVICE_FILE)


@pytest.mark.parametrize("line", [0, 17])
def test_key_on_a_line_the_model_lacks_is_refused(line: int) -> None:
    key = Key(KeyLocation(0, 3), KeyFunction.BLF, "203", "A", line=line)
    with pytest.raises(ValueError, match="line:3"):
        DRIVER.render(_with_keys(key), DEVICE_FILE)


def test_without_a_layout_the_lines_get_line_keys() -> None:
    settings = _device_settings(sample_context(T46G))
    assert _key("linekey.1", settings) == {**_unset(), "type": "15", "line": "1"}
    assert _key("linekey.2", settings) == {**_unset(), "type": "15", "line": "2"}
    for n in range(3, T46G.line_keys + 1):
        assert _key(f"linekey.{n}", settings) == _unset(), n
    assert not any(k.startswith("expansion_module.") for k in settings)


def test_without_a_layout_a_gap_in_slots_leaves_no_key_on_a_disabled_account() -> None:
    clean = sample_context(T46G)
    moved = dataclasses.replace(clean.lines[1], slot=5)
    settings = _device_settings(_ctx(lines=(moved, clean.lines[0])))
    assert (settings["linekey.1.type"], settings["linekey.1.line"]) == ("15", "1")
    assert (settings["linekey.2.type"], settings["linekey.2.line"]) == ("15", "5")
    assert settings["linekey.3.type"] == "0"


def test_without_a_layout_or_lines_every_key_is_unset() -> None:
    settings = _device_settings(_ctx(lines=(), expansion_modules=1))
    types = {v for k, v in settings.items() if k.endswith(".type")}
    assert types == {"0"}
    assert len([k for k in settings if k.endswith(".type")]) == T46G.line_keys + 40


def test_page_labels_are_not_sent() -> None:
    ctx = layout_context(T46G)
    assert ctx.page_labels
    text = _render(ctx, DEVICE_FILE)
    assert "Module 1 page 1" not in text
    assert not any(".page" in k for k in _settings(text))
    # Page labels alone change nothing.
    assert text == _render(dataclasses.replace(ctx, page_labels=()), DEVICE_FILE)


def test_vlan_off_by_default() -> None:
    settings = _device_settings(sample_context(T46G))
    network = {k: v for k, v in settings.items() if k.startswith("static.network.")}
    assert network == {
        "static.network.vlan.internet_port_enable": "0",
        "static.network.vlan.pc_port_enable": "0",
        "static.network.lldp.enable": "1",
    }


def test_vlan_on() -> None:
    settings = _device_settings(layout_context(T46G))
    network = {k: v for k, v in settings.items() if k.startswith("static.network.")}
    assert network == {
        "static.network.vlan.internet_port_enable": "1",
        "static.network.vlan.internet_port_vid": "100",
        "static.network.vlan.internet_port_priority": "5",
        "static.network.vlan.pc_port_enable": "1",
        "static.network.vlan.pc_port_vid": "200",
        "static.network.vlan.pc_port_priority": "0",
        "static.network.lldp.enable": "0",
    }


def test_vlan_on_one_port_only() -> None:
    settings = _device_settings(_ctx(network=Network(pc_vlan=VlanPort(4094, 7))))
    assert settings["static.network.vlan.internet_port_enable"] == "0"
    assert "static.network.vlan.internet_port_vid" not in settings
    assert settings["static.network.vlan.pc_port_enable"] == "1"
    assert settings["static.network.vlan.pc_port_vid"] == "4094"
    assert settings["static.network.vlan.pc_port_priority"] == "7"


@pytest.mark.parametrize("port", ["lan_vlan", "pc_vlan"])
@pytest.mark.parametrize(("vid", "priority"), [(0, 0), (4095, 0), (1, -1), (1, 8)])
def test_vlan_out_of_range_is_refused(port: str, vid: int, priority: int) -> None:
    bad: dict[str, Any] = {port: VlanPort(vid, priority)}
    with pytest.raises(ValueError, match="VLAN"):
        DRIVER.render(_ctx(network=Network(**bad)), DEVICE_FILE)


@pytest.mark.parametrize("evil", ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\x0b", "\x00"])
def test_key_label_cannot_add_a_line(evil: str) -> None:
    injected = "static.auto_provision.server.url = http://attacker.example/"
    clean = (
        Key(KeyLocation(0, 3), KeyFunction.BLF, "203", "Reception"),
        Key(KeyLocation(1, 1), KeyFunction.SPEED_DIAL, "112", "Emergency"),
    )
    evil_keys = (
        dataclasses.replace(clean[0], label=f"Reception{evil}{injected}"),
        dataclasses.replace(clean[1], label=f"Emergency{evil}linekey.1.type = 17"),
    )
    text = _render(_with_keys(*evil_keys, expansion_modules=1), DEVICE_FILE)
    settings = _settings(text)
    assert settings.keys() == _device_settings(_with_keys(*clean, expansion_modules=1)).keys()
    assert settings["static.auto_provision.server.url"] == "https://provd.example.net:8443/"
    assert settings["linekey.3.label"] == f"Reception {injected}"
    assert settings["linekey.1.type"] == "0"
    assert len(text.splitlines()) == text.count("\n")


@pytest.mark.parametrize(
    ("function", "value"),
    [
        (KeyFunction.URL, "https://intranet.example.net/\nstatic.auto_provision.server.url = x"),
        (KeyFunction.SPEED_DIAL, "112\r\nlinekey.1.type = 17"),
        (KeyFunction.DTMF, "*3\u2028x = 1"),
        (KeyFunction.BLF, "203\x85x = 1"),
    ],
)
def test_line_breaks_in_key_values_are_refused(function: KeyFunction, value: str) -> None:
    key = Key(KeyLocation(0, 4), function, value, "Label")
    with pytest.raises(UnsafeValue):
        DRIVER.render(_with_keys(key), DEVICE_FILE)


def test_line_break_in_pickup_code_is_refused() -> None:
    key = Key(KeyLocation(0, 4), KeyFunction.BLF, "203", "Label")
    with pytest.raises(UnsafeValue):
        DRIVER.render(_with_keys(key, pickup_code="*8\nx = 1"), DEVICE_FILE)


# --- Firmware ----------------------------------------------------------------

T46G_ROM = "T46-28.83.0.120.rom"
FIRMWARE = FirmwareRef(
    "28.83.0.120",
    f"https://provd.example.net:8443/firmware/{'ab' * 32}/{T46G_ROM}",
    T46G_ROM,
)


def test_golden_firmware() -> None:
    ctx = _ctx(firmware=FIRMWARE)
    for filename in DRIVER.filenames(ctx.mac, T46G):
        assert_golden(f"yealink/{T46G.id}/firmware/{filename}", DRIVER.render(ctx, filename))


def test_firmware_url_goes_into_the_device_file_only() -> None:
    ctx = _ctx(firmware=FIRMWARE)
    settings = _settings(_render(ctx, "0015654aa937.cfg"))
    assert settings["static.firmware.url"] == FIRMWARE.url
    for other in ("0015654aa937.boot", "y000000000028.cfg"):
        assert FIRMWARE.url not in _render(ctx, other)


def test_no_firmware_no_firmware_key() -> None:
    settings = _settings(_render(sample_context(T46G), "0015654aa937.cfg"))
    assert not any("firmware" in key for key in settings)


def test_firmware_url_with_a_line_break_is_refused() -> None:
    bad = dataclasses.replace(FIRMWARE, url=FIRMWARE.url + "\nstatic.x = 1")
    with pytest.raises(UnsafeValue):
        DRIVER.render(_ctx(firmware=bad), "0015654aa937.cfg")


def test_check_sync_resyncs_or_reboots_as_the_device_file_allows() -> None:
    # sip.notify_reboot_enable = 0 in the device file: reboot= decides.
    assert "sip.notify_reboot_enable = 0" in _render(sample_context(T46G), "0015654aa937.cfg")
    assert DRIVER.check_sync_event(reboot=False) == "check-sync;reboot=false"
    assert DRIVER.check_sync_event(reboot=True) == "check-sync;reboot=true"
