"""Console accounts: argon2 password hashes, sign-in with lockout, browser sessions.

Failed sign-ins are counted in memory per username (known or not, so both
behave the same) and per client address; nothing an unauthenticated request
says is written to the database. Session cookies are random tokens of which
only the SHA-256 is stored, like API tokens.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.transactions import in_transaction

from provd.db.models import Account, Tenant, WebSession
from provd.domain.access import Principal, Role, check_scope, parse_role
from provd.domain.audit_actions import AuditAction
from provd.domain.errors import Conflict, InvalidInput, NotFound
from provd.domain.passwords import check_password
from provd.security.ratelimit import FailureRule, LimiterFactory, local_limiters
from provd.services import audit

log = logging.getLogger("provd.accounts")

SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(hours=2)
# Writing last_seen on every page view would make reads write; a minute is precise enough.
_TOUCH_EVERY = timedelta(minutes=1)
_USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")

# argon2-cffi's defaults: RFC 9106's second recommended option (argon2id, t=3, 64 MiB, p=4).
APPLICATION_HASHER = PasswordHasher()
_hasher = APPLICATION_HASHER


def use_hasher(hasher: PasswordHasher | None) -> None:
    """Hash and verify with ``hasher`` in this process from now on; None restores
    :data:`APPLICATION_HASHER`. Only the test suite calls this, with cheap parameters:
    most of its tests sign in or add accounts, and what they check is not argon2's cost.
    Hashes made with other parameters still verify (a hash carries its parameters)."""
    global _hasher
    _hasher = hasher or APPLICATION_HASHER


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not 1 <= len(name) <= 64 or not set(name) <= _USERNAME_CHARS:
        raise InvalidInput("username", "must be 1 to 64 of a-z, 0-9, '.', '_', '-', '@'")
    return name


async def tenant_for(by: Principal | None, tenant_slug: str | None) -> Tenant | None:
    """The tenant a new account or token goes to; a tenant admin's own unless named.

    A tenant admin naming another tenant is refused before any look-up, so the
    answer says nothing about which tenants exist.
    """
    if by is not None and by.tenant_id is not None:
        own = await Tenant.get(id=by.tenant_id)
        if tenant_slug and tenant_slug.strip().lower() != own.slug:
            raise InvalidInput("tenant", "you administer your own tenant only: leave it out")
        return own
    if not tenant_slug:
        return None
    tenant = await Tenant.get_or_none(slug=tenant_slug)
    if tenant is None:
        raise NotFound("tenant", tenant_slug, field="tenant")
    return tenant


def account_view(account: Account, tenant: Tenant | None) -> dict[str, object]:
    return {
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role,
        "tenant": tenant.slug if tenant else None,
        "last_sign_in_at": account.last_sign_in_at.isoformat() if account.last_sign_in_at else None,
        "created_at": account.created_at.isoformat(),
    }


async def add_account(
    actor: audit.Actor,
    username: str,
    password: str,
    *,
    role: str = Role.ADMIN,
    tenant_slug: str | None = None,
    display_name: str = "",
    by: Principal | None = None,
) -> Account:
    """``by``: the principal adding it from the console (None: the platform's CLI)."""
    name = check_username(username)
    parsed = parse_role(role)
    check_password(password)
    tenant = await tenant_for(by, tenant_slug)
    if by is not None and not by.may_manage_account(parsed, tenant.id if tenant else None):
        raise InvalidInput("role", f"a {by.role.value} may not add {parsed.value} accounts")
    check_scope(parsed, tenant.id if tenant else None)
    if len(display_name) > 64:
        raise InvalidInput("display_name", "must be at most 64 characters")
    async with in_transaction():
        if await Account.exists(username=name):
            raise Conflict("username", f"account {name!r} already exists")
        account = await Account.create(
            username=name,
            display_name=display_name.strip(),
            password_hash=_hasher.hash(password),
            role=parsed.value,
            tenant=tenant,
        )
        await audit.record(
            actor, AuditAction.ACCOUNT_ADD, "account", name, after=account_view(account, tenant)
        )
    return account


def _may_manage(by: Principal | None, account: Account) -> bool:
    tenant_id: int | None = account.tenant_id  # type: ignore[attr-defined]
    return by is None or by.may_manage_account(Role(account.role), tenant_id)


async def list_accounts(by: Principal | None = None) -> list[tuple[Account, Tenant | None]]:
    """Every account, or those ``by`` may manage."""
    query = Account.all()
    if by is not None and not by.is_admin:
        query = query.filter(tenant_id=by.tenant_id)
    rows = await query.order_by("username").prefetch_related("tenant")
    return [(a, a.tenant) for a in rows if _may_manage(by, a)]


async def get_account(username: str, by: Principal | None = None) -> Account:
    """The account; one ``by`` may not manage is as missing as an unknown one."""
    account = await Account.get_or_none(username=username.strip().lower())
    if account is None or not _may_manage(by, account):
        raise NotFound("account", username, field="username")
    return account


async def set_password(
    actor: audit.Actor, username: str, password: str, *, by: Principal | None = None
) -> None:
    check_password(password)
    async with in_transaction():
        account = await get_account(username, by)
        account.password_hash = _hasher.hash(password)
        await account.save(update_fields=["password_hash"])
        # A new password ends every session signed in with the old one.
        await WebSession.filter(account_id=account.id).delete()
        await audit.record(
            actor,
            AuditAction.ACCOUNT_PASSWORD,
            "account",
            account.username,
            after={"password": "set"},
        )


async def remove_account(actor: audit.Actor, username: str, *, by: Principal | None = None) -> None:
    async with in_transaction():
        account = await get_account(username, by)
        await account.fetch_related("tenant")
        before = account_view(account, account.tenant)
        await account.delete()
        await audit.record(
            actor, AuditAction.ACCOUNT_REMOVE, "account", account.username, before=before
        )


@dataclass(frozen=True, slots=True)
class SignedIn:
    session_token: str
    """The cookie value; only its SHA-256 is stored."""
    csrf_token: str
    principal: Principal


class SignInRefused(Exception):
    """Wrong username or password (indistinguishable), or locked out for a while."""

    def __init__(self, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


WRONG = "username or password is wrong"


class SignInGuard:
    """The lockout: 5 failures in 15 minutes lock a username for 15 minutes (doubling
    on repeat), from every address. Attempts for a locked name are refused before they
    count anywhere, so one address's failures for one account never lock another.

    An address is blocked for every name only as a ceiling against spraying many names
    from it: 60 failures in 10 minutes, far above an office mistyping behind one NAT.
    It is checked before the password because each check costs an argon2 hash; the
    block is short (5 minutes, 15 at most) since it also stops that office.

    ``limiters`` says where the counts are kept: this process by default, the
    database under ``serve`` (services/cluster/throttle), so a lockout holds on every
    worker and node.
    """

    def __init__(self, limiters: LimiterFactory | None = None) -> None:
        # Verifying against this when the username is unknown spends the same time as a
        # real check, so response timing does not tell which usernames exist. Made with
        # the guard (once per application) rather than on import: every command imports
        # this module, and few sign anyone in.
        self.dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
        make = limiters or local_limiters()
        self.by_username = make(
            "console user",
            FailureRule(
                max_failures=5, window=900.0, block_seconds=900.0, max_block_seconds=86400.0
            ),
        )
        self.by_client = make(
            "console address",
            FailureRule(
                max_failures=60, window=600.0, block_seconds=300.0, max_block_seconds=900.0
            ),
        )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _loggable(name: str) -> str:
    # What was typed as a user name goes to the log only if it could be one: no forged
    # log line, and most passwords typed into the wrong field have a character no
    # user name has.
    if name and set(name) <= _USERNAME_CHARS:
        return repr(name)
    return "(not a valid user name)"


def _principal(account: Account) -> Principal:
    tenant_id: int | None = account.tenant_id  # type: ignore[attr-defined]
    return Principal(f"web:{account.username}", Role(account.role), tenant_id)


async def sign_in(
    guard: SignInGuard, username: str, password: str, client: str, request_id: str | None = None
) -> SignedIn:
    name = username.strip().lower()[:64]
    for limiter, key in ((guard.by_client, client), (guard.by_username, name)):
        wait = await limiter.blocked_for(key)
        if wait > 0:
            log.debug("console sign-in for %s from %s refused: locked", _loggable(name), client)
            minutes = max(1, round(wait / 60))
            raise SignInRefused(
                f"too many failed sign-ins: try again in {minutes} minute(s)", int(wait) + 1
            )
    account = await Account.get_or_none(username=name)
    try:
        _hasher.verify(account.password_hash if account else guard.dummy_hash, password)
        ok = account is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or account is None:
        who = _loggable(name)
        log.warning("console sign-in failed for %s from %s", who, client)
        if await guard.by_client.record_failure(client):
            log.warning("console sign-in: %s blocked after too many failures", client)
        if await guard.by_username.record_failure(name):
            log.warning("console sign-in: %s locked out after failures (last from %s)", who, client)
        raise SignInRefused(WRONG)
    await guard.by_username.record_success(name)
    await guard.by_client.record_success(client)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with in_transaction():
        if _hasher.check_needs_rehash(account.password_hash):
            account.password_hash = _hasher.hash(password)
        account.last_sign_in_at = now
        await account.save(update_fields=["password_hash", "last_sign_in_at"])
        await WebSession.filter(expires_at__lt=now).delete()
        await WebSession.create(
            token_sha256=_digest(token),
            account=account,
            csrf_token=csrf,
            expires_at=now + SESSION_LIFETIME,
        )
    return SignedIn(token, csrf, _principal(account))


@dataclass(frozen=True, slots=True)
class ActiveSession:
    principal: Principal
    csrf_token: str
    username: str
    display_name: str


async def resume(token: str) -> ActiveSession | None:
    """The session a cookie names, if it is still valid (absolute and idle limits)."""
    if not token or len(token) > 100:
        return None
    row = await WebSession.get_or_none(token_sha256=_digest(token)).prefetch_related("account")
    if row is None:
        return None
    now = datetime.now(UTC)
    if row.expires_at <= now or now - row.last_seen_at > SESSION_IDLE:
        await row.delete()
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        await WebSession.filter(id=row.id).update(last_seen_at=now)
    account = row.account
    return ActiveSession(
        _principal(account), row.csrf_token, account.username, account.display_name
    )


async def sign_out(token: str) -> None:
    await WebSession.filter(token_sha256=_digest(token)).delete()
