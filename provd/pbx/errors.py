"""Errors of the PBX layer."""

from __future__ import annotations

from provd.domain.errors import ProvdError


class PbxError(ProvdError):
    """Kamailio or rtpengine could not be configured, started or reached."""


class RpcError(PbxError):
    """Kamailio answered a JSON-RPC call with an error object."""

    def __init__(self, method: str, code: int, message: str) -> None:
        self.method = method
        self.code = code
        self.message = message
        super().__init__(f"kamailio {method}: {code} {message}")

    @property
    def not_found(self) -> bool:
        # usrloc answers 500 "AOR not found in location table", not 404.
        return self.code == 404 or "not found" in self.message.lower()
