"""Kamailio's JSON-RPC over HTTP (xhttp + jsonrpcs), as a small aiohttp client.

Parameters are always sent as JSON strings: kamcmd turns ``2001`` into an
integer and ``ul.lookup`` then fails, and extensions are numbers.
"""

from __future__ import annotations

import itertools
from types import TracebackType
from typing import Any

import aiohttp

from provd.pbx.errors import PbxError, RpcError

DEFAULT_TIMEOUT_S = 10.0


class KamailioRpc:
    def __init__(self, url: str, *, token: str | None, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    async def call(self, method: str, *params: str, timeout: float | None = None) -> Any:
        """Call ``method``; return its ``result`` or raise :class:`RpcError`."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(headers=self._headers, timeout=self._timeout)
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        per_call = aiohttp.ClientTimeout(total=timeout) if timeout is not None else self._timeout
        try:
            async with self._session.post(self.url, json=body, timeout=per_call) as resp:
                # Errors come as HTTP 500 with a JSON-RPC error body; the content
                # type is not always application/json, so parse regardless.
                try:
                    reply: dict[str, Any] = await resp.json(content_type=None)
                except ValueError:
                    reply = {}
                if not isinstance(reply, dict) or ("result" not in reply and "error" not in reply):
                    raise PbxError(f"kamailio RPC at {self.url} answered HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError) as e:
            raise PbxError(f"kamailio RPC at {self.url} unreachable: {e!r}") from e
        if "error" in reply:
            err = reply["error"]
            raise RpcError(method, int(err.get("code", 500)), str(err.get("message", "")))
        return reply.get("result")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> KamailioRpc:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
