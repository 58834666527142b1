"""Device detail: lines, keys, VLAN, firmware resolution, masked config preview, actions."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Filled in by the module's owner."""
