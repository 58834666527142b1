from __future__ import annotations

import dataclasses
import random
import re
from typing import Any

import pytest

from provd.domain.catalogue import MODELS, PhoneModel, Vendor, get_model, models_of
from provd.domain.mac import Mac, parse_mac
from provd.drivers.base import Driver, UserAgentInfo
from provd.drivers.context import DeviceContext, Line, SipServer, TimeSettings, Transport
from provd.drivers.yealink import DRIVER, parse_user_agent
from provd.drivers.yealink.driver import COMMON_BOOT_FILE, UnsafeValue
from tests.golden import assert_golden
from tests.samples import sample_context

YEALINK_MODELS = models_of(Vendor.YEALINK)
T46G = get_model("yealink-t46g")
MAC = parse_mac("00:15:65:4a:a9:37")
_KEY_LINE = re.compile(r"[a-z0-9_.]+ = [^\r\n]*")

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
        assert _KEY_LINE.fullmatch(line), f"not a key line: {line!r}"
        key, _, value = line.partition(" = ")
        assert key not in settings, f"{key} set twice"
        settings[key] = value
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


def test_filenames_refuse_other_vendors() -> None:
    with pytest.raises(ValueError):
        DRIVER.filenames(MAC, get_model("snom-d785"))


# --- Rendering ---------------------------------------------------------------


@pytest.mark.parametrize("model", YEALINK_MODELS, ids=lambda m: m.id)
def test_golden(model: PhoneModel) -> None:
    ctx = sample_context(model)
    for filename in DRIVER.filenames(ctx.mac, model):
        assert_golden(f"yealink/{model.id}/{filename}", DRIVER.render(ctx, filename))


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
        with pytest.raises(KeyError):
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
