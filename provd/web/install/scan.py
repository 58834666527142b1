"""The installer's page: pick a user and a model, scan labels, watch phones come alive."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    """Filled in by the module's owner."""
