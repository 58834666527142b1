"""Nonce claims in the database: the first use of a digest nonce, by whichever process.

One INSERT per nonce, and so per phone boot (a boot is a challenge and three or four
fetches on one connection, all with one nonce): the process that inserted the row
counts the nonce's nc in memory as before; every other process answers it as stale,
and the phone asks again for a nonce of its own there. A replayed request is refused
on every process, and a challenge one process made may be answered on any other.

Claims of expired nonces are deleted by the leader (``housekeeping``): a nonce older
than its lifetime is refused by its own timestamp, whatever the table says.
"""

from __future__ import annotations

from provd.db import direct
from provd.db.models import NonceClaim
from provd.services.cluster import worker_id

# Plain SQL, as the rest of the phone path: the ORM would cost more than the insert.
# The primary key decides between processes claiming at once: exactly one insert
# returns its row.
_CLAIM = (
    f'INSERT INTO "{NonceClaim._meta.db_table}" ("nonce", "issued_ms", "worker") '
    'VALUES (?, ?, ?) ON CONFLICT ("nonce") DO NOTHING RETURNING "nonce"'
)


class DatabaseClaims:
    """:class:`provd.security.digest.NonceClaims` in the platform's database."""

    def __init__(self, worker: str | None = None) -> None:
        self.worker = worker or worker_id()

    async def claim(self, nonce: str, issued_ms: int) -> bool:
        return bool(await direct.execute(_CLAIM, (nonce, issued_ms, self.worker)))


async def delete_expired(before_ms: int) -> int:
    """Delete the claims of nonces issued before ``before_ms``; how many went."""
    return await NonceClaim.filter(issued_ms__lt=before_ms).delete()
