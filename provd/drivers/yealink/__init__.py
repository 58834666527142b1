"""Yealink T4x/T5x desk phones: User-Agent parsing and the boot/cfg file driver."""

from provd.drivers.yealink.driver import DRIVER, YealinkDriver
from provd.drivers.yealink.useragent import parse_user_agent

__all__ = ["DRIVER", "YealinkDriver", "parse_user_agent"]
