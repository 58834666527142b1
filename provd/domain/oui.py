"""Which vendor made a phone, from the first three bytes of its MAC (the OUI).

The prefixes themselves are vendor facts and live with each vendor's driver
(``drivers/<vendor>/oui.py``, assembled by ``drivers/registry.py``); this module holds
the rule that uses them. A MAC with an unlisted prefix is not refused: vendors keep
registering new blocks, and a phone must not be turned away for that.
"""

from __future__ import annotations

from provd.domain.catalogue import PhoneModel, Vendor
from provd.domain.errors import InvalidInput
from provd.domain.mac import Mac


def oui(mac: Mac) -> str:
    """The prefix as the vendor tables list it: six lower-case hex digits."""
    return mac[:6]


def prefix_text(mac: Mac) -> str:
    """``00:04:13``: the OUI as labels and admins write it."""
    return ":".join(mac[i : i + 2] for i in range(0, 6, 2)).upper()


def check_vendor(
    mac: Mac,
    model: PhoneModel,
    *,
    mac_vendor: Vendor | None,
    mac_vendor_name: str,
    model_label: str,
    field: str = "mac",
) -> None:
    """Refuse a MAC whose prefix belongs to another vendor than the chosen model's.

    ``mac_vendor`` is whose registered prefix ``mac`` has (None when unlisted), and the
    names are how the message calls that vendor and the model. A label scanned on the
    wrong box, or the wrong model picked: either way the phone would never get its
    configuration, so say which and what to do.
    """
    if mac_vendor is None or mac_vendor is model.vendor:
        return
    raise InvalidInput(
        field,
        f"{prefix_text(mac)}… is a {mac_vendor_name} MAC, "
        f"but you chose {model_label}: pick the right model or scan the right label",
    )
