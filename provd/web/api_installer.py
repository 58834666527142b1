"""REST routes installers may call: claims, label decoding, status of their phones.

Every route is open to installers and scoped to their tenant; admins name the
tenant with ``tenant`` (the default tenant when they leave it out). Nothing
here returns a secret.
"""

from __future__ import annotations

from aiohttp import web

from provd.domain.errors import InvalidInput
from provd.services import installer
from provd.services.installer import labels
from provd.web import auth
from provd.web.api_pbx import PBX
from provd.web.app_keys import PLATFORM
from provd.web.contract import DEFAULT_ERRORS, Api, Param, Reply
from provd.web.schemas.installer import (
    Claim,
    ClaimIn,
    ClaimStatus,
    InstallerUser,
    LabelReading,
    ModelChoice,
)

api = Api()
_TENANT_Q = Param(
    "tenant", description="Admins only: the tenant (default: default). Installers: their own"
)


def _tenant(request: web.Request) -> str | None:
    return request.query.get("tenant") or None


@auth.installer_allowed
@api.route(
    "GET",
    "/installer/users",
    "Users to give a phone to, by extension prefix or part of the name "
    "(installers: their tenant's)",
    ok={200: Reply("At most 50 users", list[InstallerUser])},
    parameters=[Param("q"), _TENANT_Q],
)
async def list_users(request: web.Request) -> web.Response:
    found = await installer.search_users(
        request[auth.PRINCIPAL], _tenant(request), request.query.get("q", "")
    )
    return web.json_response(found)


@auth.installer_allowed
@api.route(
    "GET",
    "/installer/models",
    "The phone models that can be claimed",
    ok={200: Reply("Models", list[ModelChoice])},
)
async def list_models(request: web.Request) -> web.Response:
    return web.json_response(installer.models_view())


@auth.installer_allowed
@api.with_body(
    "POST",
    "/claims",
    "Claim a scanned phone for a user (extension) or as a spare (extension null). "
    "400 for a MAC of another vendor than the model's; 409 when already claimed "
    "(here, or on another account: which one is never said); 429 while paused "
    "after too many phones of other accounts (docs/security.md)",
    ClaimIn,
    ok={201: Reply("Claimed", Claim)},
    errors=(*DEFAULT_ERRORS, 429),
)
async def claim(request: web.Request, body: ClaimIn) -> web.Response:
    claimed = await installer.claim(
        request.app[PLATFORM],
        request[auth.ACTOR],
        request[auth.PRINCIPAL],
        request.app.get(PBX),
        mac=body.mac,
        model=body.model,
        extension=body.extension,
        tenant_slug=body.tenant,
    )
    return web.json_response(claimed, status=201)


@auth.installer_allowed
@api.route(
    "GET",
    "/claims/status",
    "Live state of claimed phones, in the order asked: waiting, fetched, sealed, "
    "registered (unclaimed for a MAC not claimed in the tenant)",
    ok={200: Reply("One per MAC", list[ClaimStatus])},
    parameters=[
        Param("mac", required=True, description="Repeat for each phone (at most 100)"),
        _TENANT_Q,
    ],
)
async def claim_status(request: web.Request) -> web.Response:
    macs = request.query.getall("mac", [])
    if not macs:
        raise InvalidInput("mac", "name at least one phone (?mac=…&mac=…)")
    found = await installer.status_of(
        request.app.get(PBX), request[auth.PRINCIPAL], macs, tenant_slug=_tenant(request)
    )
    return web.json_response(found)


async def _image(request: web.Request) -> bytes:
    if request.content_type != "multipart/form-data":
        raise InvalidInput("image", "send the photo as multipart/form-data field 'image'")
    form = await request.post()
    field = form.get("image")
    if isinstance(field, web.FileField):
        data = field.file.read(labels.MAX_BYTES + 1)
        assert isinstance(data, bytes)
        return data
    raise InvalidInput("image", "is required: send the photo as multipart field 'image'")


@auth.installer_allowed
@api.route(
    "POST",
    "/labels/decode",
    "Read the barcodes in a photo of a phone label and pick the MAC. A picture "
    "too large to decode within the memory budget (e.g. a 16-bit PNG over 6 "
    "million pixels) is 400 on field image",
    ok={200: Reply("What was read", LabelReading)},
    errors=(*DEFAULT_ERRORS, 429),
    raw_body={
        "multipart/form-data": {
            "type": "object",
            "required": ["image"],
            "properties": {"image": {"type": "string", "format": "binary"}},
        }
    },
)
async def decode_label(request: web.Request) -> web.Response:
    reading = await labels.read_label(await _image(request))
    return web.json_response(reading.view())


add_routes = api.add_to
