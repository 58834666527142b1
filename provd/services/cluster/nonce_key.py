"""The digest nonce key: one for the whole platform, kept in the database.

A nonce carries an HMAC made with this key, so any process holding the key
recognises a nonce any other issued: a phone challenged by one worker or node may
answer on another, and a restart no longer costs every phone a stale round trip.
The key is sealed with the data directory's secret box, like every stored secret.
"""

from __future__ import annotations

import base64
import secrets

from provd.db.models import PlatformSecret
from provd.security.secretbox import SecretBox

NONCE_KEY = "digest-nonce-key"
_KEY_BYTES = 32


async def nonce_key(box: SecretBox) -> bytes:
    """The platform's nonce key, made on first use."""
    return await platform_secret(box, NONCE_KEY)


async def platform_secret(box: SecretBox, name: str) -> bytes:
    """A random key every process of the platform shares (``platform_secret`` table),
    made on first use."""
    row = await PlatformSecret.get_or_none(name=name)
    if row is None:
        fresh = base64.urlsafe_b64encode(secrets.token_bytes(_KEY_BYTES)).decode()
        # Workers and nodes starting together: the first insert wins and all read it.
        await PlatformSecret.bulk_create(
            [PlatformSecret(name=name, value_enc=box.seal(fresh))], ignore_conflicts=True
        )
        row = await PlatformSecret.get(name=name)
    return base64.urlsafe_b64decode(box.open(row.value_enc))
