"""A minimal RFC 7616 client for tests that must craft Authorization headers by hand
(replayed nonce counts, wrong URIs) — things a well-behaved client never sends."""

from __future__ import annotations

import hashlib
import re

_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')


def parse_challenge(header: str) -> dict[str, str]:
    assert header.startswith("Digest ")
    return {m[0].lower(): m[1] or m[2] for m in _PARAM.findall(header[7:])}


def authorization(
    challenge: dict[str, str],
    username: str,
    password: str,
    method: str,
    uri: str,
    *,
    nc: int = 1,
    cnonce: str = "0a4f113b",
) -> str:
    algorithm = challenge.get("algorithm", "MD5")

    def h(s: str) -> str:
        digest = hashlib.sha256 if algorithm == "SHA-256" else hashlib.md5
        return digest(s.encode()).hexdigest()

    realm, nonce = challenge["realm"], challenge["nonce"]
    ha1 = h(f"{username}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    ncs = f"{nc:08x}"
    response = h(f"{ha1}:{nonce}:{ncs}:{cnonce}:auth:{ha2}")
    parts = [
        f'username="{username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f"algorithm={algorithm}",
        "qop=auth",
        f"nc={ncs}",
        f'cnonce="{cnonce}"',
        f'response="{response}"',
    ]
    if "opaque" in challenge:
        parts.append(f'opaque="{challenge["opaque"]}"')
    return "Digest " + ", ".join(parts)
