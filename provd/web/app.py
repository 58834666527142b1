"""Assembling the aiohttp application."""

from __future__ import annotations

from aiohttp import web

from provd.services.platform import Platform
from provd.services.provisioning import Provisioner
from provd.web import api, phone
from provd.web.keys import PLATFORM, PROVISIONER


def make_app(platform: Platform, provisioner: Provisioner) -> web.Application:
    app = web.Application(middlewares=[api.api_middleware], client_max_size=1024**2)
    app[PLATFORM] = platform
    app[PROVISIONER] = provisioner
    api.add_routes(app)
    phone.add_routes(app)
    return app
