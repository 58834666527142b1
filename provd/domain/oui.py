"""Which vendor made a phone, from the first three bytes of its MAC (the OUI).

Only prefixes registered to the vendor are listed: the IEEE list as Debian's
ieee-data 2022-08-27 ships it, and for 44:DB:D2 and C4:FC:22 (registered later)
the Wireshark manufacturer table bundled with scapy 2.8. Prefixes that open
projects treat as Yealink without a registration (E4:34:D7, EC:1D:A9, …) are
left out, and so is 00:08:7B (RTX, the maker of Snom's DECT bases, which provd
does not provision). A MAC with an unlisted prefix is not refused: vendors keep
registering new blocks, and a phone must not be turned away for that.
"""

from __future__ import annotations

from provd.domain.catalogue import PhoneModel, Vendor
from provd.domain.errors import InvalidInput
from provd.domain.mac import Mac

VENDOR_PREFIXES: dict[Vendor, tuple[str, ...]] = {
    Vendor.YEALINK: ("001565", "805ec0", "805e0c", "249ad8", "44dbd2", "c4fc22"),
    Vendor.SNOM: ("000413",),
}

_BY_PREFIX = {prefix: vendor for vendor, ps in VENDOR_PREFIXES.items() for prefix in ps}
_VENDOR_NAMES = {Vendor.YEALINK: "Yealink", Vendor.SNOM: "Snom"}


def vendor_name(vendor: Vendor) -> str:
    return _VENDOR_NAMES[vendor]


def vendor_of(mac: Mac) -> Vendor | None:
    """The vendor whose registered prefix ``mac`` starts with, or None if unlisted."""
    return _BY_PREFIX.get(mac[:6])


def prefix_text(mac: Mac) -> str:
    """``00:04:13``: the OUI as labels and admins write it."""
    return ":".join(mac[i : i + 2] for i in range(0, 6, 2)).upper()


def model_label(model: PhoneModel) -> str:
    """How an installer names the model: ``Yealink T46G``, ``Snom D785``."""
    return f"{vendor_name(model.vendor)} {model.name}"


def check_vendor(mac: Mac, model: PhoneModel, *, field: str = "mac") -> None:
    """Refuse a MAC whose prefix belongs to another vendor than the chosen model's.

    A label scanned on the wrong box, or the wrong model picked: either way the
    phone would never get its configuration, so say which and what to do.
    """
    vendor = vendor_of(mac)
    if vendor is None or vendor is model.vendor:
        return
    raise InvalidInput(
        field,
        f"{prefix_text(mac)}… is a {vendor_name(vendor)} MAC, "
        f"but you chose {model_label(model)}: pick the right model or scan the right label",
    )
