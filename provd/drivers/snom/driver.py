"""The Snom driver: which files a phone asks for, and what they contain.

With ``setting_server`` pointing at a directory, a Snom phone asks for
``snom<MODEL>.htm`` and then ``snom<MODEL>-<MAC>.htm``. Each is a
``<setting-files>`` container naming one XML settings file; settings loaded
later override earlier ones, so the per-model file carries only what every
device may see and the per-device file carries everything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from provd.domain.catalogue import PhoneModel, Vendor, find_model
from provd.domain.mac import Mac, try_parse_mac, upper
from provd.domain.timezones import get_zone
from provd.drivers.base import FileRequest, UserAgentInfo
from provd.drivers.context import DeviceContext, SipServer
from provd.drivers.snom.useragent import parse_user_agent

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

    def filename(self, model: PhoneModel | None, mac: Mac | None) -> str:
        return self.value.format(model=model.name if model else "", mac=upper(mac) if mac else "")


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
        model = find_model(Vendor.SNOM, groups["model"])
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

    def parse_user_agent(self, user_agent: str) -> UserAgentInfo | None:
        return parse_user_agent(user_agent)

    def classify(self, filename: str) -> FileRequest | None:
        """``FileRequest.filename`` is the canonical spelling, the one :meth:`filenames` gives."""
        parsed = _parse(filename)
        return parsed[1] if parsed else None

    def filenames(self, mac: Mac, model: PhoneModel) -> tuple[str, ...]:
        _check_model(model)
        return tuple(kind.filename(model, mac) for kind in _Kind)

    def render(self, ctx: DeviceContext, filename: str) -> bytes:
        _check_model(ctx.model)
        parsed = _parse(filename)
        if parsed is None or parsed[1].filename not in self.filenames(ctx.mac, ctx.model):
            raise KeyError(filename)
        kind = parsed[0]
        if kind is _Kind.MODEL_CONTAINER:
            template, variables = "container.htm.j2", _container(ctx, _Kind.MODEL_SETTINGS)
        elif kind is _Kind.DEVICE_CONTAINER:
            template, variables = "container.htm.j2", _container(ctx, _Kind.DEVICE_SETTINGS)
        elif kind is _Kind.MODEL_SETTINGS:
            # Rendered from nothing but the template: no device data can leak in.
            template, variables = "model.xml.j2", {}
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


@dataclass(frozen=True, slots=True)
class _LineKey:
    idx: int
    context: str
    label: str
    perm: str


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
    keys = []
    for idx in range(1, min(model.accounts, model.line_keys) + 1):
        line = by_slot.get(idx)
        if line is None:
            # A free key stays a call appearance; "!" lets the user repurpose it.
            keys.append(_LineKey(idx - 1, "active", "", "!"))
        else:
            keys.append(_LineKey(idx - 1, str(idx), line.label, "R"))
    return {
        "setting_server": ctx.provisioning.base_url,
        "prov": ctx.provisioning,
        "refresh_seconds": ctx.provisioning.resync_minutes * 60,
        "admin_password": ctx.admin_password,
        "timezone": get_zone(ctx.time.timezone).snom_code,
        # ntp_server is documented with one host only; a list form is unconfirmed.
        "ntp_server": ctx.time.ntp_servers[0] if ctx.time.ntp_servers else "",
        "identities": identities,
        "fkeys": keys,
    }


DRIVER = SnomDriver()
