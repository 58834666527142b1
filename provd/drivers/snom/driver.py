"""The Snom driver: which files a phone asks for, and what they contain.

With ``setting_server`` pointing at a directory, a Snom phone asks for
``snom<MODEL>.htm`` and then ``snom<MODEL>-<MAC>.htm``. Each is a
``<setting-files>`` container naming one XML settings file; settings loaded
later override earlier ones, so the per-model file carries only what every
device may see and the per-device file carries everything else.

Firmware: the device settings point ``firmware_status`` at the device's own
``snom<MODEL>-<MAC>-firmware.xml`` (a ``<firmware-settings>`` file naming the
image), and switch ``update_policy`` to ``auto_update``. Snom says that file
must not be listed in a container, so no container names it. Without a
firmware to run, ``firmware_status`` is written empty (a URL left from an
earlier pin is cleared) and the policy stays ``settings_only``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from provd.domain.catalogue import PhoneModel, Vendor
from provd.domain.keys import KeyFunction, KeyLocation
from provd.domain.mac import Mac, try_parse_mac, upper
from provd.domain.timezones import get_zone
from provd.drivers.base import FileRequest, NotThisDevicesFile, UserAgentInfo
from provd.drivers.context import DeviceContext, Key, Line, Network, SipServer, VlanPort
from provd.drivers.snom import timezones
from provd.drivers.snom.models import MODELS
from provd.drivers.snom.useragent import parse_user_agent, sip_firmware

# XML 1.0 forbids most C0 controls, a line break means nothing in a one-line
# setting, and C1 controls, lone surrogates and U+FFFE/U+FFFF are no better.
# Tab is the one control a value may keep.
_UNSAFE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class UnsafeValue(ValueError):
    """A value holds a character that a Snom setting cannot carry."""


def _xml_value(value: object) -> Markup:
    """Jinja ``finalize`` hook: every ``{{ }}`` in a Snom template passes here.

    Free text has already been cleaned by the ``text`` filter; anything unsafe
    left (a password, a host name) must not be silently altered, so it is refused.
    """
    # bool is an int, but "True" is no value a phone understands.
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"a Snom setting must be str or int, not {type(value).__name__}")
    text = str(value)
    if _UNSAFE.search(text):
        # The value itself is left out of the message: it may be a secret.
        raise UnsafeValue("a control character cannot go into a Snom setting")
    # A parser reads a tab in an attribute back as a space; a reference survives.
    return Markup(str(escape(text)).replace("\t", "&#9;"))


def _text(value: str) -> str:
    """Free text (display names, labels): unsafe characters become spaces."""
    return _UNSAFE.sub(" ", value)


_ENV = Environment(
    loader=PackageLoader("provd", "templates/snom"),
    undefined=StrictUndefined,
    autoescape=True,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=_xml_value,
)
_ENV.filters["text"] = _text


class _Kind(Enum):
    MODEL_CONTAINER = "snom{model}.htm"
    MODEL_SETTINGS = "snom{model}.xml"
    DEVICE_CONTAINER = "snom{model}-{mac}.htm"
    DEVICE_SETTINGS = "{mac}.xml"
    FIRMWARE_SETTINGS = "snom{model}-{mac}-firmware.xml"

    def filename(self, model: PhoneModel | None, mac: Mac | None) -> str:
        return self.value.format(model=model.name if model else "", mac=upper(mac) if mac else "")


# A file name names the model as the phone spells it (``snomD785.htm``).
_BY_NAME = {m.name.upper(): m for m in MODELS}
_MODEL = r"snom(?P<model>[a-z0-9]{1,16})"
_MAC = r"(?P<mac>[0-9a-f]{12})"
# Phones spell the MAC in upper case; either case is accepted and normalised.
_PATTERNS = tuple(
    (kind, re.compile(pattern, re.IGNORECASE | re.ASCII))
    for kind, pattern in (
        (_Kind.MODEL_CONTAINER, rf"{_MODEL}\.htm"),
        (_Kind.MODEL_SETTINGS, rf"{_MODEL}\.xml"),
        (_Kind.DEVICE_CONTAINER, rf"{_MODEL}-{_MAC}\.htm"),
        (_Kind.DEVICE_SETTINGS, rf"{_MAC}\.xml"),
        (_Kind.FIRMWARE_SETTINGS, rf"{_MODEL}-{_MAC}-firmware\.xml"),
    )
)


def _parse(filename: str) -> tuple[_Kind, FileRequest] | None:
    for kind, pattern in _PATTERNS:
        if match := pattern.fullmatch(filename):
            return _request(kind, match)
    return None


def _request(kind: _Kind, match: re.Match[str]) -> tuple[_Kind, FileRequest] | None:
    groups = match.groupdict()
    model = mac = None
    if "model" in groups:
        model = _BY_NAME.get(groups["model"].upper())
        if model is None:
            return None
    if "mac" in groups:
        mac = try_parse_mac(groups["mac"])
        if mac is None:
            return None
    return kind, FileRequest(filename=kind.filename(model, mac), mac=mac, model=model)


def _check_model(model: PhoneModel) -> None:
    if model.vendor is not Vendor.SNOM:
        raise ValueError(f"{model.id} is not a Snom model")


class SnomDriver:
    vendor: Vendor = Vendor.SNOM
    name: str = "Snom"

    def parse_user_agent(self, user_agent: str) -> UserAgentInfo | None:
        return parse_user_agent(user_agent)

    def sip_firmware(self, user_agent: str) -> str | None:
        return sip_firmware(user_agent)

    def classify(self, filename: str) -> FileRequest | None:
        """``FileRequest.filename`` is the canonical spelling, the one :meth:`filenames` gives."""
        parsed = _parse(filename)
        return parsed[1] if parsed else None

    def model_from_vendor_class(self, vendor_class: str) -> str | None:
        # Snom sends its phone type ("snomD785").
        if vendor_class.lower().startswith("snom") and len(vendor_class) > 4:
            return vendor_class.split()[0]
        return None

    def filenames(self, mac: Mac, model: PhoneModel) -> tuple[str, ...]:
        _check_model(model)
        return tuple(kind.filename(model, mac) for kind in _Kind)

    def config_file(self, mac: Mac) -> str:
        return _Kind.DEVICE_SETTINGS.filename(None, mac)

    def check_sync_event(self, *, reboot: bool) -> str:
        # reboot=false reloads the settings, reboot=true restarts (vendor facts F).
        return f"check-sync;reboot={'true' if reboot else 'false'}"

    def render(self, ctx: DeviceContext, filename: str) -> bytes:
        _check_model(ctx.model)
        parsed = _parse(filename)
        if parsed is None or parsed[1].filename not in self.filenames(ctx.mac, ctx.model):
            raise NotThisDevicesFile(filename)
        kind = parsed[0]
        if kind is _Kind.MODEL_CONTAINER:
            template, variables = "container.htm.j2", _container(ctx, _Kind.MODEL_SETTINGS)
        elif kind is _Kind.DEVICE_CONTAINER:
            template, variables = "container.htm.j2", _container(ctx, _Kind.DEVICE_SETTINGS)
        elif kind is _Kind.MODEL_SETTINGS:
            # Rendered from nothing but the template: no device data can leak in.
            template, variables = "model.xml.j2", {}
        elif kind is _Kind.FIRMWARE_SETTINGS:
            template, variables = "firmware.xml.j2", {"firmware": ctx.firmware}
        else:
            template, variables = "device.xml.j2", _device_variables(ctx)
        return _ENV.get_template(template).render(variables).encode("utf-8")


def _url(ctx: DeviceContext, filename: str) -> str:
    # Absolute, because Snom does not document whether a relative URL is resolved
    # against the container or against setting_server, and for a phone sent here
    # by DHCP or PnP those are different places.
    base = ctx.provisioning.base_url
    return (base if base.endswith("/") else base + "/") + filename


def _container(ctx: DeviceContext, listed: _Kind) -> dict[str, Any]:
    return {"urls": [_url(ctx, listed.filename(ctx.model, ctx.mac))]}


@dataclass(frozen=True, slots=True)
class _Identity:
    """One SIP identity slot; an unused one is switched off and emptied."""

    idx: int
    active: bool = False
    realname: str = ""
    user: str = ""
    auth_user: str = ""
    password: str = ""
    host: str = ""
    outbound: str = ""
    idle_text: str = ""


def _outbound(proxy: SipServer) -> str:
    host = proxy.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal, which the port would otherwise run into
    return f"{host}:{proxy.port};transport={proxy.transport.value}"


def _device_variables(ctx: DeviceContext) -> dict[str, Any]:
    model = ctx.model
    by_slot = {line.slot: line for line in ctx.lines}
    if len(by_slot) != len(ctx.lines):
        raise ValueError(f"{ctx.mac}: two lines share a slot")
    if any(not 1 <= slot <= model.accounts for slot in by_slot):
        raise ValueError(f"{ctx.mac}: a {model.name} has line slots 1 to {model.accounts}")
    if ctx.provisioning.resync_minutes < 1:
        raise ValueError(f"{ctx.mac}: the resync interval must be at least a minute")
    outbound = _outbound(ctx.sip_proxy)
    identities = []
    for idx in range(1, model.accounts + 1):
        line = by_slot.get(idx)
        if line is None:
            # Every slot is written, so a line removed since the last sync goes away.
            identities.append(_Identity(idx))
            continue
        identities.append(
            _Identity(
                idx=idx,
                active=True,
                realname=line.display_name,
                user=line.extension,
                auth_user=line.auth_user,
                password=line.password,
                host=line.domain,
                outbound=outbound,
                idle_text=line.label,
            )
        )
    firmware_settings = _Kind.FIRMWARE_SETTINGS.filename(model, ctx.mac)
    return {
        "setting_server": ctx.provisioning.base_url,
        "update_policy": "auto_update" if ctx.firmware else "settings_only",
        "firmware_status": _url(ctx, firmware_settings) if ctx.firmware else "",
        "prov": ctx.provisioning,
        "refresh_seconds": ctx.provisioning.resync_minutes * 60,
        "admin_password": ctx.admin_password,
        "timezone": timezones.NOTATION[get_zone(ctx.time.timezone).iana],
        # ntp_server is documented with one host only; a list form is unconfirmed.
        "ntp_server": ctx.time.ntp_servers[0] if ctx.time.ntp_servers else "",
        "identities": identities,
        "network": _network(ctx.network),
        "fkeys": _fkeys(ctx, by_slot),
    }


# --- Network -----------------------------------------------------------------


def _checked_vlan(port: VlanPort | None, name: str) -> VlanPort | None:
    if port is None:
        return None
    if not 1 <= port.vid <= 4094:
        raise ValueError(f"{name} VLAN id {port.vid} is out of range 1-4094")
    if not 0 <= port.priority <= 7:
        raise ValueError(f"{name} VLAN priority {port.priority} is out of range 0-7")
    return port


def _network(network: Network) -> dict[str, str | int]:
    lan = _checked_vlan(network.lan_vlan, "LAN port")
    pc = _checked_vlan(network.pc_vlan, "PC port")
    # An empty VLAN id is how Snom templates in the field switch tagging off; every
    # key is written either way so that a VLAN removed in provd leaves the phone too.
    # A priority without a VLAN means nothing, so it goes back to the default 0.
    return {
        "vlan_id": lan.vid if lan else "",
        "vlan_qos": lan.priority if lan else 0,
        "vlan_pc_id": pc.vid if pc else "",
        "vlan_pc_priority": pc.priority if pc else 0,
        "vlan_port_tagging": "on" if pc else "off",
        "lldp_enable": "on" if network.lldp else "off",
    }


# --- Function keys -----------------------------------------------------------
#
# Page labels of expansion modules are not rendered: a D7 has a single page and
# Snom documents no setting for a page title.


@dataclass(frozen=True, slots=True)
class _FKey:
    idx: int
    """0-based; expansion module keys continue after the phone's own keys."""
    context: str
    """The identity (line slot) the key acts on, or "active" for whichever is in use."""
    label: str
    perm: str
    value: str
    """Snom's ``TYPE [ARGUMENT]``, e.g. ``blf sip:203@acme.example.net|*8``."""


# Snom's own notion of a free key: a line key without an identity. Used where no
# layout exists, so that a phone without one behaves as it left the factory.
_FREE_LINE = "line"
# Inside a layout, a key the admin did not program shows nothing.
_UNSET = "none"
# "!" leaves a key nobody programmed to the user, while still letting provisioning
# clear it as long as the user has not touched it (e.g. a key removed from a layout).
_FREE_PERM = "!"
_PROGRAMMED_PERM = "R"

# Key events of the phone's own feature keys (field templates give dkey_dnd,
# dkey_transfer and dkey_retrieve these values; F_DND has a Snom wiki page).
# They serve the functions that may come without a target.
_KEYEVENTS = {
    KeyFunction.DND: "F_DND",
    KeyFunction.TRANSFER: "F_TRANSFER",
    KeyFunction.FORWARD: "F_REDIRECT",
    KeyFunction.VOICEMAIL: "F_RETRIEVE",
}
# Snom key types that take the key's target as their argument.
_TYPES = {
    KeyFunction.SPEED_DIAL: "speed",
    KeyFunction.PARK: "orbit",
    KeyFunction.TRANSFER: "transfer",
    KeyFunction.FORWARD: "redirect",
    KeyFunction.INTERCOM: "icom",
    KeyFunction.URL: "url",
    KeyFunction.DTMF: "dtmf",
}


def _attached_modules(ctx: DeviceContext) -> int:
    exp = ctx.model.expansion
    limit = exp.max_count if exp else 0
    if not 0 <= ctx.expansion_modules <= limit:
        raise ValueError(
            f"{ctx.mac}: a {ctx.model.name} takes 0 to {limit} expansion modules,"
            f" not {ctx.expansion_modules}"
        )
    return ctx.expansion_modules


def _fkey_idx(model: PhoneModel, location: KeyLocation, modules: int) -> int | None:
    """The fkey idx of a key location; None for a key on a module not attached."""
    if location.module == 0:
        if not 1 <= location.index <= model.line_keys:
            raise ValueError(f"the {model.name} has no key {location}")
        return location.index - 1
    exp = model.expansion
    if exp is None or location.module < 1 or not 1 <= location.index <= exp.keys:
        raise ValueError(f"the {model.name} has no key {location}")
    if location.module > modules:
        # Kept in the layout for when the module is plugged in again.
        return None
    return model.line_keys + (location.module - 1) * exp.keys + location.index - 1


def _key_count(model: PhoneModel, modules: int) -> int:
    return model.line_keys + (model.expansion.keys * modules if model.expansion else 0)


def _context(slot: int, by_slot: dict[int, Line]) -> str:
    # A key bound to an identity that is switched off could not act at all.
    return str(slot) if slot in by_slot else "active"


def _blf_uri(key: Key, by_slot: dict[int, Line]) -> str:
    # The watched colleague is in the tenant of the line the key belongs to.
    extension = _argument(key, separators="|")
    line = by_slot.get(key.line) or by_slot.get(1)
    return f"sip:{extension}@{line.domain}" if line else extension


def _argument(key: Key, *, separators: str = "") -> str:
    value = key.value
    if not value:
        raise ValueError(f"key {key.location}: a {key.function} key needs a target")
    # Snom reads a key as TYPE, one space, ARGUMENT; a BLF's argument ends at "|".
    if any(c.isspace() or c in separators for c in value):
        raise ValueError(f"key {key.location}: {value!r} cannot be a Snom key argument")
    return value


def _snom_value(key: Key, ctx: DeviceContext, by_slot: dict[int, Line]) -> str:
    function = key.function
    if function is KeyFunction.LINE:
        return "line"
    if function is KeyFunction.BLF:
        # The phone dials the code and the extension to pick up the watched call.
        pickup = f"|{ctx.pickup_code}" if ctx.pickup_code else ""
        return f"blf {_blf_uri(key, by_slot)}{pickup}"
    if function in (KeyFunction.PICKUP, KeyFunction.GROUP_PICKUP):
        # Snom has no pickup key type: the key dials the PBX's pickup code,
        # followed by the extension for a directed pickup.
        if not ctx.pickup_code:
            raise ValueError(f"key {key.location}: a pickup key needs a pickup code")
        return f"speed {ctx.pickup_code}{_argument(key) if key.value else ''}"
    if function in _KEYEVENTS and not key.value:
        return f"keyevent {_KEYEVENTS[function]}"
    if function is KeyFunction.PARK and not key.value:
        # An orbit key needs the orbit to park in and to watch; Snom documents
        # nothing else a park key could do.
        return _UNSET
    if function in _TYPES:
        return f"{_TYPES[function]} {_argument(key)}"
    if key.value:
        raise ValueError(f"key {key.location}: a {function} key takes no target")
    return _UNSET  # KeyFunction.NONE


def _fkeys(ctx: DeviceContext, by_slot: dict[int, Line]) -> list[_FKey]:
    """Every key of the phone and of its attached modules, programmed or explicitly free."""
    model = ctx.model
    modules = _attached_modules(ctx)
    keys = ctx.keys
    free = _UNSET
    if not keys:
        # Without a layout, key N shows line N for every line slot that has a key.
        keys = tuple(
            Key(KeyLocation(0, slot), KeyFunction.LINE, str(slot), line.label, slot)
            for slot, line in by_slot.items()
            if slot <= model.line_keys
        )
        free = _FREE_LINE
    programmed: dict[int, _FKey] = {}
    for key in keys:
        idx = _fkey_idx(model, key.location, modules)
        if idx is None:
            continue
        if idx in programmed:
            raise ValueError(f"{ctx.mac}: key {key.location} is programmed twice")
        context = _context(key.line, by_slot)
        value = _snom_value(key, ctx, by_slot)
        programmed[idx] = _FKey(idx, context, key.label, _PROGRAMMED_PERM, value)
    return [
        programmed.get(idx) or _FKey(idx, "active", "", _FREE_PERM, free)
        for idx in range(_key_count(model, modules))
    ]


DRIVER = SnomDriver()
