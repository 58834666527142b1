"""Single-use provisioning tokens: what a plug-and-play NOTIFY hands a phone.

The SUBSCRIBE that asks for one is unauthenticated and names a MAC printed on a
label, so whatever the NOTIFY carries is as good as public on the LAN. A token
therefore opens as little as possible: the files of the one device it was issued
for, while that device is unsealed, for a few minutes, and only until the
device's configuration (the file that carries its own credential) has been
fetched once. The phone then comes back with its own credential, which seals it.

Issuing and spending a token write no audit row: both are machine-made (a
spoofed SUBSCRIBE could issue tokens at will) and the audit log's newest id is
the phone path's cache mark (``services/mark_cache``), which a stream of
SUBSCRIBEs must not flush.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from provd.db.models import Device, ProvisioningToken
from provd.services.platform import Platform

PREFIX = "pnp-"
"""Token usernames start with this; device usernames with ``dev-``, bootstrap ones
with ``bootstrap-``."""
LIFETIME = timedelta(minutes=10)
"""A phone fetches within seconds of the NOTIFY; minutes leave room for a slow boot."""
MAX_LIVE_PER_DEVICE = 4
"""Unspent tokens kept per device: repeated SUBSCRIBEs (a phone retrying, or someone
spoofing its MAC) replace the oldest instead of piling up."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    username: str
    password: str


async def issue(p: Platform, device: Device) -> IssuedToken:
    """A new token for ``device``; expired tokens of every device are dropped."""
    now = datetime.now(UTC)
    username = PREFIX + secrets.token_hex(12)
    password = secrets.token_urlsafe(24)
    async with in_transaction():
        await ProvisioningToken.filter(expires_at__lte=now).delete()
        live = await (
            ProvisioningToken.filter(device_id=device.id, used_at=None)
            .order_by("-id")
            .values_list("id", flat=True)
        )
        stale = list(live[MAX_LIVE_PER_DEVICE - 1 :])
        if stale:
            await ProvisioningToken.filter(id__in=stale).delete()
        await ProvisioningToken.create(
            device=device,
            username=username,
            password_enc=p.box.seal(password),
            expires_at=now + LIFETIME,
        )
    return IssuedToken(username, password)


@dataclass(frozen=True, slots=True)
class LiveToken:
    id: int
    device: Device
    """With its tenant loaded."""
    password: str


async def find(p: Platform, username: str) -> LiveToken | None:
    """The unspent, unexpired token named ``username`` whose device is still unsealed;
    None otherwise (the caller answers exactly as for an unknown user)."""
    token = await ProvisioningToken.get_or_none(
        username=username, used_at=None, expires_at__gt=datetime.now(UTC)
    ).select_related("device__tenant")
    if token is None or token.device.sealed_at is not None:
        return None
    return LiveToken(token.id, token.device, p.box.open(token.password_enc))


async def spend(token_id: int) -> bool:
    """Mark the token used; False when it was spent (or expired) meanwhile, so that two
    requests racing with one token get one configuration between them."""
    now = datetime.now(UTC)
    spent = await ProvisioningToken.filter(id=token_id, used_at=None, expires_at__gt=now).update(
        used_at=now
    )
    return spent == 1
