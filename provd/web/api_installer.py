"""REST routes installers may call: claims, label decoding, status of their phones."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Filled in by the module's owner."""
