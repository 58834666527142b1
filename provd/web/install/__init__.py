"""The installer's pages under /install/: installers of a tenant and admins."""

from __future__ import annotations

from aiohttp import web

from provd.web.install import scan, sheet


def add_routes(app: web.Application) -> None:
    scan.add_routes(app)
    sheet.add_routes(app)
