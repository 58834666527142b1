"""The vendors provd knows, assembled from their folders: each ``drivers/<vendor>/`` holds
every fact about its phones (``driver.py``, ``useragent.py``, ``oui.py``, ``models.py``), and
this is the one place that lists the folders. Everything else looks vendors up here, by
vendor, by requested file, by User-Agent or by MAC prefix, and models up in ``CATALOGUE``.
"""

from __future__ import annotations

from dataclasses import dataclass

from provd.domain import oui
from provd.domain.catalogue import Catalogue, PhoneModel, Vendor
from provd.domain.mac import Mac
from provd.drivers import snom, yealink
from provd.drivers.base import Driver, FileRequest, UserAgentInfo
from provd.drivers.snom import models as snom_models
from provd.drivers.snom import oui as snom_oui
from provd.drivers.yealink import models as yealink_models
from provd.drivers.yealink import oui as yealink_oui


@dataclass(frozen=True, slots=True)
class VendorParts:
    """One vendor folder, as the registry reads it."""

    driver: Driver
    prefixes: tuple[str, ...]
    """``oui.PREFIXES``: the MAC prefixes registered to the vendor."""
    models: tuple[PhoneModel, ...]
    """``models.MODELS``: the vendor's models provd provisions."""


VENDORS: dict[Vendor, VendorParts] = {
    Vendor.YEALINK: VendorParts(yealink.DRIVER, yealink_oui.PREFIXES, yealink_models.MODELS),
    Vendor.SNOM: VendorParts(snom.DRIVER, snom_oui.PREFIXES, snom_models.MODELS),
}

CATALOGUE = Catalogue(m for parts in VENDORS.values() for m in parts.models)
"""Every model of every vendor, in the order of ``VENDORS``: what the CLI, API and console
list, and what code below the drivers is handed when it must look a model up."""
MODELS: tuple[PhoneModel, ...] = CATALOGUE.models
get_model = CATALOGUE.get

DRIVERS: dict[Vendor, Driver] = {vendor: parts.driver for vendor, parts in VENDORS.items()}
VENDOR_PREFIXES: dict[Vendor, tuple[str, ...]] = {
    vendor: parts.prefixes for vendor, parts in VENDORS.items()
}
_BY_PREFIX = {prefix: vendor for vendor, ps in VENDOR_PREFIXES.items() for prefix in ps}


def driver_for(vendor: Vendor | str) -> Driver:
    return DRIVERS[Vendor(vendor)]


def classify(filename: str) -> tuple[Driver, FileRequest] | None:
    """Which vendor's phones ask for this file, and what it is. File names never overlap."""
    for driver in DRIVERS.values():
        request = driver.classify(filename)
        if request is not None:
            return driver, request
    return None


def parse_user_agent(user_agent: str) -> UserAgentInfo | None:
    for driver in DRIVERS.values():
        info = driver.parse_user_agent(user_agent)
        if info is not None:
            return info
    return None


def model_from_vendor_class(vendor_class: str | None) -> str | None:
    """The model a DHCP vendor class names, as the phone spells it, if any vendor's does."""
    if not vendor_class:
        return None
    for driver in DRIVERS.values():
        model = driver.model_from_vendor_class(vendor_class)
        if model is not None:
            return model
    return None


def vendor_of(mac: Mac) -> Vendor | None:
    """The vendor whose registered prefix ``mac`` starts with, or None if unlisted."""
    return _BY_PREFIX.get(oui.oui(mac))


def vendor_name(vendor: Vendor) -> str:
    return DRIVERS[vendor].name


def model_label(model: PhoneModel) -> str:
    """How an installer names the model: ``Yealink T46G``, ``Snom D785``."""
    return f"{vendor_name(model.vendor)} {model.name}"


def check_vendor(mac: Mac, model: PhoneModel, *, field: str = "mac") -> None:
    """:func:`provd.domain.oui.check_vendor` with the registered prefixes."""
    mac_vendor = vendor_of(mac)
    oui.check_vendor(
        mac,
        model,
        mac_vendor=mac_vendor,
        mac_vendor_name=vendor_name(mac_vendor) if mac_vendor is not None else "",
        model_label=model_label(model),
        field=field,
    )
