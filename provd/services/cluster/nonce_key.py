"""The digest nonce key: one for the whole platform, kept in the database.

A nonce carries an HMAC made with this key, so any process holding the key
recognises a nonce any other issued: a phone challenged by one worker or node may
answer on another, and a restart no longer costs every phone a stale round trip.
The key is sealed with the data directory's secret box, like every stored secret.
"""

from __future__ import annotations

from provd.security.secretbox import SecretBox
from provd.services.cluster.platform_secrets import platform_secret

NONCE_KEY = "digest-nonce-key"


async def nonce_key(box: SecretBox) -> bytes:
    """The platform's nonce key, made on first use."""
    return await platform_secret(box, NONCE_KEY)
