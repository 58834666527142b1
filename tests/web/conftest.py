"""A real provd application on a real TLS socket, and clients that trust its CA."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pytest_aiohttp import AiohttpServer

from provd.security.tls import TlsPaths, ensure_certificates, server_ssl_context
from provd.services.platform import Platform
from provd.web.app import make_app
from provd.web.server import build_provisioner
from tests.conftest import made_once


@dataclass
class Served:
    server: TestServer
    tls: TlsPaths
    platform: Platform

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"

    def client_ssl(self) -> ssl.SSLContext:
        assert self.tls.ca is not None
        return ssl.create_default_context(cafile=str(self.tls.ca))


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsPaths:
    # Key generation (RSA-3072 CA) is the slowest step of a test; one set serves all
    # tests of every worker: the others find it current and use it as it is.
    def make(directory: Path) -> None:
        ensure_certificates(directory, ["provd.test"], [])

    return ensure_certificates(made_once(tmp_path_factory, "tls", make), ["provd.test"], [])


@pytest.fixture
async def served(
    platform: Platform, tls: TlsPaths, aiohttp_server: AiohttpServer
) -> AsyncIterator[Served]:
    app = make_app(platform, build_provisioner(platform))
    server = await aiohttp_server(app, ssl=server_ssl_context(tls), host="127.0.0.1")
    assert isinstance(server, TestServer)
    yield Served(server, tls, platform)


@pytest.fixture
async def session(served: Served) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(connector=connector) as s:
        yield s
