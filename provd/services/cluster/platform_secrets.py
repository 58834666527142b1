"""Keys every process of the platform shares (the digest nonce key, the TLS ticket
secret), kept in the database's ``platform_secret`` table, sealed with the data
directory's secret box like every stored secret."""

from __future__ import annotations

import base64
import secrets

from provd.db.models import PlatformSecret
from provd.security.secretbox import SecretBox

_KEY_BYTES = 32


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
