"""Typed keys for what the aiohttp application object carries.

(Not phone key layouts: those are :mod:`provd.services.layouts`.)
"""

from __future__ import annotations

from aiohttp import web

from provd.services.platform import Platform
from provd.services.provisioning import Provisioner

PLATFORM = web.AppKey("platform", Platform)
PROVISIONER = web.AppKey("provisioner", Provisioner)
WORKER_INDEX = web.AppKey("worker_index", str)
"""Under ``serve --workers``: this worker's number, sent in every response's header."""
