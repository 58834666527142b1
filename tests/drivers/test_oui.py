"""Vendor prefixes, as the registry assembles them from each vendor's ``oui.py``: a MAC
from one vendor's label cannot be claimed as the other's model."""

from __future__ import annotations

import pytest

from provd.domain.catalogue import Vendor
from provd.domain.errors import InvalidInput
from provd.domain.mac import parse_mac
from provd.drivers.registry import (
    MODELS,
    VENDOR_PREFIXES,
    check_vendor,
    get_model,
    model_label,
    vendor_of,
)


@pytest.mark.parametrize(
    ("mac", "vendor"),
    [
        ("00:15:65:4a:a9:37", Vendor.YEALINK),
        ("80:5E:C0:D5:7D:72", Vendor.YEALINK),
        ("80-5e-0c-01-02-03", Vendor.YEALINK),
        ("249AD888D0F4", Vendor.YEALINK),
        ("44:db:d2:bd:b5:69", Vendor.YEALINK),
        ("c4:fc:22:00:00:01", Vendor.YEALINK),
        ("00:04:13:2a:3b:4c", Vendor.SNOM),
        ("3c:22:fb:00:00:01", None),
    ],
)
def test_vendor_of_known_and_unknown_prefixes(mac: str, vendor: Vendor | None) -> None:
    assert vendor_of(parse_mac(mac)) is vendor


def test_every_catalogue_vendor_has_prefixes_and_no_prefix_is_shared() -> None:
    assert {m.vendor for m in MODELS} <= set(VENDOR_PREFIXES)
    flat = [p for ps in VENDOR_PREFIXES.values() for p in ps]
    assert len(flat) == len(set(flat))
    assert all(len(p) == 6 and p == p.lower() for p in flat)


def test_snom_mac_for_a_yealink_model_is_refused_with_what_to_do() -> None:
    with pytest.raises(InvalidInput) as e:
        check_vendor(parse_mac("00:04:13:2a:3b:4c"), get_model("yealink-t46g"))
    assert e.value.field == "mac"
    assert e.value.message == (
        "00:04:13… is a Snom MAC, but you chose Yealink T46G: "
        "pick the right model or scan the right label"
    )


def test_yealink_mac_for_a_snom_model_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"44:DB:D2… is a Yealink MAC, but you chose Snom D785"):
        check_vendor(parse_mac("44dbd26fb9ef"), get_model("snom-d785"))


def test_matching_and_unlisted_prefixes_pass() -> None:
    check_vendor(parse_mac("001565000001"), get_model("yealink-t46g"))
    check_vendor(parse_mac("000413000001"), get_model("snom-d315"))
    # Vendors register new blocks: an unknown prefix is not a reason to turn a phone away.
    check_vendor(parse_mac("3c22fb000001"), get_model("yealink-t46g"))
    assert model_label(get_model("yealink-t54w")) == "Yealink T54W"
