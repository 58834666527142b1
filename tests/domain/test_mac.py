from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from provd.domain.errors import InvalidInput
from provd.domain.mac import parse_mac, try_parse_mac, upper, with_colons
from tests.hypothesis_profiles import examples


@pytest.mark.parametrize(
    "text",
    [
        "00:15:65:4a:a9:37",
        "00-15-65-4A-A9-37",
        "0015.654a.a937",
        "0015654AA937",
        " 00 15 65 4a a9 37 ",
    ],
)
def test_common_notations_normalise(text: str) -> None:
    mac = parse_mac(text)
    assert mac == "0015654aa937"
    assert with_colons(mac) == "00:15:65:4a:a9:37"
    assert upper(mac) == "0015654AA937"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0015654aa93", "12 hexadecimal"),
        ("0015654aa9370", "12 hexadecimal"),
        ("0015654aa9g7", "12 hexadecimal"),
        ("", "12 hexadecimal"),
        ("000000000000", "not a device"),
        ("ffffffffffff", "not a device"),
        ("01005e000001", "multicast"),
    ],
)
def test_invalid_macs_name_the_field(text: str, words: str) -> None:
    with pytest.raises(InvalidInput) as e:
        parse_mac(text, field="--mac")
    assert e.value.field == "--mac"
    assert words in e.value.message
    assert try_parse_mac(text) is None


_unicast = (
    st.integers(0, 2**48 - 1)
    .map(lambda n: f"{n:012x}")
    .filter(lambda m: m not in ("000000000000", "ffffffffffff") and not int(m[1], 16) & 1)
)


def _notations(mac: str) -> list[str]:
    pairs = [mac[i : i + 2] for i in range(0, 12, 2)]
    quads = [mac[i : i + 4] for i in range(0, 12, 4)]
    return [mac, mac.upper(), ":".join(pairs), "-".join(pairs).upper(), ".".join(quads)]


@settings(max_examples=examples(200), deadline=None, derandomize=True, database=None)
@given(_unicast)
def test_every_notation_of_a_device_mac_reads_back_to_it(mac: str) -> None:
    for text in _notations(mac):
        assert parse_mac(f" {text} ") == mac
    canonical = parse_mac(mac)
    assert parse_mac(with_colons(canonical)) == canonical
    assert parse_mac(upper(canonical)) == canonical
