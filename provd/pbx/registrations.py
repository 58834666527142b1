"""Kamailio's ``uacreg`` table: the registrations Kamailio keeps with carriers that want one.

A carrier with a username and password (``provd carrier add … --username U --password-stdin``)
is registered by Kamailio's ``uac`` module: it sends REGISTER to the carrier, answers the
digest challenge and renews before expiry. The carrier then sends calls for the platform's
numbers to the Contact of that registration, ``sip:<carrier name>@<proxy>``, with the
dialled number in To: the routing table reads it there (``Carrier.registers_as``).

uac needs the password itself (it computes each digest response), so unlike the phones'
HA1 it reaches Kamailio's database in the clear: that database is the PBX's own (mode 0600
on SQLite), and the password is sealed everywhere provd keeps it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from provd.db.models import Carrier
from provd.pbx.database import KamailioDb, StoredRegistration
from provd.pbx.errors import PbxError
from provd.pbx.rpc import KamailioRpc
from provd.security.secretbox import SecretBox

log = logging.getLogger(__name__)

REGISTRATION_EXPIRES_S = 600


@dataclass(frozen=True, slots=True)
class CarrierAccount:
    name: str
    host: str
    port: int
    transport: str
    username: str
    password: str


def derive_registration_rows(
    accounts: Iterable[CarrierAccount], *, local_domain: str
) -> list[StoredRegistration]:
    """The ``uacreg`` rows, sorted by carrier. ``l_uuid`` (the Contact user) is the
    carrier's name; ``local_domain`` the proxy's own address."""
    rows = []
    for a in accounts:
        host = f"[{a.host}]" if ":" in a.host else a.host
        suffix = "" if a.transport == "udp" else f";transport={a.transport}"
        rows.append(
            (
                a.name,
                a.name,
                local_domain,
                a.username,
                a.host,
                a.username,
                a.password,
                f"sip:{host}:{a.port}{suffix}",
                REGISTRATION_EXPIRES_S,
            )
        )
    return sorted(rows)


async def load_carrier_accounts(box: SecretBox) -> list[CarrierAccount]:
    """Enabled carriers that register (tortoise must be initialised)."""
    carriers = await Carrier.filter(enabled=True, password_enc__isnull=False).order_by("name")
    return [
        CarrierAccount(
            name=c.name,
            host=c.host,
            port=c.port,
            transport=c.transport,
            username=c.username or c.name,
            password=box.open(c.password_enc),
        )
        for c in carriers
        if c.password_enc is not None
    ]


async def sync_registrations(
    db: KamailioDb, box: SecretBox, *, local_domain: str, rpc: KamailioRpc | None = None
) -> bool:
    """Make ``uacreg`` match the carriers that register; True when it changed.

    After a change a running Kamailio reloads the table (``uac.reg_reload``): new
    carriers register, removed ones stop being renewed.
    """
    desired = derive_registration_rows(await load_carrier_accounts(box), local_domain=local_domain)
    current = sorted(await db.fetch_registrations())
    if current == desired:
        return False
    await db.replace_registrations(desired)
    if rpc is not None:
        try:
            await rpc.call("uac.reg_reload")
        except PbxError as e:
            # The table stands; Kamailio reads it when it next starts.
            log.warning("could not reload the carrier registrations: %s", e)
    log.info("carrier registrations: %s", ", ".join(r[0] for r in desired) or "none")
    return True
