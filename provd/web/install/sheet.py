"""The printable sheet: per phone its user, extension and a QR code of the claim."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Filled in by the module's owner."""
