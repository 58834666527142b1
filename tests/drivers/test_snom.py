from __future__ import annotations

import dataclasses
import random
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from provd.domain.catalogue import MODELS, PhoneModel, Vendor, get_model
from provd.domain.mac import parse_mac
from provd.domain.timezones import ZONES, Zone
from provd.drivers.base import Driver, FileRequest, UserAgentInfo
from provd.drivers.context import DeviceContext, Line, SipServer, TimeSettings, Transport
from provd.drivers.snom import DRIVER, parse_user_agent
from provd.drivers.snom.driver import UnsafeValue
from tests.golden import GOLDEN_DIR, assert_golden
from tests.samples import SAMPLE_MACS, sample_context

SNOM_MODELS = tuple(m for m in MODELS if m.vendor is Vendor.SNOM)
D785 = get_model("snom-d785")
D315 = get_model("snom-d315")
MAC = SAMPLE_MACS[Vendor.SNOM]
BASE_URL = "https://provd.example.net:8443/"
TRICKY = "Jan & Piet <Sales> \"quoted\" 'single'"

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


# --- File names --------------------------------------------------------------


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
    )


def test_filenames_refuse_other_vendors() -> None:
    with pytest.raises(ValueError):
        DRIVER.filenames(MAC, get_model("yealink-t46g"))


# --- Golden files ------------------------------------------------------------


@pytest.mark.parametrize("model", SNOM_MODELS, ids=lambda m: m.id)
def test_golden(model: PhoneModel) -> None:
    ctx = sample_context(model)
    for filename in DRIVER.filenames(ctx.mac, model):
        assert_golden(f"snom/{model.id}/{filename}", DRIVER.render(ctx, filename))


def test_every_snom_model_has_golden_files_and_no_stale_ones() -> None:
    assert SNOM_MODELS
    expected = {
        f"{model.id}/{name}" for model in SNOM_MODELS for name in DRIVER.filenames(MAC, model)
    }
    root = GOLDEN_DIR / "snom"
    found = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert found == expected


# --- Well-formed XML, permissions, escaping ----------------------------------


@pytest.mark.parametrize("model", SNOM_MODELS, ids=lambda m: m.id)
def test_files_are_well_formed(model: PhoneModel) -> None:
    ctx = sample_context(model)
    for filename in DRIVER.filenames(ctx.mac, model):
        data = DRIVER.render(ctx, filename)
        assert data.startswith(b'<?xml version="1.0" encoding="utf-8"?>\n')
        root = ET.fromstring(data)
        if filename.endswith(".htm"):
            assert root.tag == "setting-files"
            assert [child.tag for child in root] == ["file"]
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


def test_line_keys_stop_at_the_smaller_of_accounts_and_keys() -> None:
    root = _device_xml(sample_context(D315))
    assert sorted(_fkeys(root)) == list(range(min(D315.accounts, D315.line_keys)))
    assert not root.findall(f"./phone-settings/user_active[@idx='{D315.accounts + 1}']")


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
    assert _value(root, "timezone") == zone.snom_code


def test_no_ntp_server_leaves_the_setting_out() -> None:
    root = _device_xml(_ctx(time=TimeSettings(ntp_servers=())))
    assert not root.findall("./phone-settings/ntp_server")


def test_render_refuses_files_of_other_devices() -> None:
    ctx = sample_context(D785)
    for filename in ("snomD385.htm", "snomD385-000413922D24.htm", "000413000002.xml"):
        with pytest.raises(KeyError):
            DRIVER.render(ctx, filename)
    for filename in ("0015654aa937.cfg", "../000413922D24.xml", "snom-general.xml"):
        with pytest.raises(KeyError):
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


def test_render_is_deterministic() -> None:
    ctx = sample_context(D785)
    for filename in DRIVER.filenames(ctx.mac, ctx.model):
        assert DRIVER.render(ctx, filename) == DRIVER.render(ctx, filename)
