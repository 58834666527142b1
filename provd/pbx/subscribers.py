"""Kamailio's ``subscriber`` table, derived from provd's users and trunk accounts in
one place.

The credentials provisioning writes into a phone and the ones Kamailio checks
come from the same row (``User.sip_username`` / ``sip_password_enc``), so they
cannot drift. Only HA1 hashes reach Kamailio's database. A customer trunk's
account also carries its trunk's name and allowed networks, which Kamailio loads
with the credentials and checks on every request it authenticates.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from provd.db.models import Tenant, Trunk, TrunkAccount, User
from provd.pbx.database import KamailioDb, StoredSubscriber
from provd.pbx.errors import PbxError, RpcError
from provd.pbx.rpc import KamailioRpc
from provd.security.secretbox import SecretBox

USRLOC_TABLE = "location"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SipAccount:
    """What provd knows about one user's SIP account (plaintext password)."""

    username: str
    """The digest username (``User.sip_username``)."""
    domain: str
    """The tenant's SIP domain, also the digest realm."""
    password: str
    extension: str
    """The address the account registers and calls as: ``extension@domain``."""
    trunk: str = ""
    """The trunk's name, for a customer trunk's account; '' for a user's."""
    allow_ips: str = ""
    """The trunk's allowed networks, comma-separated; '' for a user's account."""


@dataclass(frozen=True, slots=True)
class SubscriberRow:
    username: str
    domain: str
    ha1: str
    ha1b: str
    aor_user: str
    trunk: str = ""
    allow_ips: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.username, self.domain)

    @property
    def aor(self) -> str:
        return aor_for(self.aor_user, self.domain)

    def stored(self) -> StoredSubscriber:
        return (
            self.username,
            self.domain,
            self.ha1,
            self.ha1b,
            self.aor_user,
            self.trunk,
            self.allow_ips,
        )


def aor_for(extension: str, domain: str) -> str:
    """The address-of-record Kamailio's location table uses (``use_domain=1``)."""
    return f"{extension}@{domain}"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def ha1(username: str, realm: str, password: str) -> str:
    """RFC 2617 HA1 for MD5 digest: md5(username:realm:password)."""
    return _md5(f"{username}:{realm}:{password}")


def derive_subscriber_rows(accounts: Iterable[SipAccount]) -> list[SubscriberRow]:
    """The ``subscriber`` rows for these accounts, sorted; realm = SIP domain.

    ``ha1b`` serves phones that send ``user@domain`` as the digest username.
    """
    rows = [
        SubscriberRow(
            username=a.username,
            domain=a.domain,
            ha1=ha1(a.username, a.domain, a.password),
            ha1b=ha1(f"{a.username}@{a.domain}", a.domain, a.password),
            aor_user=a.extension,
            trunk=a.trunk,
            allow_ips=a.allow_ips,
        )
        for a in accounts
    ]
    return sorted(rows, key=lambda r: r.key)


@dataclass(frozen=True, slots=True)
class SubscriberPlan:
    upserts: tuple[SubscriberRow, ...]
    deletes: tuple[tuple[str, str], ...]
    unbound_aors: tuple[str, ...]
    """AoRs no account may register any more: their live bindings must go."""

    @property
    def empty(self) -> bool:
        return not (self.upserts or self.deletes)


def plan_subscriber_changes(
    current: Iterable[SubscriberRow], desired: Iterable[SubscriberRow]
) -> SubscriberPlan:
    """Pure reconciliation: what to write so that ``current`` becomes ``desired``."""
    have = {r.key: r for r in current}
    want = {r.key: r for r in desired}
    upserts = tuple(r for k, r in sorted(want.items()) if have.get(k) != r)
    deletes = tuple(sorted(k for k in have if k not in want))
    wanted_aors = {r.aor for r in want.values()}
    unbound = tuple(sorted({r.aor for r in have.values()} - wanted_aors))
    return SubscriberPlan(upserts, deletes, unbound)


async def load_accounts(box: SecretBox) -> list[SipAccount]:
    """Every user's SIP account and every enabled trunk's accounts from provd's
    database (tortoise must be initialised)."""
    users = await User.all().prefetch_related("tenant")
    accounts = [
        SipAccount(
            username=u.sip_username,
            domain=u.tenant.sip_domain,
            password=box.open(u.sip_password_enc),
            extension=u.extension,
        )
        for u in users
    ]
    return accounts + await _trunk_accounts(box)


async def _trunk_accounts(box: SecretBox) -> list[SipAccount]:
    trunks = {t.id: t for t in await Trunk.filter(enabled=True).select_related("tenant")}
    rows = await TrunkAccount.filter(trunk_id__in=list(trunks)).order_by("id")
    out = []
    for account in rows:
        trunk: Trunk = trunks[account.trunk_id]  # type: ignore[attr-defined]
        out.append(
            SipAccount(
                username=account.username,
                domain=trunk.tenant.sip_domain,
                password=box.open(account.password_enc),
                extension=account.username,
                trunk=trunk.name,
                allow_ips=",".join(trunk.networks),
            )
        )
    return out


async def tenant_domains() -> list[str]:
    """Every tenant's SIP domain: Kamailio's ``alias`` list."""
    domains = await Tenant.all().values_list("sip_domain", flat=True)
    return sorted(str(d) for d in domains)


@dataclass(frozen=True, slots=True)
class SyncReport:
    written: int
    deleted: int
    unbound: tuple[str, ...]
    kicked: tuple[str, ...]
    """Of ``unbound``, the AoRs whose live bindings Kamailio removed."""


async def sync_subscribers(
    db: KamailioDb, box: SecretBox, *, rpc: KamailioRpc | None = None
) -> SyncReport:
    """Make Kamailio's ``subscriber`` table match provd's users.

    Call it after every change to a user or tenant. It writes in one
    transaction, then (when ``rpc`` reaches a running Kamailio) removes the
    live registrations of accounts that no longer exist: Kamailio checks
    credentials only on the next REGISTER, so a deleted user's binding would
    otherwise stay callable until it expires.
    """
    desired = derive_subscriber_rows(await load_accounts(box))
    current = [SubscriberRow(*row) for row in await db.fetch_subscribers()]
    plan = plan_subscriber_changes(current, desired)
    if not plan.empty:
        await db.replace_subscribers([r.stored() for r in plan.upserts], plan.deletes)
    kicked = await kick_bindings(rpc, plan.unbound_aors) if rpc is not None else ()
    return SyncReport(len(plan.upserts), len(plan.deletes), plan.unbound_aors, kicked)


async def kick_bindings(rpc: KamailioRpc, aors: Sequence[str]) -> tuple[str, ...]:
    """Remove the registrations of ``aors``; the ones that had none are skipped."""
    kicked: list[str] = []
    for aor in aors:
        try:
            await rpc.call("ul.rm", USRLOC_TABLE, aor)
        except RpcError as e:
            if e.not_found:
                continue
            raise
        except PbxError as e:
            # Kamailio is not running: the table change already stands, and
            # the binding cannot be used for a call while the proxy is down.
            log.warning("could not remove the registrations of %s: %s", aor, e)
            break
        kicked.append(aor)
    return tuple(kicked)
