"""The admin console: server-rendered pages under /console/.

Platform admins open every page; tenant admins only the handlers marked
``auth.tenant_admin_allowed``, which confine them to their tenant (see ``scope``).
"""

from __future__ import annotations

from aiohttp import web

from provd.web.console import (
    access,
    announcements,
    audit,
    calls,
    carriers,
    codes,
    devices,
    directory,
    firmware,
    fleet,
    forwarding,
    groups,
    layouts,
    limits,
    menus,
    numbers,
    outbound,
    queues,
    rates,
    rollouts,
    schedules,
    sounds,
    trunks,
    voicemail,
)


def add_routes(app: web.Application) -> None:
    for module in (
        fleet,
        devices,
        directory,
        forwarding,
        numbers,
        groups,
        menus,
        announcements,
        queues,
        sounds,
        voicemail,
        schedules,
        codes,
        outbound,
        limits,
        trunks,
        carriers,
        rates,
        calls,
        layouts,
        firmware,
        rollouts,
        audit,
        access,
    ):
        module.add_routes(app)
