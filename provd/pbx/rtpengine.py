"""rtpengine's "ng" control protocol: bencoded dictionaries over UDP.

Used for the readiness ping and for reading media statistics; Kamailio's
rtpengine module is the only one that opens and closes sessions.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from provd.pbx.errors import PbxError

Bencodable = bytes | str | int | list[Any] | dict[str, Any]


def bencode(value: Bencodable) -> bytes:
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, str):
        return bencode(value.encode())
    if isinstance(value, bool):
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, list):
        return b"l" + b"".join(bencode(v) for v in value) + b"e"
    items = sorted(value.items())
    return b"d" + b"".join(bencode(k) + bencode(v) for k, v in items) + b"e"


def bdecode(data: bytes) -> Any:
    value, end = _decode(data, 0)
    if end != len(data):
        raise ValueError("trailing data after bencoded value")
    return value


def _decode(data: bytes, i: int) -> tuple[Any, int]:
    c = data[i : i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1 : end]), end + 1
    if c == b"l":
        i += 1
        items: list[Any] = []
        while data[i : i + 1] != b"e":
            item, i = _decode(data, i)
            items.append(item)
        return items, i + 1
    if c == b"d":
        i += 1
        out: dict[str, Any] = {}
        while data[i : i + 1] != b"e":
            key, i = _decode(data, i)
            value, i = _decode(data, i)
            out[key.decode() if isinstance(key, bytes) else str(key)] = value
        return out, i + 1
    if c.isdigit():
        colon = data.index(b":", i)
        n = int(data[i:colon])
        raw = data[colon + 1 : colon + 1 + n]
        try:
            return raw.decode(), colon + 1 + n
        except UnicodeDecodeError:
            return raw, colon + 1 + n
    raise ValueError(f"bad bencode at offset {i}")


class _Reply(asyncio.DatagramProtocol):
    def __init__(self, cookie: bytes) -> None:
        self.cookie = cookie
        self.future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        cookie, _, body = data.partition(b" ")
        if cookie == self.cookie and not self.future.done():
            self.future.set_result(body)

    def error_received(self, exc: Exception) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


async def ng_command(
    address: tuple[str, int], command: dict[str, Any], *, timeout: float = 2.0
) -> dict[str, Any]:
    """Send one ng command; return the reply dictionary (``result`` checked)."""
    cookie = secrets.token_hex(8).encode()
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: _Reply(cookie), remote_addr=address
    )
    try:
        transport.sendto(cookie + b" " + bencode(command))
        body = await asyncio.wait_for(protocol.future, timeout)
    except (TimeoutError, OSError) as e:
        raise PbxError(f"rtpengine at {address[0]}:{address[1]} did not answer: {e!r}") from e
    finally:
        transport.close()
    reply = bdecode(body)
    if not isinstance(reply, dict):
        raise PbxError("rtpengine sent a reply that is not a dictionary")
    if reply.get("result") == "error":
        raise PbxError(f"rtpengine: {reply.get('error-reason', 'error')}")
    return reply


async def ping(address: tuple[str, int], *, timeout: float = 2.0) -> bool:
    reply = await ng_command(address, {"command": "ping"}, timeout=timeout)
    return reply.get("result") == "pong"
