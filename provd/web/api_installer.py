"""REST routes installers may call: claims, label decoding, status of their phones.

Every route is open to installers and scoped to their tenant; admins name the
tenant with ``tenant`` (the default tenant when they leave it out). Nothing
here returns a secret.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from provd.domain.errors import InvalidInput
from provd.services import installer
from provd.services.installer import labels
from provd.web import auth, openapi
from provd.web.api import PREFIX, _body, _check_keys, _str
from provd.web.api_pbx import PBX
from provd.web.app_keys import PLATFORM


def _tenant(request: web.Request) -> str | None:
    return request.query.get("tenant") or None


@auth.installer_allowed
async def list_users(request: web.Request) -> web.Response:
    found = await installer.search_users(
        request[auth.PRINCIPAL], _tenant(request), request.query.get("q", "")
    )
    return web.json_response(found)


@auth.installer_allowed
async def list_models(request: web.Request) -> web.Response:
    return web.json_response(installer.models_view())


@auth.installer_allowed
async def claim(request: web.Request) -> web.Response:
    data = await _body(request)
    _check_keys(data, {"mac", "model", "extension", "tenant"})
    mac, model = _str(data, "mac"), _str(data, "model")
    assert mac is not None and model is not None
    claimed = await installer.claim(
        request.app[PLATFORM],
        request[auth.ACTOR],
        request[auth.PRINCIPAL],
        request.app.get(PBX),
        mac=mac,
        model=model,
        extension=_str(data, "extension", required=False),
        tenant_slug=_str(data, "tenant", required=False),
    )
    return web.json_response(claimed, status=201)


@auth.installer_allowed
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
async def decode_label(request: web.Request) -> web.Response:
    reading = await labels.read_label(await _image(request))
    return web.json_response(reading.view())


_TENANT_Q = {
    "name": "tenant",
    "in": "query",
    "schema": {"type": "string"},
    "description": "Admins only: the tenant (default: default). Installers: their own",
}
_FORBIDDEN = {"403": openapi.json_content(openapi.ref("Error"), "Not allowed for this role")}
_NULL_STR = {"type": ["string", "null"]}


def _op(summary: str, ok: dict[str, Any], **extra: Any) -> dict[str, Any]:
    op = openapi.operation(summary, ok, **extra)
    op["responses"] |= _FORBIDDEN
    return op


def _list_of(schema: str, what: str) -> dict[str, Any]:
    return {"200": openapi.json_content({"type": "array", "items": openapi.ref(schema)}, what)}


openapi.document(
    {
        PREFIX + "/installer/users": {
            "get": _op(
                "Users to give a phone to, by extension prefix or part of the name "
                "(installers: their tenant's)",
                _list_of("InstallerUser", "At most 50 users"),
                parameters=[{"name": "q", "in": "query", "schema": {"type": "string"}}, _TENANT_Q],
            )
        },
        PREFIX + "/installer/models": {
            "get": _op("The phone models that can be claimed", _list_of("ModelChoice", "Models"))
        },
        PREFIX + "/claims": {
            "post": _op(
                "Claim a scanned phone for a user (extension) or as a spare (extension null). "
                "400 for a MAC of another vendor than the model's; 409 when already claimed "
                "(here, or on another account: which one is never said); 429 while paused "
                "after too many phones of other accounts (docs/security.md)",
                {"201": openapi.json_content(openapi.ref("Claim"), "Claimed")},
                requestBody={
                    "required": True,
                    "content": {"application/json": {"schema": openapi.ref("ClaimIn")}},
                },
            )
        },
        PREFIX + "/claims/status": {
            "get": _op(
                "Live state of claimed phones, in the order asked: waiting, fetched, sealed, "
                "registered (unclaimed for a MAC not claimed in the tenant)",
                _list_of("ClaimStatus", "One per MAC"),
                parameters=[
                    {
                        "name": "mac",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                        "description": "Repeat for each phone (at most 100)",
                    },
                    _TENANT_Q,
                ],
            )
        },
        PREFIX + "/labels/decode": {
            "post": _op(
                "Read the barcodes in a photo of a phone label and pick the MAC. A picture "
                "too large to decode within the memory budget (e.g. a 16-bit PNG over 6 "
                "million pixels) is 400 on field image",
                {
                    "200": openapi.json_content(openapi.ref("LabelReading"), "What was read"),
                    "429": openapi.json_content(
                        openapi.ref("Error"),
                        "Too many photos are being read: retry after Retry-After seconds",
                    ),
                },
                requestBody={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["image"],
                                "properties": {"image": {"type": "string", "format": "binary"}},
                            }
                        }
                    },
                },
            )
        },
    },
    {
        "InstallerUser": {
            "type": "object",
            "properties": {
                "extension": {"type": "string"},
                "name": {"type": "string"},
                "devices": {"type": "integer", "description": "Phones the user is on"},
            },
        },
        "ModelChoice": {
            "type": "object",
            "properties": {
                "model": {"type": "string"},
                "vendor": {"enum": ["yealink", "snom"]},
                "label": {"type": "string"},
            },
        },
        "ClaimIn": {
            "type": "object",
            "required": ["mac", "model"],
            "additionalProperties": False,
            "properties": {
                "mac": {"type": "string", "description": "12 hex digits, any common notation"},
                "model": {"type": "string"},
                "extension": {**_NULL_STR, "description": "The user on line 1; null: spare"},
                "tenant": {"type": "string", "description": "Admins only"},
            },
        },
        "Claim": {
            "type": "object",
            "properties": {
                "mac": {"type": "string"},
                "model": {"type": "string"},
                "vendor": {"type": "string"},
                "tenant": {"type": "string"},
                "user": {
                    "type": ["object", "null"],
                    "properties": {"extension": {"type": "string"}, "name": {"type": "string"}},
                },
                "status": openapi.ref("ClaimStatus"),
            },
        },
        "ClaimStatus": {
            "type": "object",
            "properties": {
                "mac": {"type": "string"},
                "state": {"enum": [s.value for s in installer.ClaimState]},
                "label": {"type": "string"},
                "hint": {"type": "string", "description": "What to check when it stalls here"},
                "model": {**_NULL_STR, "description": "The claimed model"},
                "reported_model": _NULL_STR,
                "reported_firmware": {**_NULL_STR, "description": "The version it runs"},
                "last_contact_at": {"type": ["string", "null"], "format": "date-time"},
                "ip": _NULL_STR,
            },
        },
        "LabelReading": {
            "type": "object",
            "properties": {
                "barcodes": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"format": {"type": "string"}, "text": {"type": "string"}},
                    },
                },
                "macs": {"type": "array", "items": {"type": "string"}},
                "mac": {**_NULL_STR, "description": "The label's MAC when it is unambiguous"},
                "message": {"type": "string"},
            },
        },
    },
)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(PREFIX + "/installer/users", list_users)
    r.add_get(PREFIX + "/installer/models", list_models)
    r.add_post(PREFIX + "/claims", claim)
    r.add_get(PREFIX + "/claims/status", claim_status)
    r.add_post(PREFIX + "/labels/decode", decode_label)
