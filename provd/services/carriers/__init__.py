"""Carriers: the upstream SIP providers that reach the telephone network.

A carrier's password (for registering with it) is sealed with the platform's secret
box like every other secret, and no view here returns it: the PBX layer opens it
with :func:`carrier_password` when it configures the registration.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from tortoise.transactions import in_transaction

from provd.db.models import Carrier
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.network import parse_network, parse_proxy
from provd.domain.text import check_printable
from provd.services import audit
from provd.services.carriers.state import probe_answer
from provd.services.platform import Platform

MAX_PRIORITY = 1000
_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_USERNAME = re.compile(r"[A-Za-z0-9._@+\-]{1,64}")


class Transport(StrEnum):
    UDP = "udp"
    TCP = "tcp"
    TLS = "tls"


def carrier_view(c: Carrier) -> dict[str, Any]:
    """What a person set, then the last OPTIONS probe (:mod:`.state`)."""
    probe = probe_answer(c)
    return {
        **_settings_view(c),
        "state": probe.state.value,
        "probe_status": probe.status,
        "probe_reason": probe.reason,
        "probed_at": probe.probed_at.isoformat() if probe.probed_at else None,
    }


def _settings_view(c: Carrier) -> dict[str, Any]:
    """The audit snapshot: what a person set, not what the prober last observed."""
    return {
        "name": c.name,
        "host": c.host,
        "port": c.port,
        "transport": c.transport,
        "username": c.username,
        "registers": c.password_enc is not None,
        "inbound_from": list(c.inbound_from),
        "priority": c.priority,
        "enabled": c.enabled,
        "created_at": c.created_at.isoformat(),
    }


def carrier_address(c: Carrier) -> str:
    """``host:port`` as SIP writes it (an IPv6 host in brackets): where calls go."""
    host = f"[{c.host}]" if ":" in c.host else c.host
    return f"{host}:{c.port}"


def check_carrier_name(name: object, *, field: str = "name") -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name.strip().lower()):
        raise InvalidInput(
            field,
            f"{name!r} is not a carrier name: use 1-40 lower-case letters, digits and"
            " dashes, not starting or ending with a dash",
        )
    return name.strip().lower()


def parse_networks(values: Iterable[str], *, field: str = "inbound_from") -> list[str]:
    """Each value as a network (``192.0.2.0/24``; an address alone is its /32 or /128)."""
    networks: list[str] = []
    for value in values:
        network = parse_network(value, field=field)
        if str(network) not in networks:
            networks.append(str(network))
    return networks


def _names_port(host: str) -> bool:
    """Whether ``HOST[:PORT]`` gives the port (parse_proxy fills in 5060 when it does not)."""
    text = host.strip()
    return "]:" in text if text.startswith("[") else text.count(":") == 1


def _check_priority(priority: object) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidInput("priority", f"{priority!r} is not a whole number")
    if not 0 <= priority <= MAX_PRIORITY:
        raise InvalidInput("priority", f"{priority} is not between 0 and {MAX_PRIORITY}")
    return priority


def _check_credentials(username: str | None, password: str | None) -> None:
    if (username is None) != (password is None):
        missing = "password" if password is None else "username"
        raise InvalidInput(missing, "registering needs both a username and a password")
    if username is not None and not _USERNAME.fullmatch(username):
        raise InvalidInput("username", "use 1-64 letters, digits and . _ @ + -")
    if password is not None:
        if not password or len(password) > 128:
            raise InvalidInput("password", "must be 1 to 128 characters")
        check_printable(password, field="password")


async def add_carrier(
    p: Platform,
    actor: audit.Actor,
    name: str,
    host: str,
    *,
    transport: str = "udp",
    username: str | None = None,
    password: str | None = None,
    inbound_from: Iterable[str] = (),
    priority: int = 10,
) -> Carrier:
    """``host`` is ``HOST[:PORT]``; the port defaults to 5061 for TLS, else 5060.

    The host must resolve (``p.resolve_host``, getaddrinfo with a timeout).
    """
    name = check_carrier_name(name)
    if not isinstance(transport, str) or transport.strip().lower() not in set(Transport):
        raise InvalidInput("transport", f"{transport!r} is not udp, tcp or tls")
    kind = Transport(transport.strip().lower())
    if not isinstance(host, str):
        raise InvalidInput("host", "must be text")
    proxy = parse_proxy(host, field="host")
    port = proxy.port if _names_port(host) else (5061 if kind is Transport.TLS else 5060)
    _check_credentials(username, password)
    networks = parse_networks(inbound_from)
    priority = _check_priority(priority)
    try:
        await p.resolve_host(proxy.host, port)
    except (OSError, TimeoutError, UnicodeError):
        raise InvalidInput("host", f"{proxy.host!r} does not resolve") from None
    async with in_transaction():
        if await Carrier.exists(name=name):
            raise Conflict("name", f"a carrier named {name!r} already exists")
        carrier = await Carrier.create(
            name=name,
            host=proxy.host,
            port=port,
            transport=kind.value,
            username=username,
            password_enc=p.box.seal(password) if password is not None else None,
            inbound_from=networks,
            priority=priority,
        )
        await audit.record(
            actor, AuditAction.CARRIER_ADD, "carrier", name, after=_settings_view(carrier)
        )
    return carrier


async def list_carriers() -> list[Carrier]:
    """By priority (lowest first: tried first), then name."""
    return await Carrier.all().order_by("priority", "name")


async def get_carrier(name: str, *, field: str = "name") -> Carrier:
    try:
        valid = check_carrier_name(name, field=field)
    except InvalidInput:
        raise NotFound("carrier", str(name), field=field) from None
    carrier = await Carrier.get_or_none(name=valid)
    if carrier is None:
        raise NotFound("carrier", valid, field=field)
    return carrier


async def remove_carrier(p: Platform, actor: audit.Actor, name: str) -> None:
    async with in_transaction():
        carrier = await get_carrier(name)
        before = _settings_view(carrier)
        await carrier.delete()
        await audit.record(
            actor, AuditAction.CARRIER_REMOVE, "carrier", carrier.name, before=before
        )


def carrier_password(p: Platform, carrier: Carrier) -> str | None:
    """The registration password in clear, for the PBX configuration only."""
    return p.box.open(carrier.password_enc) if carrier.password_enc is not None else None
