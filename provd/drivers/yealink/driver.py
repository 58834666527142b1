"""The Yealink driver: which files a phone asks for, and what they contain.

A phone on firmware V81 or later fetches ``<mac>.boot`` (or, failing that,
``y000000000000.boot``), which includes the model's common file and then the
device file. Older firmware skips the boot file and fetches the two ``.cfg``
files itself, in the same order but without ``overwrite_mode``: that is why
unused account slots are switched off explicitly rather than left out.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from provd.domain.catalogue import PhoneModel, Vendor, models_of
from provd.domain.mac import Mac, try_parse_mac
from provd.domain.timezones import get_zone
from provd.drivers.base import FileRequest, UserAgentInfo
from provd.drivers.context import DeviceContext, Transport
from provd.drivers.yealink.useragent import parse_user_agent

COMMON_BOOT_FILE = "y000000000000.boot"

_TRANSPORT_TYPE = {Transport.UDP: 0, Transport.TCP: 1, Transport.TLS: 2}
_AUTO_DST = 2
_NO_DST = 0
# The phone accepts a resync interval of 1 to 43200 minutes (30 days).
_RESYNC_MINUTES = range(1, 43201)

# Yealink files are ``key = value`` lines with no quoting or escape syntax, so
# a line break inside a value would start a new key. C0/C1 controls (CR, LF,
# NEL, ...) and the Unicode line and paragraph separators are all refused.
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

_MAC_FILE = re.compile(r"(?P<mac>[0-9a-fA-F]{12})\.(?P<ext>boot|cfg)")
_COMMON_FILE = re.compile(r"y(?P<id>[0-9]{12})\.cfg")


def _by_common_id() -> dict[str, PhoneModel]:
    # Models sharing a product id share the file, so the first one stands for all.
    table: dict[str, PhoneModel] = {}
    for model in models_of(Vendor.YEALINK):
        table.setdefault(model.common_id, model)
    return table


_MODELS_BY_COMMON_ID = _by_common_id()


class UnsafeValue(ValueError):
    """A value would break out of its ``key = value`` line."""


def _line_value(value: object) -> str:
    """Jinja ``finalize`` hook: every ``{{ }}`` in a Yealink template ends here.

    Text a person typed goes through the ``text`` filter first, which blanks
    line breaks; anything still unsafe here (a password, a host name) must not
    be silently altered, so it is refused.
    """
    # bool is an int, but "True" is no value a phone understands.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"a Yealink value must be str or int, not {type(value).__name__}")
    rendered = str(value)
    if _LINE_BREAKING.search(rendered):
        # The value itself is left out of the message: it may be a secret.
        raise UnsafeValue("a control character or line break cannot go into a Yealink config")
    return rendered


def _text(value: str) -> str:
    """Free text (labels, display names): each run of line breaks and controls becomes a space."""
    return _LINE_BREAKING.sub(" ", value)


_ENV = Environment(
    loader=PackageLoader("provd", "templates/yealink"),
    undefined=StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_line_value,
)
_ENV.filters["text"] = _text


class _Kind(Enum):
    BOOT = "boot.j2"
    COMMON = "common.cfg.j2"
    DEVICE = "mac.cfg.j2"


def _parse(filename: str) -> tuple[_Kind, FileRequest] | None:
    if filename == COMMON_BOOT_FILE:
        return _Kind.BOOT, FileRequest(filename=filename, mac=None, model=None)
    if match := _COMMON_FILE.fullmatch(filename):
        model = _MODELS_BY_COMMON_ID.get(match["id"])
        if model is None:
            return None
        return _Kind.COMMON, FileRequest(filename=filename, mac=None, model=model)
    if match := _MAC_FILE.fullmatch(filename):
        mac = try_parse_mac(match["mac"])
        if mac is None:
            return None
        kind = _Kind.BOOT if match["ext"] == "boot" else _Kind.DEVICE
        return kind, FileRequest(filename=f"{mac}.{match['ext']}", mac=mac, model=None)
    return None


def _belongs_to(request: FileRequest, ctx: DeviceContext) -> bool:
    if request.mac is not None:
        return request.mac == ctx.mac
    if request.model is not None:
        return request.model.common_id == ctx.model.common_id
    return True  # the common boot file, which the web layer resolved to this device


def _common_file(model: PhoneModel) -> str:
    return f"y{model.common_id}.cfg"


def _check_model(model: PhoneModel) -> None:
    if model.vendor is not Vendor.YEALINK or not model.common_id:
        raise ValueError(f"{model.id} is not a Yealink model")


class YealinkDriver:
    vendor: Vendor = Vendor.YEALINK

    def parse_user_agent(self, user_agent: str) -> UserAgentInfo | None:
        return parse_user_agent(user_agent)

    def classify(self, filename: str) -> FileRequest | None:
        parsed = _parse(filename)
        return parsed[1] if parsed else None

    def filenames(self, mac: Mac, model: PhoneModel) -> tuple[str, ...]:
        _check_model(model)
        return (f"{mac}.boot", _common_file(model), f"{mac}.cfg")

    def render(self, ctx: DeviceContext, filename: str) -> bytes:
        _check_model(ctx.model)
        parsed = _parse(filename)
        if parsed is None or not _belongs_to(parsed[1], ctx):
            raise KeyError(filename)
        kind = parsed[0]
        if kind is _Kind.BOOT:
            variables = _boot_variables(ctx)
        elif kind is _Kind.COMMON:
            variables = _common_variables(ctx.model)
        else:
            variables = _device_variables(ctx)
        return _ENV.get_template(kind.value).render(variables).encode("utf-8")


def _boot_variables(ctx: DeviceContext) -> dict[str, Any]:
    return {
        "mac": ctx.mac,
        "common_file": _common_file(ctx.model),
        "device_file": f"{ctx.mac}.cfg",
    }


def _common_variables(model: PhoneModel) -> dict[str, Any]:
    return {
        "model_name": model.display_name,
        "slots": range(1, model.accounts + 1),
    }


def _device_variables(ctx: DeviceContext) -> dict[str, Any]:
    slots = [line.slot for line in ctx.lines]
    if len(set(slots)) != len(slots):
        raise ValueError(f"{ctx.mac}: two lines share a slot")
    if any(not 1 <= slot <= ctx.model.accounts for slot in slots):
        raise ValueError(f"{ctx.mac}: a {ctx.model.name} has line slots 1 to {ctx.model.accounts}")
    if ctx.provisioning.resync_minutes not in _RESYNC_MINUTES:
        raise ValueError(f"{ctx.mac}: resync interval must be 1 to 43200 minutes")
    zone = get_zone(ctx.time.timezone)
    return {
        "mac": ctx.mac,
        "model_name": ctx.model.display_name,
        "prov": ctx.provisioning,
        "admin_password": ctx.admin_password,
        "zone": zone,
        "tz_offset": f"{zone.utc_offset:+d}" if zone.utc_offset else "0",
        "summer_time": _AUTO_DST if zone.dst else _NO_DST,
        # The phone has two NTP server settings; further servers cannot be expressed.
        "ntp_servers": ctx.time.ntp_servers[:2],
        "lines": sorted(ctx.lines, key=lambda line: line.slot),
        "unused_slots": [n for n in range(1, ctx.model.accounts + 1) if n not in slots],
        "proxy": ctx.sip_proxy,
        "transport_type": _TRANSPORT_TYPE[ctx.sip_proxy.transport],
    }


DRIVER = YealinkDriver()
