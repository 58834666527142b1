from __future__ import annotations

import dataclasses
import random
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from provd.domain.catalogue import PhoneModel, Vendor
from provd.domain.keys import KeyFunction, KeyLocation
from provd.domain.mac import parse_mac
from provd.domain.timezones import ZONES, Zone
from provd.drivers.base import Driver, FileRequest, NotThisDevicesFile, UserAgentInfo
from provd.drivers.context import (
    DeviceContext,
    FirmwareRef,
    Key,
    Line,
    Network,
    PageLabel,
    SipServer,
    TimeSettings,
    Transport,
    VlanPort,
)
from provd.drivers.registry import MODELS, get_model
from provd.drivers.snom import DRIVER, parse_user_agent
from provd.drivers.snom.driver import UnsafeValue
from provd.drivers.snom.timezones import NOTATION
from tests.golden import GOLDEN_DIR, assert_golden
from tests.samples import SAMPLE_MACS, layout_context, sample_context

SNOM_MODELS = tuple(m for m in MODELS if m.vendor is Vendor.SNOM)
D785 = get_model("snom-d785")
D315 = get_model("snom-d315")
MAC = SAMPLE_MACS[Vendor.SNOM]
BASE_URL = "https://provd.example.net:8443/"
TRICKY = "Jan & Piet <Sales> \"quoted\" 'single'"

D785_BIN = "snomD785-10.1.215.13-SIP-r.bin"
FIRMWARE = FirmwareRef(
    "10.1.215.13", f"{BASE_URL}firmware/{'cd' * 32}/{D785_BIN}?a=1&b=2", D785_BIN
)
FIRMWARE_FILE = "snomD785-000413922D24-firmware.xml"

# Typed so that mypy checks the driver against the protocol.
_DRIVER: Driver = DRIVER


def _ctx(model: PhoneModel = D785, **changes: Any) -> DeviceContext:
    return dataclasses.replace(sample_context(model), **changes)


def _line(slot: int, **changes: Any) -> Line:
    line = Line(
        slot=slot,
        extension=f"{200 + slot}",
        display_name=f"User {slot}",
        auth_user=f"auth{slot}",
        password=f"pw-{slot}",
        domain="acme.example.net",
        label=f"Line {slot}",
    )
    return dataclasses.replace(line, **changes)


def _device_xml(ctx: DeviceContext) -> ET.Element:
    return ET.fromstring(DRIVER.render(ctx, f"{ctx.mac.upper()}.xml"))


def _setting(root: ET.Element, name: str, idx: int | None = None) -> ET.Element:
    path = f"./phone-settings/{name}" + (f"[@idx='{idx}']" if idx is not None else "")
    found = root.findall(path)
    assert len(found) == 1, f"{name} idx={idx} appears {len(found)} times"
    return found[0]


def _value(root: ET.Element, name: str, idx: int | None = None) -> str:
    return _setting(root, name, idx).text or ""


def _fkeys(root: ET.Element) -> dict[int, ET.Element]:
    return {int(key.attrib["idx"]): key for key in root.findall("./functionKeys/fkey")}


# --- User-Agent --------------------------------------------------------------


@pytest.mark.parametrize(
    ("ua", "model", "firmware", "mac", "modules"),
    [
        # vendor-facts B1, every row that names a model
        (
            "Mozilla/4.0 (compatible; snom710-SIP 8.7.5.35 1.1.5-IFX-05.01.12 000413741767)",
            "710",
            "8.7.5.35",
            "000413741767",
            None,
        ),
        (
            "Mozilla/4.0 (compatible; snom870-SIP 8.4.35 SPEAr300 SNOM 1.4)",
            "870",
            "8.4.35",
            None,
            None,
        ),
        (
            "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12-00004-g9ba52f5"
            " 000413922D24 SXM:0 UXM:0)",
            "D785",
            "10.1.33.33",
            "000413922d24",
            0,
        ),
        (
            "Mozilla/4.0 (compatible; snomD785-SIP 10.1.169.16 2010.12-00001-gd311851f1"
            " (Feb 25 2019 - 14:19:43) 00041396D9B4 SXM:0 UXM:0 UXMC:0)",
            "D785",
            "10.1.169.16",
            "00041396d9b4",
            0,
        ),
        # other shapes of the same grammar
        (
            "Mozilla/4.0 (compatible; snom320-SIP 7.3.30 1.1.3-u)",
            "320",
            "7.3.30",
            None,
            None,
        ),
        (
            "Mozilla/4.0 (compatible; snomPA1-SIP 8.4.35 1.1.3-s)",
            "PA1",
            "8.4.35",
            None,
            None,
        ),
        (
            "Mozilla/4.0 (compatible; snomD385-SIP 10.1.54.13 2010.12-00001-gabc1234"
            " 000413a11fa7 SXM:0 UXM:1 UXMC:2)",
            "D385",
            "10.1.54.13",
            "000413a11fa7",
            3,
        ),
        (
            "Mozilla/4.0 (compatible; snomd735-SIP 10.1.33.33 build 000413922D24 UXMC:1)",
            "D735",
            "10.1.33.33",
            "000413922d24",
            1,
        ),
        # a build string of 12 hex digits comes before the MAC, not after it
        (
            "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 abcdef012345 000413922D24 UXM:0)",
            "D785",
            "10.1.33.33",
            "000413922d24",
            0,
        ),
        # hex-looking tokens that are not twelve digits are no MAC
        (
            "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 000413922D245 SXM:0 UXM:0)",
            "D785",
            "10.1.33.33",
            None,
            0,
        ),
        (
            "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 g000413922D24 00041392D24)",
            "D785",
            "10.1.33.33",
            None,
            None,
        ),
        # twelve hex digits that no device can have
        (
            "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 2010.12 010413922D24)",
            "D785",
            "10.1.33.33",
            None,
            None,
        ),
    ],
)
def test_user_agent(
    ua: str, model: str, firmware: str, mac: str | None, modules: int | None
) -> None:
    expected = UserAgentInfo(
        vendor=Vendor.SNOM,
        model_name=model,
        firmware=firmware,
        mac=parse_mac(mac) if mac else None,
        expansion_modules=modules,
    )
    assert parse_user_agent(ua) == expected
    assert DRIVER.parse_user_agent(ua) == expected


@pytest.mark.parametrize(
    "ua",
    [
        "",
        " ",
        # firmware 6.5 names no model and reads no XML settings
        "Mozilla/4.0 (compatible; snom lid 3605)",
        "Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37",
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        "snomD785",
        "snomD785-SIP",
        "snomD785-SIP ",
        "snomD785-SIP v10.1",
        "snom-SIP 10.1.33.33",
        "Mozilla/4.0 (compatible; notsnomD785-SIP 10.1.33.33 000413922D24)",
        "Mozilla/4.0 (compatible; snom\uff24785-SIP 10.1.33.33 000413922D24)",
        "\x00\x01snom\x7f",
    ],
)
def test_user_agent_not_snom(ua: str) -> None:
    assert parse_user_agent(ua) is None


def test_user_agent_never_raises_on_noise() -> None:
    rng = random.Random(4711)
    pieces = ["snom", "D785", "-SIP", " ", "10.1.", "33", "000413922D24", "UXM:", "UXMC:", "(", ")"]
    pieces += ["\x00", "\ud800", "é", "9" * 5, ":", "-"]
    for _ in range(2000):
        ua = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        info = parse_user_agent(ua)
        assert info is None or info.vendor is Vendor.SNOM
    huge = "Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 " + "A" * 100_000
    assert parse_user_agent(huge) is not None


@pytest.mark.parametrize(
    ("ua", "firmware"),
    [
        # What a D785 puts in REGISTER, and what Kamailio's ul.dump hands back.
        ("snomD785/10.1.33.33", "10.1.33.33"),
        ("snom710/8.7.5.35", "8.7.5.35"),
        # The HTTP form, should a phone send it over SIP too.
        ("Mozilla/4.0 (compatible; snomD785-SIP 10.1.33.33 000413922D24)", "10.1.33.33"),
        ("Yealink SIP-T46G 28.83.0.130", None),
        ("snom/", None),
        ("snomD785/" + "9" * 5000, None),
    ],
)
def test_sip_user_agent(ua: str, firmware: str | None) -> None:
    assert DRIVER.sip_firmware(ua) == firmware


# --- File names --------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor_class", "model"),
    [("snomD785", "snomD785"), ("SNOMD315 extra", "SNOMD315"), ("snom", None), ("yealink", None)],
)
def test_dhcp_vendor_class_names_the_model(vendor_class: str, model: str | None) -> None:
    assert DRIVER.model_from_vendor_class(vendor_class) == model


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("snomD785.htm", FileRequest("snomD785.htm", None, D785)),
        ("snomd785.htm", FileRequest("snomD785.htm", None, D785)),
        ("snomD785.xml", FileRequest("snomD785.xml", None, D785)),
        ("snomD315.xml", FileRequest("snomD315.xml", None, D315)),
        ("snomD785-000413922D24.htm", FileRequest("snomD785-000413922D24.htm", MAC, D785)),
        ("snomD785-000413922d24.htm", FileRequest("snomD785-000413922D24.htm", MAC, D785)),
        ("000413922D24.xml", FileRequest("000413922D24.xml", MAC, None)),
        ("000413922d24.xml", FileRequest("000413922D24.xml", MAC, None)),
        (
            "snomd785-000413922d24-firmware.xml",
            FileRequest("snomD785-000413922D24-firmware.xml", MAC, D785),
        ),
    ],
)
def test_classify(filename: str, expected: FileRequest) -> None:
    assert DRIVER.classify(filename) == expected


@pytest.mark.parametrize("model", SNOM_MODELS, ids=lambda m: m.id)
def test_classify_every_file_of_every_model(model: PhoneModel) -> None:
    for filename in DRIVER.filenames(MAC, model):
        request = DRIVER.classify(filename)
        assert request is not None
        assert request.filename == filename
        assert request.mac in (MAC, None)
        assert request.model in (model, None)


@pytest.mark.parametrize(
    "filename",
    [
        "",
        "snomD999.htm",
        "snomT46G.htm",
        "snom.htm",
        "snomD785-.htm",
        "snomD785-firmware.xml",
        "snomD785-000413922D24.xml",
        "snomD785-000413922D24-firmware.htm",
        "000413922D24-firmware.xml",
        "snomD999-000413922D24-firmware.xml",
        "000413922D24.htm",
        "000413922D2.xml",
        "000413922D245.xml",
        "010413922D24.xml",
        "000000000000.xml",
        "0015654aa937.cfg",
        "y000000000028.cfg",
        "../snomD785.htm",
        "/snomD785.htm",
        "snom/../000413922D24.xml",
        "..\\000413922D24.xml",
        "snomD785.htm/..",
        "snomD785.htm\n",
        "snomD785.htm\x00",
        "snomD785.htm?mac=000413922D24",
        "snom\uff24785.htm",
    ],
)
def test_classify_rejects(filename: str) -> None:
    assert DRIVER.classify(filename) is None


def test_filenames_in_fetch_order() -> None:
    assert DRIVER.filenames(MAC, D785) == (
        "snomD785.htm",
        "snomD785.xml",
        "snomD785-000413922D24.htm",
        "000413922D24.xml",
        "snomD785-000413922D24-firmware.xml",
    )


# --- Golden files ------------------------------------------------------------


def test_golden_firmware() -> None:
    ctx = _ctx(firmware=FIRMWARE)
    for filename in DRIVER.filenames(ctx.mac, D785):
        assert_golden(f"snom/{D785.id}/firmware/{filename}", DRIVER.render(ctx, filename))


@pytest.mark.parametrize("model", SNOM_MODELS, ids=lambda m: m.id)
def test_golden_layout(model: PhoneModel) -> None:
    ctx = layout_context(model)
    for filename in DRIVER.filenames(ctx.mac, model):
        assert_golden(f"snom/{model.id}/layout/{filename}", DRIVER.render(ctx, filename))


def test_every_snom_model_has_golden_files_and_no_stale_ones() -> None:
    assert SNOM_MODELS
    expected = {
        f"{model.id}/{prefix}{name}"
        for model in SNOM_MODELS
        for name in DRIVER.filenames(MAC, model)
        for prefix in ("", "layout/")
    }
    expected |= {f"{D785.id}/firmware/{name}" for name in DRIVER.filenames(MAC, D785)}
    root = GOLDEN_DIR / "snom"
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert found == expected


# --- Well-formed XML, permissions, escaping ----------------------------------


@pytest.mark.parametrize("make", [sample_context, layout_context], ids=["sample", "layout"])
@pytest.mark.parametrize("model", SNOM_MODELS, ids=lambda m: m.id)
def test_files_are_well_formed(
    model: PhoneModel, make: Callable[[PhoneModel], DeviceContext]
) -> None:
    ctx = make(model)
    for filename in DRIVER.filenames(ctx.mac, model):
        data = DRIVER.render(ctx, filename)
        assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')
        root = ET.fromstring(data)
        if filename.endswith(".htm"):
            assert root.tag == "setting-files"
            assert [child.tag for child in root] == ["file"]
            continue
        if filename.endswith("-firmware.xml"):
            assert root.tag == "firmware-settings"
            continue
        assert root.tag == "settings"
        settings = [*root.iter()][1:]
        elements = [e for e in settings if e.tag not in ("phone-settings", "functionKeys")]
        assert elements
        for element in elements:
            assert "perm" in element.attrib, f"{filename}: <{element.tag}> has no perm"


def test_containers_list_absolute_urls() -> None:
    ctx = sample_context(D785)
    model_htm = ET.fromstring(DRIVER.render(ctx, "snomD785.htm"))
    device_htm = ET.fromstring(DRIVER.render(ctx, "snomD785-000413922D24.htm"))
    assert [f.attrib["url"] for f in model_htm] == [BASE_URL + "snomD785.xml"]
    assert [f.attrib["url"] for f in device_htm] == [BASE_URL + "000413922D24.xml"]


def test_container_url_without_trailing_slash() -> None:
    ctx = _ctx()
    ctx = dataclasses.replace(
        ctx, provisioning=dataclasses.replace(ctx.provisioning, base_url="https://p.example/snom")
    )
    root = ET.fromstring(DRIVER.render(ctx, "snomD785-000413922D24.htm"))
    assert [f.attrib["url"] for f in root] == ["https://p.example/snom/000413922D24.xml"]


def test_special_characters_round_trip() -> None:
    ctx = _ctx(lines=(_line(1, display_name=TRICKY, label=TRICKY, password=TRICKY + "&amp;"),))
    ctx = dataclasses.replace(ctx, admin_password="a<b>&\"c'")
    root = _device_xml(ctx)
    assert _value(root, "user_realname", 1) == TRICKY
    assert _value(root, "user_idle_text", 1) == TRICKY
    assert _value(root, "user_pass", 1) == TRICKY + "&amp;"
    assert _fkeys(root)[0].attrib["label"] == TRICKY
    assert _value(root, "http_pass") == "a<b>&\"c'"
    assert _value(root, "http_client_pass") == "Pr0v&<Secret>\"'x"


def test_sample_display_name_round_trips() -> None:
    root = _device_xml(sample_context(D785))
    assert _value(root, "user_realname", 2) == "Jan & Piet <Sales>"
    assert _fkeys(root)[1].attrib["label"] == "202 Jan & Piet"


def test_non_ascii_is_utf8() -> None:
    name = "Zoë Müller 北京"
    data = DRIVER.render(_ctx(lines=(_line(1, display_name=name),)), "000413922D24.xml")
    assert name.encode("utf-8") in data
    assert _value(ET.fromstring(data), "user_realname", 1) == name


def test_control_characters_are_neutralised() -> None:
    evil = "a\nb\rc\x00d\x1be\x7ff\x85g\ud800h\uffffi"
    root = _device_xml(_ctx(lines=(_line(1, display_name=evil, label=evil),)))
    assert _value(root, "user_realname", 1) == "a b c d e f g h i"
    assert _fkeys(root)[0].attrib["label"] == "a b c d e f g h i"


@pytest.mark.parametrize("field", ["password", "auth_user", "extension", "domain"])
def test_control_characters_in_other_line_values_are_refused(field: str) -> None:
    ctx = _ctx(lines=(_line(1, **{field: "x\ny"}),))
    with pytest.raises(UnsafeValue):
        DRIVER.render(ctx, "000413922D24.xml")


def test_control_characters_in_secrets_are_refused() -> None:
    with pytest.raises(UnsafeValue):
        DRIVER.render(_ctx(admin_password="pw\x00"), "000413922D24.xml")
    ctx = _ctx()
    ctx = dataclasses.replace(
        ctx, provisioning=dataclasses.replace(ctx.provisioning, password="pw\r\n")
    )
    with pytest.raises(UnsafeValue):
        DRIVER.render(ctx, "000413922D24.xml")


def test_tab_survives_in_text_and_attributes() -> None:
    root = _device_xml(_ctx(lines=(_line(1, display_name="a\tb", label="c\td"),)))
    assert _value(root, "user_realname", 1) == "a\tb"
    assert _fkeys(root)[0].attrib["label"] == "c\td"


# --- What the files hold -----------------------------------------------------


def _secrets(ctx: DeviceContext) -> list[str]:
    values = [ctx.provisioning.username, ctx.provisioning.password, ctx.admin_password]
    for line in ctx.lines:
        values += [line.password, line.display_name, line.label, line.domain]
    escaped = [v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") for v in values]
    return values + escaped + ["Pr0v", "Adm1n", "S1p-Pass", "An0ther", "acme"]


@pytest.mark.parametrize("model", SNOM_MODELS, ids=lambda m: m.id)
def test_per_model_files_hold_no_secrets(model: PhoneModel) -> None:
    ctx = sample_context(model)
    for filename in (f"snom{model.name}.htm", f"snom{model.name}.xml"):
        data = DRIVER.render(ctx, filename).decode("utf-8")
        for secret in _secrets(ctx):
            assert secret not in data, f"{filename} leaks {secret!r}"


@pytest.mark.parametrize("model", SNOM_MODELS, ids=lambda m: m.id)
def test_per_model_settings_depend_on_nothing_but_the_model(model: PhoneModel) -> None:
    other = dataclasses.replace(
        sample_context(model, parse_mac("00:04:13:00:00:02")),
        admin_password="other",
        lines=(_line(3),),
        time=TimeSettings(timezone="UTC", ntp_servers=()),
    )
    filename = f"snom{model.name}.xml"
    assert DRIVER.render(other, filename) == DRIVER.render(sample_context(model), filename)


def test_device_settings() -> None:
    root = _device_xml(sample_context(D785))
    expected = {
        "setting_server": BASE_URL,
        "http_client_user": "dev-4aa937",
        "http_client_pass": "Pr0v&<Secret>\"'x",
        "settings_refresh_timer": "86400",
        "update_policy": "settings_only",
        "pnp_config": "off",
        "provisioning_order": "redirection:stop",
        "checksync_action": "",
        "http_user": "admin",
        "http_pass": "Adm1n-R4nd0m_pw",
        "admin_mode_password": "Adm1n-R4nd0m_pw",
        "timezone": "NLD+1",
        "ntp_server": "0.pool.ntp.org",
    }
    for name, value in expected.items():
        assert _value(root, name) == value, name
        assert _setting(root, name).attrib["perm"] == "R", name
    line1 = {
        "user_active": "on",
        "user_realname": "Front Desk",
        "user_name": "201",
        "user_pname": "201",
        "user_pass": "S1p-Pass_word1",
        "user_host": "acme.example.net",
        "user_outbound": "sip.example.net:5060;transport=udp",
        "user_idle_text": "201 Front Desk",
    }
    for name, value in line1.items():
        assert _value(root, name, 1) == value, name
        assert _setting(root, name, 1).attrib["perm"] == "R", name


def test_every_identity_slot_is_written() -> None:
    root = _device_xml(sample_context(D785))
    for idx in range(3, D785.accounts + 1):
        assert _value(root, "user_active", idx) == "off"
        assert _value(root, "user_pass", idx) == ""
        assert _value(root, "user_name", idx) == ""
    assert not root.findall(f"./phone-settings/user_active[@idx='{D785.accounts + 1}']")


def test_removed_line_is_disabled_and_its_key_freed() -> None:
    root = _device_xml(_ctx(lines=(_line(2),)))
    assert _value(root, "user_active", 1) == "off"
    assert _value(root, "user_pass", 1) == ""
    assert _value(root, "user_active", 2) == "on"
    keys = _fkeys(root)
    assert keys[0].attrib == {"idx": "0", "context": "active", "label": "", "perm": "!"}
    assert keys[1].attrib == {"idx": "1", "context": "2", "label": "Line 2", "perm": "R"}
    assert keys[1].text == "line"


def test_without_a_layout_every_own_key_is_written_as_a_line_key() -> None:
    # The D315 has more keys (5) than identities (4): the fifth is a free line key.
    root = _device_xml(sample_context(D315))
    keys = _fkeys(root)
    assert sorted(keys) == list(range(D315.line_keys))
    assert [keys[i].attrib["context"] for i in range(D315.line_keys)] == [
        "1",
        "2",
        "active",
        "active",
        "active",
    ]
    assert all(key.text == "line" for key in keys.values())
    assert not root.findall(f"./phone-settings/user_active[@idx='{D315.accounts + 1}']")


def test_without_a_layout_attached_module_keys_are_free_line_keys() -> None:
    root = _device_xml(_ctx(expansion_modules=1))
    keys = _fkeys(root)
    assert sorted(keys) == list(range(D785.line_keys + 18))
    for idx in range(2, D785.line_keys + 18):
        assert keys[idx].attrib == {"idx": str(idx), "context": "active", "label": "", "perm": "!"}
        assert keys[idx].text == "line"


@pytest.mark.parametrize(
    ("proxy", "outbound"),
    [
        (SipServer("sip.example.net", 5061, Transport.TLS), "sip.example.net:5061;transport=tls"),
        (SipServer("10.0.0.5", 5070, Transport.TCP), "10.0.0.5:5070;transport=tcp"),
        (SipServer("2001:db8::1"), "[2001:db8::1]:5060;transport=udp"),
    ],
)
def test_outbound_follows_the_proxy(proxy: SipServer, outbound: str) -> None:
    root = _device_xml(_ctx(sip_proxy=proxy))
    assert _value(root, "user_outbound", 1) == outbound
    assert _value(root, "user_host", 1) == "acme.example.net"


@pytest.mark.parametrize("zone", ZONES, ids=lambda z: z.iana)
def test_time_zone(zone: Zone) -> None:
    root = _device_xml(_ctx(time=TimeSettings(timezone=zone.iana)))
    assert _value(root, "timezone") == NOTATION[zone.iana]
    assert NOTATION["Europe/Amsterdam"] == "NLD+1"


def test_no_ntp_server_leaves_the_setting_out() -> None:
    root = _device_xml(_ctx(time=TimeSettings(ntp_servers=())))
    assert not root.findall("./phone-settings/ntp_server")


def test_render_refuses_files_of_other_devices() -> None:
    ctx = sample_context(D785)
    for filename in (
        "snomD385.htm",
        "snomD385-000413922D24.htm",
        "000413000002.xml",
        "snomD385-000413922D24-firmware.xml",
        "snomD785-000413000002-firmware.xml",
    ):
        with pytest.raises(NotThisDevicesFile):
            DRIVER.render(ctx, filename)
    for filename in ("0015654aa937.cfg", "../000413922D24.xml", "snom-general.xml"):
        with pytest.raises(NotThisDevicesFile):
            DRIVER.render(ctx, filename)
    with pytest.raises(ValueError):
        DRIVER.render(sample_context(get_model("yealink-t46g")), "000413922D24.xml")


def test_render_accepts_any_case() -> None:
    ctx = sample_context(D785)
    assert DRIVER.render(ctx, "000413922d24.xml") == DRIVER.render(ctx, "000413922D24.xml")
    assert DRIVER.render(ctx, "snomd785.htm") == DRIVER.render(ctx, "snomD785.htm")


@pytest.mark.parametrize(
    "lines",
    [(_line(1), _line(1)), (_line(0),), (_line(D785.accounts + 1),)],
    ids=["duplicate slot", "slot 0", "slot past the last account"],
)
def test_inconsistent_lines_are_refused(lines: tuple[Line, ...]) -> None:
    with pytest.raises(ValueError):
        DRIVER.render(_ctx(lines=lines), "000413922D24.xml")


def test_resync_interval_must_be_positive() -> None:
    ctx = _ctx()
    ctx = dataclasses.replace(
        ctx, provisioning=dataclasses.replace(ctx.provisioning, resync_minutes=0)
    )
    with pytest.raises(ValueError):
        DRIVER.render(ctx, "000413922D24.xml")


# --- Function keys of a layout -----------------------------------------------


def _key(
    location: str, function: KeyFunction, value: str = "", label: str = "", line: int = 1
) -> Key:
    return Key(KeyLocation.parse(location), function, value, label, line)


def _layout(*keys: Key, model: PhoneModel = D785, **changes: Any) -> ET.Element:
    return _device_xml(_ctx(model, keys=keys, **changes))


# Each vendor-neutral function, with and without a target where both are allowed,
# and the Snom key it becomes.
MAPPINGS: list[tuple[Key, str]] = [
    (_key("line:1", KeyFunction.LINE, "1"), "line"),
    (_key("line:1", KeyFunction.BLF, "203"), "blf sip:203@acme.example.net|*8"),
    # The night switch's lamp (provd.domain.night_switch).
    (_key("line:1", KeyFunction.BLF, "*915*2"), "blf sip:*915*2@acme.example.net|*8"),
    (_key("line:1", KeyFunction.SPEED_DIAL, "+31201234567"), "speed +31201234567"),
    (_key("line:1", KeyFunction.PARK, "700"), "orbit 700"),
    (_key("line:1", KeyFunction.PARK), "none"),
    (_key("line:1", KeyFunction.PICKUP, "204"), "speed *8204"),
    (_key("line:1", KeyFunction.PICKUP), "speed *8"),
    (_key("line:1", KeyFunction.GROUP_PICKUP), "speed *8"),
    (_key("line:1", KeyFunction.DND), "keyevent F_DND"),
    (_key("line:1", KeyFunction.TRANSFER), "keyevent F_TRANSFER"),
    (_key("line:1", KeyFunction.TRANSFER, "0612345678"), "transfer 0612345678"),
    (_key("line:1", KeyFunction.FORWARD), "keyevent F_REDIRECT"),
    (_key("line:1", KeyFunction.FORWARD, "0612345678"), "redirect 0612345678"),
    (_key("line:1", KeyFunction.VOICEMAIL), "keyevent F_RETRIEVE"),
    (_key("line:1", KeyFunction.INTERCOM, "205"), "icom 205"),
    (
        _key("line:1", KeyFunction.URL, "https://x.example/a?b=1&c=2"),
        "url https://x.example/a?b=1&c=2",
    ),
    (_key("line:1", KeyFunction.DTMF, "*3#"), "dtmf *3#"),
    (_key("line:1", KeyFunction.NONE), "none"),
]


@pytest.mark.parametrize(
    ("key", "value"),
    MAPPINGS,
    ids=lambda v: v if isinstance(v, str) else f"{v.function}{'+' if v.value else ''}",
)
def test_every_function_maps_to_a_snom_key(key: Key, value: str) -> None:
    fkey = _fkeys(_layout(dataclasses.replace(key, label="Label")))[0]
    assert fkey.text == value
    assert fkey.attrib == {"idx": "0", "context": "1", "label": "Label", "perm": "R"}


def test_the_mapping_table_covers_every_function() -> None:
    assert {key.function for key, _ in MAPPINGS} == set(KeyFunction)


def test_pickup_follows_the_tenant_pickup_code() -> None:
    root = _layout(
        _key("line:1", KeyFunction.BLF, "203"),
        _key("line:2", KeyFunction.PICKUP, "204"),
        _key("line:3", KeyFunction.GROUP_PICKUP),
        pickup_code="**",
    )
    keys = _fkeys(root)
    assert [keys[i].text for i in range(3)] == [
        "blf sip:203@acme.example.net|**",
        "speed **204",
        "speed **",
    ]


@pytest.mark.parametrize(
    ("module", "key", "idx"),
    [
        (1, 1, 24),
        (1, 18, 41),
        (2, 1, 42),
        (2, 18, 59),
        (3, 1, 60),
        (3, 18, 77),
    ],
)
def test_module_keys_continue_after_the_phones_own_keys(module: int, key: int, idx: int) -> None:
    # vendor facts B2: D785 own keys idx 0-23, then 18 per D7 module, up to idx 77.
    root = _layout(_key(f"exp:{module}:{key}", KeyFunction.SPEED_DIAL, "112"), expansion_modules=3)
    keys = _fkeys(root)
    assert sorted(keys) == list(range(24 + 3 * 18))
    assert keys[idx].text == "speed 112"
    assert [i for i, k in keys.items() if k.text != "none"] == [idx]


@pytest.mark.parametrize("model", [m for m in SNOM_MODELS if m.expansion], ids=lambda m: m.id)
def test_module_idx_depends_on_the_models_own_keys(model: PhoneModel) -> None:
    root = _layout(
        _key("line:1", KeyFunction.DND),
        _key(f"line:{model.line_keys}", KeyFunction.DND),
        _key("exp:2:1", KeyFunction.DND),
        model=model,
        expansion_modules=2,
    )
    keys = _fkeys(root)
    assert len(keys) == model.line_keys + 2 * 18
    programmed = sorted(i for i, k in keys.items() if k.text == "keyevent F_DND")
    assert programmed == [0, model.line_keys - 1, model.line_keys + 18]


def test_unset_keys_are_written_empty_and_left_to_the_user() -> None:
    root = _layout(_key("line:2", KeyFunction.DND), expansion_modules=1)
    keys = _fkeys(root)
    assert sorted(keys) == list(range(24 + 18))
    for idx, key in keys.items():
        if idx != 1:
            assert key.attrib == {"idx": str(idx), "context": "active", "label": "", "perm": "!"}
            assert key.text == "none"


def test_keys_on_modules_not_attached_are_not_rendered() -> None:
    root = _layout(
        _key("exp:1:1", KeyFunction.DND),
        _key("exp:2:1", KeyFunction.DND),
        _key("exp:3:18", KeyFunction.DND),
        expansion_modules=1,
    )
    keys = _fkeys(root)
    assert max(keys) == 24 + 18 - 1
    assert [i for i, k in keys.items() if k.text != "none"] == [24]


def test_no_module_keys_without_modules() -> None:
    root = _layout(_key("exp:1:1", KeyFunction.DND))
    assert sorted(_fkeys(root)) == list(range(24))


@pytest.mark.parametrize(
    ("keys", "changes"),
    [
        ((_key("line:25", KeyFunction.DND),), {}),
        ((_key("exp:1:19", KeyFunction.DND),), {"expansion_modules": 1}),
        ((_key("line:1", KeyFunction.DND), _key("line:1", KeyFunction.NONE)), {}),
        ((), {"expansion_modules": 4}),
        ((), {"expansion_modules": -1}),
        ((), {"model": D315, "expansion_modules": 1}),
        ((_key("exp:1:1", KeyFunction.DND),), {"model": D315}),
        ((_key("line:1", KeyFunction.SPEED_DIAL),), {}),
        ((_key("line:1", KeyFunction.BLF, "20 3"),), {}),
        ((_key("line:1", KeyFunction.BLF, "203|*9"),), {}),
        ((_key("line:1", KeyFunction.DND, "1"),), {}),
        ((_key("line:1", KeyFunction.PICKUP, "204"),), {"pickup_code": ""}),
    ],
    ids=[
        "own key past the last",
        "module key past the last",
        "same key twice",
        "more modules than the model takes",
        "negative module count",
        "module on a model without",
        "module key on a model without",
        "speed dial without a number",
        "space in an argument",
        "separator in a BLF",
        "target on a key that takes none",
        "pickup without a pickup code",
    ],
)
def test_inconsistent_keys_are_refused(keys: tuple[Key, ...], changes: dict[str, Any]) -> None:
    ctx = _ctx(changes.pop("model", D785), keys=keys, **changes)
    with pytest.raises(ValueError):
        DRIVER.render(ctx, "000413922D24.xml")


def test_blf_watches_in_the_domain_of_its_line() -> None:
    lines = (_line(1), _line(2, domain="beta.example.org"))
    root = _layout(
        _key("line:1", KeyFunction.BLF, "301", line=2),
        _key("line:2", KeyFunction.BLF, "302", line=1),
        # line 3 is not in use: the BLF falls back to line 1's domain
        _key("line:3", KeyFunction.BLF, "303", line=3),
        lines=lines,
    )
    keys = _fkeys(root)
    assert keys[0].text == "blf sip:301@beta.example.org|*8"
    assert keys[0].attrib["context"] == "2"
    assert keys[1].text == "blf sip:302@acme.example.net|*8"
    assert keys[2].text == "blf sip:303@acme.example.net|*8"
    assert keys[2].attrib["context"] == "active"


def test_blf_without_any_line_names_the_extension_only() -> None:
    root = _layout(_key("line:1", KeyFunction.BLF, "301"), lines=())
    assert _fkeys(root)[0].text == "blf 301|*8"


def test_line_key_shows_its_slot() -> None:
    root = _layout(_key("line:5", KeyFunction.LINE, "2", "Sales", line=2))
    key = _fkeys(root)[4]
    assert key.attrib == {"idx": "4", "context": "2", "label": "Sales", "perm": "R"}
    assert key.text == "line"


def test_page_labels_are_not_rendered() -> None:
    ctx = layout_context(D785)
    assert ctx.page_labels
    data = DRIVER.render(ctx, "000413922D24.xml").decode()
    assert "Module 1 page 1" not in data
    ctx = dataclasses.replace(ctx, page_labels=(PageLabel(1, 1, "other"),))
    assert DRIVER.render(ctx, "000413922D24.xml").decode() == data


def test_layout_labels_and_values_are_escaped() -> None:
    ctx = layout_context(D785)
    data = DRIVER.render(ctx, "000413922D24.xml")
    assert b'label="Reception &amp; Co"' in data
    assert b">url https://intranet.example.net/a?b=1&amp;c=2</fkey>" in data
    keys = _fkeys(ET.fromstring(data))
    assert keys[2].attrib["label"] == "Reception & Co"
    assert keys[12].text == "url https://intranet.example.net/a?b=1&c=2"
    root = _layout(_key("line:1", KeyFunction.DND, label=TRICKY + "\nnext"))
    assert _fkeys(root)[0].attrib["label"] == TRICKY + " next"


def test_control_characters_in_key_values_are_refused() -> None:
    with pytest.raises(UnsafeValue):
        DRIVER.render(_ctx(keys=(_key("line:1", KeyFunction.DTMF, "1\x002"),)), "000413922D24.xml")


def test_layout_keys_stay_out_of_per_model_files() -> None:
    for model in SNOM_MODELS:
        name = f"snom{model.name}.xml"
        assert DRIVER.render(layout_context(model), name) == DRIVER.render(
            sample_context(model), name
        )


# --- VLAN and LLDP -----------------------------------------------------------

_NETWORK_SETTINGS = (
    "vlan_id",
    "vlan_qos",
    "vlan_pc_id",
    "vlan_pc_priority",
    "vlan_port_tagging",
    "lldp_enable",
)


def _network(root: ET.Element) -> dict[str, str]:
    for name in _NETWORK_SETTINGS:
        assert _setting(root, name).attrib["perm"] == "R", name
    return {name: _value(root, name) for name in _NETWORK_SETTINGS}


def test_vlans_on() -> None:
    root = _device_xml(layout_context(D785))
    assert _network(root) == {
        "vlan_id": "100",
        "vlan_qos": "5",
        "vlan_pc_id": "200",
        "vlan_pc_priority": "0",
        "vlan_port_tagging": "on",
        "lldp_enable": "off",
    }


def test_vlans_off_are_written_empty() -> None:
    # Written even when off, so that a VLAN removed in provd is removed from the phone.
    assert _network(_device_xml(sample_context(D785))) == {
        "vlan_id": "",
        "vlan_qos": "0",
        "vlan_pc_id": "",
        "vlan_pc_priority": "0",
        "vlan_port_tagging": "off",
        "lldp_enable": "on",
    }


def test_lan_vlan_alone() -> None:
    root = _device_xml(_ctx(network=Network(lan_vlan=VlanPort(4094, 7))))
    assert _network(root) == {
        "vlan_id": "4094",
        "vlan_qos": "7",
        "vlan_pc_id": "",
        "vlan_pc_priority": "0",
        "vlan_port_tagging": "off",
        "lldp_enable": "on",
    }


@pytest.mark.parametrize(
    "port",
    [VlanPort(0), VlanPort(4095), VlanPort(-1), VlanPort(1, 8), VlanPort(1, -1)],
    ids=["vid 0", "vid 4095", "vid -1", "priority 8", "priority -1"],
)
@pytest.mark.parametrize("which", ["lan", "pc"])
def test_vlan_out_of_range_is_refused(port: VlanPort, which: str) -> None:
    network = Network(lan_vlan=port) if which == "lan" else Network(pc_vlan=port)
    with pytest.raises(ValueError):
        DRIVER.render(_ctx(network=network), "000413922D24.xml")


@pytest.mark.parametrize("port", [VlanPort(1, 0), VlanPort(4094, 7)], ids=["lowest", "highest"])
def test_vlan_range_limits_are_accepted(port: VlanPort) -> None:
    root = _device_xml(_ctx(network=Network(lan_vlan=port, pc_vlan=port)))
    assert _value(root, "vlan_id") == _value(root, "vlan_pc_id") == str(port.vid)


# --- Firmware ----------------------------------------------------------------


def _firmware_settings(ctx: DeviceContext) -> ET.Element:
    return ET.fromstring(DRIVER.render(ctx, FIRMWARE_FILE))


def test_firmware_status_points_at_the_devices_firmware_settings() -> None:
    root = _device_xml(_ctx(firmware=FIRMWARE))
    assert _value(root, "update_policy") == "auto_update"
    assert _value(root, "firmware_status") == BASE_URL + FIRMWARE_FILE
    firmware = _firmware_settings(_ctx(firmware=FIRMWARE)).findall("./firmware")
    assert [(f.text, f.attrib) for f in firmware] == [(FIRMWARE.url, {"perm": ""})]


def test_without_firmware_the_status_url_is_cleared_and_no_update_is_allowed() -> None:
    root = _device_xml(sample_context(D785))
    assert _value(root, "update_policy") == "settings_only"
    assert _value(root, "firmware_status") == ""
    assert _firmware_settings(sample_context(D785)).findall("./firmware") == []


@pytest.mark.parametrize("model", SNOM_MODELS, ids=lambda m: m.id)
def test_no_container_lists_the_firmware_settings(model: PhoneModel) -> None:
    # Snom: the firmware-settings URL must not appear in a container file.
    ctx = dataclasses.replace(sample_context(model), firmware=FIRMWARE)
    for filename in DRIVER.filenames(MAC, model):
        if filename.endswith(".htm"):
            assert b"firmware" not in DRIVER.render(ctx, filename), filename


@pytest.mark.parametrize("model", SNOM_MODELS, ids=lambda m: m.id)
def test_per_model_settings_carry_no_firmware(model: PhoneModel) -> None:
    ctx = dataclasses.replace(sample_context(model), firmware=FIRMWARE)
    assert DRIVER.render(ctx, f"snom{model.name}.xml") == DRIVER.render(
        sample_context(model), f"snom{model.name}.xml"
    )


def test_check_sync_reloads_the_settings_or_reboots() -> None:
    assert DRIVER.check_sync_event(reboot=False) == "check-sync;reboot=false"
    assert DRIVER.check_sync_event(reboot=True) == "check-sync;reboot=true"
