"""Network settings phones receive: VLAN, SIP proxy, pickup code and on/off switches.

Each parser either returns a value that formats back to what it read, or raises the
domain's error naming the field the caller gave; no other exception.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from provd.domain.errors import InvalidInput
from provd.domain.network import (
    Proxy,
    Vlan,
    check_pickup_code,
    format_vlan,
    parse_proxy,
    parse_switch,
    parse_vlan,
)
from tests.hypothesis_profiles import examples

# Bounded and repeatable in CI: a failure is a regression, not a lucky draw.
PROPERTY = settings(
    max_examples=examples(200),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

vlans = st.builds(Vlan, st.integers(1, 4094), st.integers(0, 7))
# Text near the grammar (digits, colons, signs, spaces, "off") finds more edges than any text.
vlan_like = st.text(alphabet=st.sampled_from("0123456789:-+ _offOFF\t٣x"), max_size=12) | st.text()


# ---- VLAN ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100", Vlan(100, 0)),
        ("100:5", Vlan(100, 5)),
        (" 4094:7 ", Vlan(4094, 7)),
        ("1", Vlan(1, 0)),
        ("off", None),
        (" OFF ", None),
    ],
)
def test_vlans_as_admins_write_them(text: str, expected: Vlan | None) -> None:
    assert parse_vlan(text, field="vlan_lan") == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0", "out of range 1-4094"),
        ("4095", "out of range 1-4094"),
        ("100:8", "priority 8 is out of range 0-7"),
        ("100:-1", "out of range 0-7"),
        ("abc", "is not a VLAN"),
        ("", "is not a VLAN"),
        ("100:x", "is not a VLAN"),
        ("1:2:3", "is not a VLAN"),
    ],
)
def test_bad_vlans_name_the_field(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_vlan(text, field="vlan_pc")
    assert e.value.field == "vlan_pc"
    assert words in e.value.message


@PROPERTY
@given(st.none() | vlans)
def test_format_then_parse_is_the_identity(vlan: Vlan | None) -> None:
    assert parse_vlan(format_vlan(vlan), field="vlan_lan") == vlan


@PROPERTY
@given(vlan_like)
@example("9" * 5000)
@example("1:" + "9" * 5000)
@example("١٢")
def test_any_vlan_text_gives_a_vlan_or_the_domain_error(text: str) -> None:
    try:
        vlan = parse_vlan(text, field="vlan_lan")
    except InvalidInput as e:
        assert e.field == "vlan_lan"
        return
    if vlan is not None:
        assert 1 <= vlan.vid <= 4094 and 0 <= vlan.priority <= 7
        # What was accepted is stored in canonical form, and reads back as itself.
        assert parse_vlan(format_vlan(vlan), field="vlan_lan") == vlan


# ---- SIP proxy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sip.example.net", Proxy("sip.example.net", 5060)),
        ("sip.example.net:5080", Proxy("sip.example.net", 5080)),
        ("192.0.2.7", Proxy("192.0.2.7", 5060)),
        ("[2001:db8::1]:5061", Proxy("2001:db8::1", 5061)),
        ("[2001:db8::1]", Proxy("2001:db8::1", 5060)),
        # Without brackets an IPv6 literal has no port: the colons are the address's.
        ("2001:db8::1", Proxy("2001:db8::1", 5060)),
    ],
)
def test_proxies(text: str, expected: Proxy) -> None:
    assert parse_proxy(text) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[2001:db8::1", "unclosed ["),
        ("[2001:db8::1]5060", "is not HOST[:PORT]"),
        ("sip.example.net:0", "is not a port"),
        ("sip.example.net:65536", "is not a port"),
        ("sip.example.net:http", "is not a port"),
        ("sip.example.net:\u00b2", "is not a port"),
        ("[::1]:" + "9" * 5000, "is not a port"),
        ("", "is not a host name"),
        (":5060", "is not a host name"),
        ("sip example", "is not a host name"),
        ("a" * 254, "is not a host name"),
    ],
)
def test_bad_proxies_name_the_field(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_proxy(text, field="sip_proxy")
    assert e.value.field == "sip_proxy"
    assert words in e.value.message


_hosts = st.from_regex(r"[a-z0-9][a-z0-9.-]{0,30}", fullmatch=True)


@PROPERTY
@given(st.builds(Proxy, _hosts, st.integers(1, 65535)))
def test_a_proxy_reads_back_from_its_text(proxy: Proxy) -> None:
    assert parse_proxy(str(proxy)) == proxy


@PROPERTY
@given(st.text(alphabet=st.sampled_from("[]:0123456789abc.- \u00e9"), max_size=20) | st.text())
@example("[]")
@example("[::1]:" + "9" * 5000)
def test_any_proxy_text_gives_a_proxy_or_the_domain_error(text: str) -> None:
    try:
        proxy = parse_proxy(text)
    except InvalidInput as e:
        assert e.field == "sip_proxy"
        return
    assert proxy.host and 1 <= proxy.port <= 65535


# ---- pickup code and switches --------------------------------------------------------


@pytest.mark.parametrize("code", ["*8", "#8", "12345678", " *88 "])
def test_pickup_codes(code: str) -> None:
    assert check_pickup_code(code) == code.strip()


@pytest.mark.parametrize("code", ["", "  ", "123456789", "*8a", "+8"])
def test_bad_pickup_codes(code: str) -> None:
    with pytest.raises(InvalidInput, match="1 to 8 of 0-9"):
        check_pickup_code(code)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[("on", True), ("YES", True), ("true", True), ("1", True)],
        *[("off", False), (" No ", False), ("false", False), ("0", False)],
    ],
)
def test_switches(text: str, expected: bool) -> None:
    assert parse_switch(text, field="lldp") is expected


@PROPERTY
@given(st.text())
def test_any_switch_text_gives_a_bool_or_the_domain_error(text: str) -> None:
    try:
        value = parse_switch(text, field="lldp")
    except InvalidInput as e:
        assert e.field == "lldp" and "use on or off" in e.message
        return
    assert parse_switch("on" if value else "off", field="lldp") is value
