"""Firmware images for tests: small files with recognisable, distinct content."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence

from provd.db.models import FirmwareImage
from provd.services import firmware
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR

T46G = "yealink-t46g"


def image_bytes(version: str, size: int = 70_000) -> bytes:
    """Distinct bytes per version, long enough for a few Range requests."""
    seed = hashlib.sha256(version.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


async def _once(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 16_384):
        yield data[i : i + 16_384]


async def add_image(
    p: Platform,
    version: str,
    models: Sequence[str] = (T46G,),
    *,
    tested: bool = True,
    data: bytes | None = None,
    filename: str | None = None,
) -> FirmwareImage:
    new = firmware.check_new_image(models, version, filename or f"T46-{version}.rom", tested=tested)
    added = await firmware.add_image(p, TEST_ACTOR, new, _once(data or image_bytes(version)))
    return added.image
