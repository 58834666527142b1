"""The vendor check as a pure rule: whose prefix a MAC has is passed in, the domain
knows no vendor's prefixes (they live in ``drivers/<vendor>/oui.py``)."""

from __future__ import annotations

import pytest

from provd.domain.catalogue import PhoneModel, Vendor
from provd.domain.errors import InvalidInput
from provd.domain.mac import parse_mac
from provd.domain.oui import check_vendor, oui, prefix_text

MODEL = PhoneModel(
    id="yealink-t46g",
    vendor=Vendor.YEALINK,
    name="T46G",
    accounts=16,
    line_keys=27,
    expansion=None,
    display_name="Yealink SIP-T46G",
)
MAC = parse_mac("00:04:13:2a:3b:4c")


def test_prefix_forms() -> None:
    assert oui(MAC) == "000413"
    assert prefix_text(MAC) == "00:04:13"


def test_another_vendors_mac_is_refused_in_the_names_given() -> None:
    with pytest.raises(InvalidInput) as e:
        check_vendor(
            MAC,
            MODEL,
            mac_vendor=Vendor.SNOM,
            mac_vendor_name="Snom",
            model_label="Yealink T46G",
            field="label",
        )
    assert e.value.field == "label"
    assert e.value.message == (
        "00:04:13… is a Snom MAC, but you chose Yealink T46G: "
        "pick the right model or scan the right label"
    )


@pytest.mark.parametrize("mac_vendor", [Vendor.YEALINK, None])
def test_the_models_own_vendor_or_an_unlisted_prefix_passes(mac_vendor: Vendor | None) -> None:
    check_vendor(MAC, MODEL, mac_vendor=mac_vendor, mac_vendor_name="", model_label="")
