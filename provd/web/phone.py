"""Phone-facing routes: the files phones ask for, behind Digest authentication."""

from __future__ import annotations

from aiohttp import web

from provd.services.provisioning import PhoneRequest
from provd.web.keys import PROVISIONER


def client_ip(request: web.Request) -> str:
    # Phones connect directly; a reverse proxy in front would have to be
    # configured explicitly before X-Forwarded-For could be trusted.
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return str(peer[0]) if peer else "unknown"


async def phone_file(request: web.Request) -> web.Response:
    provisioner = request.app[PROVISIONER]
    reply = await provisioner.serve(
        PhoneRequest(
            filename=request.match_info["filename"],
            method=request.method,
            uri=request.raw_path,
            client_ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            authorization=request.headers.get("Authorization"),
        )
    )
    response = web.Response(status=reply.status, body=reply.body)
    response.headers["Content-Type"] = reply.content_type
    for name, value in reply.headers:
        response.headers.add(name, value)
    return response


def add_routes(app: web.Application) -> None:
    # One path segment only: phones never ask for sub-directories, and this
    # keeps "../" out of the picture entirely.
    app.router.add_route("GET", r"/{filename:[A-Za-z0-9._-]{1,64}}", phone_file)
