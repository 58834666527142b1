"""Registration status: Kamailio's location table (``ul.dump``/``ul.lookup``) as typed records.

Kamailio keeps registrations in memory, so the RPC, not the database, is the
source of truth (with SQLite write-back the table lags by up to 10 s).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from provd.pbx.errors import RpcError
from provd.pbx.rpc import KamailioRpc

USRLOC_TABLE = "location"
_NOT_SET = "[not set]"
# sip:user@host:port;params  or  sip:[v6]:port  — we want host and port.
_HOSTPORT = re.compile(r"^sips?:(?:[^@;>]*@)?(\[[0-9a-fA-F:.]+\]|[^:;>?]+)(?::(\d+))?")


@dataclass(frozen=True, slots=True)
class SipAddress:
    host: str
    port: int | None

    def __str__(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"


def parse_hostport(uri: str) -> SipAddress | None:
    m = _HOSTPORT.match(uri.strip().strip("<>"))
    if m is None:
        return None
    return SipAddress(m.group(1).strip("[]"), int(m.group(2)) if m.group(2) else None)


@dataclass(frozen=True, slots=True)
class ContactBinding:
    """One registered contact of an AoR (one phone, or one line of it)."""

    uri: str
    user_agent: str
    """As the phone sends it, e.g. ``Yealink SIP-T46G 28.83.0.120`` (model + firmware)."""
    lan_address: SipAddress | None
    """The address the phone puts in its Contact (its own idea, often a LAN address)."""
    wan_address: SipAddress | None
    """Where its REGISTER came from (after NAT): where Kamailio sends requests."""
    expires_in: int
    """Seconds until the binding lapses unless the phone re-registers."""
    expires_at: datetime
    socket: str
    instance: str | None

    @property
    def behind_nat(self) -> bool:
        return (
            self.wan_address is not None
            and self.lan_address is not None
            and self.wan_address != self.lan_address
        )


@dataclass(frozen=True, slots=True)
class Registration:
    aor: str
    contacts: tuple[ContactBinding, ...] = ()

    @property
    def registered(self) -> bool:
        return bool(self.contacts)


def _opt(value: Any) -> str | None:
    if value is None or value == _NOT_SET or value == "":
        return None
    return str(value)


def parse_contact(raw: Mapping[str, Any], *, now: datetime | None = None) -> ContactBinding:
    now = now or datetime.now(UTC)
    uri = str(raw.get("Address", ""))
    expires = raw.get("Expires", 0)
    # "permanent" for bindings added by hand without expiry.
    expires_in = int(expires) if isinstance(expires, int) else 0
    received = _opt(raw.get("Received"))
    lan = parse_hostport(uri)
    return ContactBinding(
        uri=uri,
        user_agent=str(raw.get("User-Agent", "")),
        lan_address=lan,
        wan_address=parse_hostport(received) if received else lan,
        expires_in=expires_in,
        expires_at=(now + timedelta(seconds=expires_in)).replace(microsecond=0),
        socket=str(raw.get("Socket", "")),
        instance=_opt(raw.get("Instance")),
    )


# usrloc keeps an unregistered or lapsed contact until its timer runs (with
# write-back, until the next flush) and dumps it with one of these instead of
# the seconds left: it is no binding any more.
_GONE = ("deleted", "expired")


def _contacts(info: Mapping[str, Any], now: datetime | None) -> tuple[ContactBinding, ...]:
    out = []
    for item in info.get("Contacts") or ():
        raw = item.get("Contact", item)
        if raw.get("Expires") in _GONE:
            continue
        out.append(parse_contact(raw, now=now))
    return tuple(out)


def parse_lookup(
    aor: str, result: Mapping[str, Any], *, now: datetime | None = None
) -> Registration:
    """The result of ``ul.lookup location <aor>``."""
    return Registration(aor=str(result.get("AoR", aor)), contacts=_contacts(result, now))


def parse_dump(
    result: Mapping[str, Any], *, now: datetime | None = None
) -> dict[str, Registration]:
    """The result of ``ul.dump``: every registered AoR of the ``location`` table."""
    out: dict[str, Registration] = {}
    for dom in result.get("Domains") or ():
        domain = dom.get("Domain", dom)
        if domain.get("Domain") != USRLOC_TABLE:
            continue
        for item in domain.get("AoRs") or ():
            info = item.get("Info", item)
            aor = str(info["AoR"])
            contacts = _contacts(info, now)
            if contacts:
                out[aor] = Registration(aor=aor, contacts=contacts)
    return out


async def registration(rpc: KamailioRpc, aor: str) -> Registration:
    """One AoR's bindings; an unregistered AoR gives an empty registration."""
    try:
        result = await rpc.call("ul.lookup", USRLOC_TABLE, aor)
    except RpcError as e:
        # Just after its contacts were removed (a kicked user) usrloc keeps the AoR a
        # moment and answers "AOR has no contacts": not registered either.
        if e.not_found or "no contacts" in e.message.lower():
            return Registration(aor=aor)
        raise
    return parse_lookup(aor, result)


async def registrations(rpc: KamailioRpc) -> dict[str, Registration]:
    """Every registered AoR, keyed ``extension@domain`` (one RPC however many phones)."""
    return parse_dump(await rpc.call("ul.dump"))
