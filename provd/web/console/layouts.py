"""The key layout editor: a picture of the phone and its modules, click a key to set it."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Filled in by the module's owner."""
