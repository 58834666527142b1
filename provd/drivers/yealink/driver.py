"""The Yealink driver: which files a phone asks for, and what they contain.

A phone on firmware V81 or later fetches ``<mac>.boot`` (or, failing that,
``y000000000000.boot``), which includes the model's common file and then the
device file. Older firmware skips the boot file and fetches the two ``.cfg``
files itself, in the same order but without ``overwrite_mode``: that is why
unused account slots, unset keys and untagged ports are written out
explicitly rather than left out.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from provd.domain.catalogue import PhoneModel, Vendor
from provd.domain.keys import KeyFunction, KeyLocation
from provd.domain.mac import Mac, try_parse_mac
from provd.domain.service_codes import (
    DND_OFF,
    DND_ON,
    FORWARD_CLEAR,
    FORWARD_SET_PREFIX,
    ForwardCase,
)
from provd.domain.timezones import get_zone
from provd.drivers.base import FileRequest, NotThisDevicesFile, UserAgentInfo
from provd.drivers.context import DeviceContext, Key, Transport, VlanPort
from provd.drivers.yealink import timezones
from provd.drivers.yealink.models import MODELS
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

# 802.1Q leaves VID 0 and 4095 reserved; 802.1p has eight priorities.
_VLAN_IDS = range(1, 4095)
_VLAN_PRIORITIES = range(8)

# Yealink's DSS key type codes, as listed in its template comments (vendor
# facts A2). Every vendor-neutral function must have one: a test checks it.
DSS_TYPE: dict[KeyFunction, int] = {
    KeyFunction.NONE: 0,
    KeyFunction.FORWARD: 2,
    KeyFunction.TRANSFER: 3,
    KeyFunction.DND: 5,
    KeyFunction.PICKUP: 9,
    KeyFunction.PARK: 10,
    KeyFunction.DTMF: 11,
    KeyFunction.VOICEMAIL: 12,
    KeyFunction.SPEED_DIAL: 13,
    KeyFunction.INTERCOM: 14,
    KeyFunction.LINE: 15,
    KeyFunction.BLF: 16,
    KeyFunction.URL: 17,
    KeyFunction.GROUP_PICKUP: 23,
}

# Do-not-disturb and call forwarding live on the server, so the phone's DND key
# and forward menu must dial provd's service codes rather than act on the phone
# alone. Yealink's administrator guides for the T2/T4/T5 series (call features
# chapter, the DND and call forward sections; the T4x auto provisioning guide
# names the same per-account settings) give every account an "on code" and an
# "off code" for DND and for the always, busy and no-answer forwards: the phone
# dials the on code when the user switches the feature on for that account,
# with the forward's target appended, and the off code when it is switched off.
# Those per-account codes are read only in "custom" mode (features.dnd_mode and
# features.fwd_mode = 1). "Phone" mode (0) has one code for all accounts and the
# guides do not say which account dials it; custom mode makes each line dial as
# its own user, the user provd applies the code to. Forward when unreachable has
# no phone setting: a phone cannot tell that it is unreachable.
_DND_MODE_CUSTOM = 1
_FWD_MODE_CUSTOM = 1
# Setting prefix (after ``account.N.``) of each forward the phone knows.
_FORWARD_SETTING: dict[ForwardCase, str] = {
    "always": "always_fwd",
    "busy": "busy_fwd",
    "no-answer": "timeout_fwd",
}

_MAC_FILE = re.compile(r"(?P<mac>[0-9a-fA-F]{12})\.(?P<ext>boot|cfg)")
_COMMON_FILE = re.compile(r"y(?P<id>[0-9]{12})\.cfg")


def _by_common_id() -> dict[str, PhoneModel]:
    # Models sharing a product id share the file, so the first one stands for all.
    table: dict[str, PhoneModel] = {}
    for model in MODELS:
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
    # The common case first, as this runs for every value of every file: printable
    # text holds none of _LINE_BREAKING's characters (all are Cc, Zl or Zp).
    if type(value) is str and value.isprintable():
        return value
    if type(value) is int:
        return str(value)
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


def _spaced(value: str) -> str:
    """`` value`` after a ``key =``, or nothing when the value is empty.

    Yealink's own template and FusionPBX's write empty values as ``key =``;
    this keeps the hundreds of blank key fields free of trailing whitespace.
    """
    return f" {value}" if value else ""


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
_ENV.filters["spaced"] = _spaced


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
    name: str = "Yealink"

    def parse_user_agent(self, user_agent: str) -> UserAgentInfo | None:
        return parse_user_agent(user_agent)

    def sip_firmware(self, user_agent: str) -> str | None:
        # The phone sends the same User-Agent over SIP as over HTTP.
        info = parse_user_agent(user_agent)
        return info.firmware if info is not None else None

    def classify(self, filename: str) -> FileRequest | None:
        parsed = _parse(filename)
        return parsed[1] if parsed else None

    def model_from_vendor_class(self, vendor_class: str) -> str | None:
        # Yealink sends only "yealink" by default.
        return None

    def filenames(self, mac: Mac, model: PhoneModel) -> tuple[str, ...]:
        _check_model(model)
        return (f"{mac}.boot", _common_file(model), f"{mac}.cfg")

    def config_file(self, mac: Mac) -> str:
        return f"{mac}.cfg"

    def check_sync_event(self, *, reboot: bool) -> str:
        # A resync without a reboot needs sip.notify_reboot_enable = 0, which the device
        # file sets; the phone then obeys reboot= (vendor facts F). The parameter is
        # written out either way: it documents the intent in SIP traces.
        return f"check-sync;reboot={'true' if reboot else 'false'}"

    def render(self, ctx: DeviceContext, filename: str) -> bytes:
        _check_model(ctx.model)
        parsed = _parse(filename)
        if parsed is None or not _belongs_to(parsed[1], ctx):
            raise NotThisDevicesFile(filename)
        kind = parsed[0]
        if kind is _Kind.COMMON:
            return _common_file_of(ctx.model)
        variables = _boot_variables(ctx) if kind is _Kind.BOOT else _device_variables(ctx)
        return _ENV.get_template(kind.value).render(variables).encode("utf-8")


@functools.cache
def _common_file_of(model: PhoneModel) -> bytes:
    # Made of the model and the platform's constants only, the same for every phone of
    # the model: rendered once per process instead of once per boot.
    return _ENV.get_template(_Kind.COMMON.value).render(_common_variables(model)).encode("utf-8")


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
        "dnd_mode": _DND_MODE_CUSTOM,
        "fwd_mode": _FWD_MODE_CUSTOM,
        # The codes are the platform's, the same for every tenant and account,
        # so they belong in the model-wide file.
        "dnd_codes": (DND_ON, DND_OFF),
        "forward_codes": [
            (setting, FORWARD_SET_PREFIX[case], FORWARD_CLEAR[case])
            for case, setting in _FORWARD_SETTING.items()
        ],
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
        "zone_name": timezones.NOTATION[zone.iana],
        "tz_offset": f"{zone.utc_offset:+d}" if zone.utc_offset else "0",
        "summer_time": _AUTO_DST if zone.dst else _NO_DST,
        # The phone has two NTP server settings; further servers cannot be expressed.
        "ntp_servers": ctx.time.ntp_servers[:2],
        "lines": sorted(ctx.lines, key=lambda line: line.slot),
        "unused_slots": [n for n in range(1, ctx.model.accounts + 1) if n not in slots],
        "proxy": ctx.sip_proxy,
        "transport_type": _TRANSPORT_TYPE[ctx.sip_proxy.transport],
        "key_groups": _key_groups(ctx),
        "lan_vlan": _checked_vlan(ctx, ctx.network.lan_vlan, "LAN port"),
        "pc_vlan": _checked_vlan(ctx, ctx.network.pc_vlan, "PC port"),
        "lldp": int(ctx.network.lldp),
        # Written only when provd manages the firmware. A URL left on the phone
        # from an earlier pin does no harm: provd serves an image only to
        # devices that should run it, so the phone's fetch fails and it stays.
        "firmware": ctx.firmware,
    }


@dataclass(frozen=True, slots=True)
class _DssKey:
    """One key as the phone's ``<prefix>.type/line/value/label/extension/pickup_value``."""

    type: int
    line: int = 1
    value: str = ""
    label: str = ""
    extension: str = ""
    pickup_value: str = ""


# Type 0 is "N/A". Every field is written, so nothing of a key's former use
# (a BLF target, a label) survives on the phone once the key is unset.
_UNSET = _DssKey(type=0)


@dataclass(frozen=True, slots=True)
class _KeyGroup:
    title: str
    keys: list[tuple[str, _DssKey]]
    """(setting prefix, key) in key order, e.g. ("expansion_module.2.key.7", ...)."""


def _key_groups(ctx: DeviceContext) -> list[_KeyGroup]:
    """Every line key of the model and every key of each attached module.

    Keys the layout does not set are rendered unset; keys on modules that are
    not attached, or beyond the model's key counts, are not rendered at all.
    Page descriptions (``ctx.page_labels``) are not sent: no Yealink
    configuration setting for naming an expansion-module page was found in
    the vendor's templates or guides (only ``expansion_module.X.key.Y.*`` and
    ``expansion_module.page_tip.*``, which is about call alerts).
    """
    model = ctx.model
    exp = model.expansion
    most = exp.max_count if exp is not None else 0
    if not 0 <= ctx.expansion_modules <= most:
        raise ValueError(f"{ctx.mac}: a {model.name} takes 0 to {most} expansion modules")
    by_location: dict[KeyLocation, Key] = {}
    for key in ctx.keys or _default_keys(ctx):
        if key.location in by_location:
            raise ValueError(f"{ctx.mac}: two keys at {key.location}")
        by_location[key.location] = key

    def at(module: int, index: int) -> _DssKey:
        key = by_location.get(KeyLocation(module, index))
        return _UNSET if key is None else _dss_key(ctx, key)

    groups = [
        _KeyGroup(
            "Line keys",
            [(f"linekey.{n}", at(0, n)) for n in range(1, model.line_keys + 1)],
        )
    ]
    if exp is not None:
        groups += [
            _KeyGroup(
                f"Expansion module {m} ({exp.name}, {exp.pages} pages of {exp.keys_per_page} keys)",
                [(f"expansion_module.{m}.key.{n}", at(m, n)) for n in range(1, exp.keys + 1)],
            )
            for m in range(1, ctx.expansion_modules + 1)
        ]
    return groups


def _default_keys(ctx: DeviceContext) -> tuple[Key, ...]:
    """Without any layout, the first keys show the device's lines, one each.

    The factory default makes keys 1-16 line keys whether or not an account
    is set. Here key N shows the N-th line in slot order, so a gap in the
    slots (a removed line) never leaves a key on a disabled account.
    """
    slots = sorted(line.slot for line in ctx.lines)[: ctx.model.line_keys]
    return tuple(
        Key(KeyLocation(0, n), KeyFunction.LINE, str(slot), "", line=slot)
        for n, slot in enumerate(slots, start=1)
    )


def _dss_key(ctx: DeviceContext, key: Key) -> _DssKey:
    if not 1 <= key.line <= ctx.model.accounts:
        raise ValueError(
            f"{ctx.mac}: key {key.location} uses line {key.line}; "
            f"a {ctx.model.name} has lines 1 to {ctx.model.accounts}"
        )
    code = DSS_TYPE[key.function]
    if key.function is KeyFunction.LINE:
        # A line key shows the account in ``line``; its value is unused.
        return _DssKey(code, key.line, label=key.label)
    if key.function is KeyFunction.BLF:
        # ``extension`` is the pickup code: pressing the key while the watched
        # extension rings dials the code followed by the value. Newer firmware
        # reads ``pickup_value`` instead; the open projects that write it
        # (wazo-provd-plugins among them) give it the code alone, never code
        # plus extension, so both carry the same code.
        return _DssKey(
            code,
            key.line,
            key.value,
            key.label,
            extension=ctx.pickup_code,
            pickup_value=ctx.pickup_code,
        )
    # Every other function takes its target (if any) as the value: the number
    # of a speed dial, forward or blind transfer, the park orbit, the extension
    # to pick up or call on intercom, DTMF tones, a URL.
    return _DssKey(code, key.line, key.value, key.label)


def _checked_vlan(ctx: DeviceContext, port: VlanPort | None, which: str) -> VlanPort | None:
    # The service validates VLANs; a bad one reaching a phone could cut it off
    # the network, so the driver refuses it too.
    if port is None:
        return None
    if port.vid not in _VLAN_IDS:
        raise ValueError(f"{ctx.mac}: the {which} VLAN id must be 1 to 4094, not {port.vid}")
    if port.priority not in _VLAN_PRIORITIES:
        raise ValueError(
            f"{ctx.mac}: the {which} VLAN priority must be 0 to 7, not {port.priority}"
        )
    return port


DRIVER = YealinkDriver()
