"""provd's TLS listener on uvloop, the event loop serve runs on when it is installed.

uvloop starts reading a new connection as soon as the protocol's connection_made
returns, pause or no pause, so a client's ClientHello can reach provd's connection
guard before start_tls has put its TLS protocol on the transport; the guard hands
those bytes over. Without that, most handshakes hung until their timeout.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import cast

import pytest

from provd.db.connection import database, db_url_for
from provd.security.secretbox import SecretBox
from provd.security.tls import TlsPaths
from provd.services.platform import Platform
from tests.conftest import TEST_SETTINGS
from tests.web.test_connections import Running, _serve

uvloop = pytest.importorskip("uvloop")


async def _handshakes_and_fetches(data_dir: Path, tls: TlsPaths) -> list[int]:
    async with database(db_url_for(data_dir)):
        platform = Platform(data_dir, TEST_SETTINGS, SecretBox.load_or_create(data_dir))
        serving = cast(AsyncGenerator[Running, None], _serve(platform, tls))
        try:
            running = await anext(serving)
            # Bare handshakes first (nothing sent after the ClientHello), then whole
            # fetches, several at once.
            assert tls.ca is not None
            context = ssl.create_default_context(cafile=str(tls.ca))
            context.check_hostname = False
            for _ in range(5):
                _, writer = await asyncio.open_connection("127.0.0.1", running.port, ssl=context)
                writer.close()
            fetches = await asyncio.gather(*(running.phone_fetch() for _ in range(20)))
            return [status for status, _ in fetches]
        finally:
            await serving.aclose()


def test_tls_handshakes_and_fetches_on_uvloop(
    tmp_path: Path, _platform_template: Path, tls: TlsPaths
) -> None:
    shutil.copytree(_platform_template, tmp_path, dirs_exist_ok=True)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        statuses = runner.run(asyncio.wait_for(_handshakes_and_fetches(tmp_path, tls), timeout=60))
    assert statuses == [200] * 20
