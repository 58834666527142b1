"""Phone-facing routes: the files phones ask for, behind Digest authentication."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web_request import BaseRequest

from provd.services.firmware import FirmwareGrant
from provd.services.provisioning import PhoneRequest, PhoneResponse, Provisioner
from provd.web.app_keys import PROVISIONER
from provd.web.connections import client_of
from provd.web.phone_lane import PHONE_ROUTE

_CONTENT_RANGE = re.compile(r"bytes (?P<first>\d+)-(?P<last>\d+)/(?P<size>\d+)")
_FIRMWARE_CHUNK = 256 * 1024


def client_ip(request: web.Request) -> str:
    # Phones connect directly, or through a TCP balancer the admin named, whose PROXY
    # header says who the client is (never X-Forwarded-For: any client can send that).
    transport = request.transport
    if transport is None:
        return "unknown"
    named = client_of(transport)
    if named is not None:
        return named
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if peer else "unknown"


def _phone_request(request: web.Request, filename: str) -> PhoneRequest:
    return PhoneRequest(
        filename=filename,
        method=request.method,
        uri=request.raw_path,
        client_ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        authorization=request.headers.get("Authorization"),
    )


def _response(reply: PhoneResponse) -> web.Response:
    response = web.Response(status=reply.status, body=reply.body)
    response.headers["Content-Type"] = reply.content_type
    for name, value in reply.headers:
        response.headers.add(name, value)
    return response


async def phone_file(request: web.Request) -> web.Response:
    provisioner = request.app[PROVISIONER]
    reply = await provisioner.serve(_phone_request(request, request.match_info["filename"]))
    return _response(reply)


def _sent_last_byte(response: web.StreamResponse, grant: FirmwareGrant) -> bool:
    """Whether the response carried the end of the file: the whole file, or the
    range that completes a resumed download."""
    if response.status == 200:
        return True
    if response.status != 206:
        return False  # 304, 412, 416: nothing of the file was sent
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", ""))
    return match is not None and int(match["last"]) + 1 == grant.image.size


class _FirmwareResponse(web.FileResponse):
    """A file response that tells the provisioner when it sent the file's last byte."""

    def __init__(self, grant: FirmwareGrant, provisioner: Provisioner) -> None:
        super().__init__(grant.path, chunk_size=_FIRMWARE_CHUNK)
        self._grant = grant
        self._provisioner = provisioner

    async def prepare(self, request: BaseRequest) -> AbstractStreamWriter | None:
        # Sends the whole response; returns once the last byte was handed to the
        # connection. A client that goes away mid-way raises here instead.
        writer = await super().prepare(request)
        if request.method == "GET" and _sent_last_byte(self, self._grant):
            await self._provisioner.firmware_downloaded(self._grant)
        return writer


async def firmware_file(request: web.Request) -> web.StreamResponse:
    """A firmware image, streamed from the store with Range (resume) and HEAD support."""
    provisioner = request.app[PROVISIONER]
    filename = request.match_info["filename"]
    reply = await provisioner.serve_firmware(
        _phone_request(request, filename), request.match_info["sha256"], filename
    )
    if isinstance(reply, PhoneResponse):
        return _response(reply)
    response = _FirmwareResponse(reply, provisioner)
    response.content_type = "application/octet-stream"
    response.headers["Cache-Control"] = "private"
    return response


async def _write_fetch_notes(app: web.Application) -> None:
    # On cleanup the server no longer answers, and the database is still open.
    await app[PROVISIONER].close()


def add_routes(app: web.Application) -> None:
    app.on_cleanup.append(_write_fetch_notes)
    # One path segment only: phones never ask for sub-directories, and this
    # keeps "../" out of the picture entirely.
    app.router.add_route("GET", r"/{filename:[A-Za-z0-9._-]{1,64}}", phone_file, name=PHONE_ROUTE)
    # The file name is the vendor's, kept because some phones check it; the
    # service compares it with the stored one, so any segment may be asked for.
    app.router.add_get(r"/firmware/{sha256:[0-9a-f]{64}}/{filename:[^/]{1,128}}", firmware_file)
