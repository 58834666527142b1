"""The platform's digest nonce key: made once, stored sealed, the same for every process."""

from __future__ import annotations

import asyncio

from provd.db.models import PlatformSecret
from provd.security.secretbox import SecretBox
from provd.services.cluster.nonce_key import NONCE_KEY, nonce_key
from provd.services.platform import Platform


async def test_one_key_made_once_and_read_back_alike(platform: Platform) -> None:
    first = await nonce_key(platform.box)
    assert len(first) == 32
    assert await nonce_key(platform.box) == first
    # Another process of the platform: its own secret box object, the same key file.
    assert await nonce_key(SecretBox.load_or_create(platform.data_dir)) == first


async def test_processes_starting_together_agree_on_one_key(platform: Platform) -> None:
    keys = await asyncio.gather(*(nonce_key(platform.box) for _ in range(5)))
    assert len(set(keys)) == 1
    assert await PlatformSecret.all().count() == 1


async def test_the_key_is_stored_sealed(platform: Platform) -> None:
    key = await nonce_key(platform.box)
    row = await PlatformSecret.get(name=NONCE_KEY)
    assert key not in bytes(row.value_enc)
    assert platform.box.open(row.value_enc)  # sealed with the data directory's box
