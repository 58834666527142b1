"""The vendor drivers provd knows, looked up by vendor or by requested file."""

from __future__ import annotations

from provd.domain.catalogue import Vendor
from provd.drivers.base import Driver, FileRequest, UserAgentInfo
from provd.drivers.snom.driver import DRIVER as SNOM
from provd.drivers.yealink.driver import DRIVER as YEALINK

DRIVERS: dict[Vendor, Driver] = {Vendor.YEALINK: YEALINK, Vendor.SNOM: SNOM}


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
