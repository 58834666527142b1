"""Snom D3xx/D7xx desk phones: User-Agent parsing and the XML settings driver."""

from provd.drivers.snom.driver import DRIVER, SnomDriver
from provd.drivers.snom.useragent import parse_user_agent

__all__ = ["DRIVER", "SnomDriver", "parse_user_agent"]
