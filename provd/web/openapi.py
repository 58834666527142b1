"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "Invalid input; `error.field` names the offending field"),
    "401": _json(_ref("Error"), "Missing or invalid API token"),
    "404": _json(_ref("Error"), "No such object"),
    "409": _json(_ref("Error"), "Conflicts with an existing object"),
}
_NO_PBX = {"503": _json(_ref("Error"), "The PBX is not running or does not answer")}
_STR = {"type": "string"}
_TS = {"type": ["string", "null"], "format": "date-time"}
_NULL_STR = {"type": ["string", "null"]}


def _op(summary: str, ok: dict[str, Any], body: str | None = None, **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": ok | _ERRORS, **extra}
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return op


_MAC = {"name": "mac", "in": "path", "required": True, "schema": _STR}
_SCOPE = [
    {"name": "platform", "in": "query", "schema": {"type": "boolean"}},
    {"name": "tenant", "in": "query", "schema": _STR},
    {"name": "user", "in": "query", "schema": _STR, "description": "EXT or TENANT/EXT"},
    {"name": "device", "in": "query", "schema": _STR, "description": "MAC"},
    {"name": "model", "in": "query", "schema": _STR, "description": "implied by device"},
]
_TENANT_Q = {"name": "tenant", "in": "query", "required": False, "schema": _STR}
_ROLLOUT_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_FIRMWARE_UPLOAD = [
    {"name": "model", "in": "query", "required": True, "schema": _STR, "description": "Repeat"},
    {"name": "version", "in": "query", "required": True, "schema": _STR},
    {"name": "filename", "in": "query", "required": True, "schema": _STR},
    {"name": "sha256", "in": "query", "schema": _STR, "description": "Refused on mismatch"},
    {"name": "tested", "in": "query", "schema": {"type": "boolean"}},
    {"name": "notes", "in": "query", "schema": _STR},
]
_USER_PATH = [
    {"name": "tenant", "in": "path", "required": True, "schema": _STR},
    {"name": "extension", "in": "path", "required": True, "schema": _STR},
]

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "provd", "version": "1", "description": "Phones, users and tenants."},
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/tenants": {
            "get": _op(
                "List tenants",
                {"200": _json({"type": "array", "items": _ref("Tenant")}, "Tenants")},
            ),
            "post": _op(
                "Add a tenant; the answer carries its bootstrap password once",
                {"201": _json(_ref("Tenant"), "Created")},
                "TenantIn",
            ),
        },
        "/api/v1/users": {
            "get": _op(
                "List users",
                {"200": _json({"type": "array", "items": _ref("User")}, "Users")},
                parameters=[_TENANT_Q],
            ),
            "post": _op(
                "Add a user",
                {"201": _json(_ref("User"), "Created, with its SIP password")},
                "UserIn",
            ),
        },
        "/api/v1/users/{tenant}/{extension}": {
            "get": _op(
                "Show a user", {"200": _json(_ref("User"), "The user")}, parameters=_USER_PATH
            ),
            "delete": _op(
                "Remove a user", {"204": {"description": "Removed"}}, parameters=_USER_PATH
            ),
        },
        "/api/v1/devices": {
            "get": _op(
                "List devices",
                {"200": _json({"type": "array", "items": _ref("Device")}, "Devices")},
                parameters=[_TENANT_Q],
            ),
            "post": _op(
                "Add a device; the answer carries its provisioning credentials",
                {"201": _json(_ref("Device"), "Created")},
                "DeviceIn",
            ),
        },
        "/api/v1/devices/{mac}": {
            "get": _op(
                "Show a device", {"200": _json(_ref("Device"), "The device")}, parameters=[_MAC]
            ),
            "delete": _op(
                "Remove a device", {"204": {"description": "Removed"}}, parameters=[_MAC]
            ),
            "patch": _op(
                "Change a device's expansion modules and VLAN/LLDP overrides",
                {"200": _json(_ref("Device"), "The device")},
                "DevicePatch",
                parameters=[_MAC],
            ),
        },
        "/api/v1/devices/{mac}/reset": {
            "post": _op(
                "Unseal a device so that its tenant's bootstrap credential works again",
                {"200": _json(_ref("Device"), "The device")},
                parameters=[_MAC],
            )
        },
        "/api/v1/layouts": {
            "get": _op(
                "A level's layout (exactly one of platform, tenant, user, device); "
                "for a device also the effective keys",
                {"200": _json(_ref("Layout"), "The layout")},
                parameters=_SCOPE,
            ),
            "put": _op(
                "Replace a level's layout, all or nothing; errors name the row",
                {"200": _json(_ref("Layout"), "The new layout")},
                "Layout",
                parameters=_SCOPE,
            ),
        },
        "/api/v1/layouts/keys": {
            "post": _op(
                "Program one key",
                {"200": _json(_ref("Key"), "The key")},
                "KeyIn",
                parameters=_SCOPE,
            ),
            "delete": _op(
                "Clear one key (key=line:N|exp:M:N) or the whole layout",
                {"200": _json({"type": "object"}, "How many keys were cleared")},
                parameters=[*_SCOPE, {"name": "key", "in": "query", "schema": _STR}],
            ),
        },
        "/api/v1/layouts/pages": {
            "post": _op(
                "Describe one expansion-module page",
                {"200": _json({"type": "object"}, "The page")},
                "PageIn",
                parameters=_SCOPE,
            )
        },
        "/api/v1/tenants/{slug}": {
            "patch": _op(
                "Change a tenant's phone defaults (VLANs, LLDP, SIP proxy, pickup code, time zone)",
                {"200": _json(_ref("Tenant"), "The tenant")},
                "TenantPatch",
                parameters=[{"name": "slug", "in": "path", "required": True, "schema": _STR}],
            )
        },
        "/api/v1/registrations": {
            "get": _op(
                "Registration state of every device's lines (one PBX query)",
                {"200": _json({"type": "array", "items": _ref("DeviceRegistration")}, "Per device")}
                | _NO_PBX,
                parameters=[_TENANT_Q],
            )
        },
        "/api/v1/devices/{mac}/registration": {
            "get": _op(
                "Registration state of a device's lines",
                {"200": _json(_ref("DeviceRegistration"), "Per line")} | _NO_PBX,
                parameters=[_MAC],
            )
        },
        "/api/v1/devices/{mac}/resync": {
            "post": _op(
                "Make the phone fetch its configuration again (SIP NOTIFY check-sync); "
                "409 when the device has no line or no line received it",
                {"200": _json(_ref("CheckSync"), "What each line answered")} | _NO_PBX,
                parameters=[_MAC],
            )
        },
        "/api/v1/devices/{mac}/reboot": {
            "post": _op(
                "Reboot the phone (SIP NOTIFY check-sync;reboot=true); "
                "409 when the device has no line or no line received it",
                {"200": _json(_ref("CheckSync"), "What each line answered")} | _NO_PBX,
                parameters=[_MAC],
            )
        },
        "/api/v1/firmware": {
            "get": _op(
                "Stored firmware images with where each is pinned, oldest version first",
                {"200": _json({"type": "array", "items": _ref("Firmware")}, "Images")},
                parameters=[{"name": "model", "in": "query", "schema": _STR}],
            ),
            "post": {
                "summary": "Upload a firmware file (the raw body, streamed and hashed into the"
                " store); the same file again with the same version and models changes nothing",
                "parameters": _FIRMWARE_UPLOAD,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/octet-stream": {
                            "schema": {"type": "string", "format": "binary"}
                        }
                    },
                },
                "responses": {
                    "201": _json(_ref("Firmware"), "Stored (created: true)"),
                    "200": _json(_ref("Firmware"), "Already stored (created: false)"),
                }
                | _ERRORS,
            },
        },
        "/api/v1/firmware/{sha256}/tested": {
            "post": _op(
                'Mark an image tested (body optional; {"tested": false} withdraws the mark,'
                " refused while it is pinned)",
                {"200": _json(_ref("Firmware"), "The image")},
                parameters=[
                    {
                        "name": "sha256",
                        "in": "path",
                        "required": True,
                        "schema": _STR,
                        "description": "8 to 64 leading hex digits",
                    }
                ],
                requestBody={
                    "required": False,
                    "content": {"application/json": {"schema": _ref("TestedIn")}},
                },
            )
        },
        "/api/v1/firmware/pins": {
            "put": _op(
                "Pin a tested image for a model: platform default, tenant override or device pin",
                {"200": _json(_ref("FirmwarePin"), "The pin")},
                "FirmwarePinIn",
            ),
            "delete": _op(
                "Remove a pin (platform when neither tenant nor device is given)",
                {"204": {"description": "Removed"}},
                parameters=[
                    {"name": "model", "in": "query", "schema": _STR},
                    _TENANT_Q,
                    {"name": "device", "in": "query", "schema": _STR, "description": "MAC"},
                ],
            ),
        },
        "/api/v1/devices/{mac}/firmware": {
            "get": _op(
                "The firmware a device should run, where that comes from, what it reports"
                " (HTTP and SIP User-Agent) and whether it drifted",
                {"200": _json(_ref("DeviceFirmware"), "Expected and running")},
                parameters=[_MAC],
            )
        },
        "/api/v1/audit": {
            "get": _op(
                "Recent changes, newest first",
                {"200": _json({"type": "array", "items": {"type": "object"}}, "Audit rows")},
                parameters=[{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            )
        },
        "/api/v1/rollouts": {
            "get": _op(
                "Firmware rollouts, newest first, with counts per device state",
                {"200": _json({"type": "array", "items": _ref("Rollout")}, "Rollouts")},
                parameters=[{"name": "limit", "in": "query", "schema": {"type": "integer"}}],
            ),
            "post": _op(
                "Start a firmware rollout (the server's engine runs it); devices not "
                "registered now are listed and fail when their turn comes",
                {"201": _json(_ref("Rollout"), "Created, with its devices")},
                "RolloutIn",
            ),
        },
        "/api/v1/rollouts/{id}": {
            "get": _op(
                "A rollout: counts per state and every device's state and reason",
                {"200": _json(_ref("Rollout"), "The rollout")},
                parameters=[_ROLLOUT_ID],
            )
        },
        "/api/v1/rollouts/{id}/pause": {
            "post": _op(
                "Start no more devices; phones already updating are still followed",
                {"200": _json(_ref("Rollout"), "The rollout")},
                parameters=[_ROLLOUT_ID],
            )
        },
        "/api/v1/rollouts/{id}/resume": {
            "post": _op(
                "Resume a paused rollout",
                {"200": _json(_ref("Rollout"), "The rollout")},
                parameters=[_ROLLOUT_ID],
            )
        },
        "/api/v1/rollouts/{id}/cancel": {
            "post": _op(
                "Cancel: devices not started stay pending and are never notified",
                {"200": _json(_ref("Rollout"), "The rollout")},
                parameters=[_ROLLOUT_ID],
            )
        },
        "/api/v1/rollouts/{id}/events": {
            "get": _op(
                "Live progress as server-sent events: snapshot, then rollout and device "
                "per state change (id = audit row; Last-Event-ID resumes), progress "
                "(counts) after changes and every 15 s, end when nothing more will happen",
                {
                    "200": {
                        "description": "An event stream",
                        "content": {"text/event-stream": {"schema": _STR}},
                    }
                },
                parameters=[
                    _ROLLOUT_ID,
                    {"name": "Last-Event-ID", "in": "header", "schema": {"type": "integer"}},
                ],
            )
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {"message": _STR, "field": _STR},
                        "required": ["message"],
                    }
                },
            },
            "Key": {
                "type": "object",
                "properties": {
                    "key": {**_STR, "description": "line:N or exp:MODULE:N"},
                    "function": {
                        "enum": [
                            "line",
                            "blf",
                            "speed_dial",
                            "park",
                            "pickup",
                            "group_pickup",
                            "dnd",
                            "transfer",
                            "forward",
                            "voicemail",
                            "intercom",
                            "url",
                            "dtmf",
                            "none",
                        ]
                    },
                    "target": _STR,
                    "label": _STR,
                    "locked": {"type": "boolean"},
                },
            },
            "KeyIn": {
                "type": "object",
                "required": ["key", "function"],
                "properties": {
                    "model": _STR,
                    "key": _STR,
                    "function": _STR,
                    "target": _STR,
                    "label": _STR,
                    "locked": {"type": "boolean"},
                },
            },
            "PageIn": {
                "type": "object",
                "required": ["module", "page", "description"],
                "properties": {
                    "model": _STR,
                    "module": {"type": "integer"},
                    "page": {"type": "integer"},
                    "description": _STR,
                },
            },
            "Layout": {
                "type": "object",
                "properties": {
                    "model": _STR,
                    "keys": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}},
                    "pages": {"type": "array", "items": {"type": "object"}},
                    "effective": {"type": "array", "items": {"type": "object"}},
                },
            },
            "TenantPatch": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "vlan_lan": {**_STR, "description": "ID[:PRIORITY] or off"},
                    "vlan_pc": {**_STR, "description": "ID[:PRIORITY] or off"},
                    "lldp": {**_STR, "description": "on or off"},
                    "sip_proxy": {**_STR, "description": "HOST[:PORT] or default"},
                    "pickup_code": _STR,
                    "timezone": _STR,
                },
            },
            "DevicePatch": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "expansion_modules": {"type": "integer"},
                    "vlan_lan": {**_STR, "description": "ID[:PRIORITY], off or inherit"},
                    "vlan_pc": {**_STR, "description": "ID[:PRIORITY], off or inherit"},
                    "lldp": {**_STR, "description": "on, off or inherit"},
                },
            },
            "TenantIn": {
                "type": "object",
                "required": ["slug"],
                "additionalProperties": False,
                "properties": {"slug": _STR, "name": _STR, "sip_domain": _STR, "timezone": _STR},
            },
            "Tenant": {
                "type": "object",
                "properties": {
                    "slug": _STR,
                    "name": _STR,
                    "sip_domain": _STR,
                    "timezone": _STR,
                    "bootstrap_username": _STR,
                    "bootstrap_password": {**_STR, "description": "Only in the answer to POST"},
                    "created_at": _TS,
                },
            },
            "UserIn": {
                "type": "object",
                "required": ["extension", "name"],
                "additionalProperties": False,
                "properties": {
                    "tenant": {**_STR, "default": "default"},
                    "extension": {**_STR, "pattern": "^[0-9]{2,5}$"},
                    "name": _STR,
                    "sip_password": _STR,
                },
            },
            "User": {
                "type": "object",
                "properties": {
                    "tenant": _STR,
                    "extension": _STR,
                    "name": _STR,
                    "sip_username": _STR,
                    "sip_domain": _STR,
                    "sip_password": {**_STR, "description": "Only in the answer to POST"},
                    "created_at": _TS,
                },
            },
            "LineRegistration": {
                "type": "object",
                "properties": {
                    "slot": {"type": "integer"},
                    "extension": _STR,
                    "aor": {**_STR, "description": "extension@sip_domain"},
                    "registered": {"type": "boolean"},
                    "contact": {**_NULL_STR, "description": "The registered Contact URI"},
                    "user_agent": {**_NULL_STR, "description": "Model and firmware as reported"},
                    "wan_address": {**_NULL_STR, "description": "Where the REGISTER came from"},
                    "lan_address": {**_NULL_STR, "description": "The address in the Contact"},
                    "expires_at": _TS,
                },
            },
            "DeviceRegistration": {
                "type": "object",
                "properties": {
                    "mac": _STR,
                    "registered": {
                        "type": ["boolean", "null"],
                        "description": "Every line registered",
                    },
                    "registration": {"type": "array", "items": _ref("LineRegistration")},
                },
            },
            "CheckSync": {
                "type": "object",
                "properties": {
                    "mac": _STR,
                    "action": {"enum": ["resync", "reboot"]},
                    "delivered": {"type": "boolean"},
                    "lines": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "slot": {"type": "integer"},
                                "extension": _STR,
                                "aor": _STR,
                                "delivered": {"type": "boolean"},
                                "outcome": {
                                    "enum": ["delivered", "not_registered", "rejected", "no_answer"]
                                },
                                "status": {"type": "integer"},
                                "reason": _STR,
                                "event": _STR,
                                "text": _STR,
                            },
                        },
                    },
                },
            },
            "Firmware": {
                "type": "object",
                "properties": {
                    "sha256": _STR,
                    "vendor": _STR,
                    "models": {"type": "array", "items": _STR},
                    "version": _STR,
                    "filename": _STR,
                    "size": {"type": "integer"},
                    "tested": {"type": "boolean"},
                    "release_notes": _STR,
                    "created_at": _TS,
                    "created": {"type": "boolean", "description": "Only in the answer to POST"},
                    "pins": {"type": "array", "items": _ref("FirmwarePin")},
                },
            },
            "TestedIn": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "tested": {"type": "boolean", "default": True},
                    "model": {**_STR, "description": "Which image, when the prefix is shared"},
                },
            },
            "FirmwarePinIn": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "model": {**_STR, "description": "Implied by device"},
                    "version": _STR,
                    "sha256": {**_STR, "description": "Instead of version"},
                    "tenant": _STR,
                    "device": {**_STR, "description": "MAC"},
                },
            },
            "FirmwarePin": {
                "type": "object",
                "properties": {
                    "level": {"enum": ["platform", "tenant", "device"]},
                    "tenant": _NULL_STR,
                    "device": _NULL_STR,
                    "model": _STR,
                    "version": _STR,
                    "sha256": _STR,
                },
            },
            "DeviceFirmware": {
                "type": "object",
                "properties": {
                    "mac": _STR,
                    "model": _STR,
                    "tenant": _STR,
                    "expected": {
                        "type": ["object", "null"],
                        "properties": {
                            "version": _STR,
                            "sha256": _STR,
                            "filename": _STR,
                            "url": _STR,
                            "level": {"enum": ["platform", "tenant", "device"]},
                        },
                    },
                    "explanation": {"type": "array", "items": _STR},
                    "rollout_target": {"type": ["object", "null"]},
                    "running": {**_NULL_STR, "description": "The version reported last"},
                    "reported": {
                        "type": "object",
                        "properties": {
                            "http": {"type": "object"},
                            "sip": {"type": "object"},
                        },
                    },
                    "drifted": {"type": "boolean"},
                },
            },
            "DeviceIn": {
                "type": "object",
                "required": ["mac", "model"],
                "additionalProperties": False,
                "properties": {
                    "mac": _STR,
                    "model": _STR,
                    "tenant": {**_STR, "default": "default"},
                    "users": {
                        "type": "array",
                        "items": _STR,
                        "description": "Extensions on line 1, 2, …",
                    },
                    "password": {
                        **_STR,
                        "description": "Provisioning password; generated if absent",
                    },
                    "name": _STR,
                },
            },
            "Device": {
                "type": "object",
                "properties": {
                    "mac": _STR,
                    "model": _STR,
                    "vendor": _STR,
                    "tenant": _STR,
                    "name": _STR,
                    "lines": {"type": "array", "items": {"type": "object"}},
                    "provisioning_username": _STR,
                    "sealed": {"type": "boolean"},
                    "sealed_at": _TS,
                    "last_fetch_at": _TS,
                    "last_fetch_ip": {"type": ["string", "null"]},
                    "reported_firmware": {"type": ["string", "null"]},
                    "last_user_agent": {"type": ["string", "null"]},
                    "provisioning": {"type": "object", "description": "Only in the answer to POST"},
                },
            },
            "RolloutIn": {
                "type": "object",
                "additionalProperties": False,
                "description": "Devices by list, or by model and/or tenant; drifted narrows",
                "properties": {
                    "devices": {
                        "oneOf": [{"type": "array", "items": _STR}, _STR],
                        "description": "MACs, or one string MAC,MAC",
                    },
                    "model": _STR,
                    "tenant": _STR,
                    "drifted": {"type": "boolean", "description": "Only devices off their pin"},
                    "version": {
                        **_STR,
                        "description": "A tested version; default: each device's pinned one",
                    },
                    "batch": {"type": "integer", "default": 10},
                    "canary": {"type": "integer", "default": 0},
                    "concurrency": {"type": "integer", "default": 10},
                    "timeout": {"type": "integer", "default": 900, "description": "Seconds"},
                },
            },
            "RolloutDevice": {
                "type": "object",
                "properties": {
                    "mac": _STR,
                    "position": {"type": "integer"},
                    "batch": {"type": "integer", "description": "0 is the canary batch"},
                    "canary": {"type": "boolean"},
                    "state": {
                        "enum": ["pending", "notified", "fetched", "done", "failed", "timed_out"]
                    },
                    "target_version": _NULL_STR,
                    "reason": _STR,
                    "notified_at": _TS,
                    "fetched_at": _TS,
                    "updated_at": _TS,
                },
            },
            "Rollout": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "state": {"enum": ["running", "paused", "cancelled", "halted", "done"]},
                    "reason": _STR,
                    "selection": _STR,
                    "versions": {"type": "array", "items": _STR},
                    "created_by": _STR,
                    "created_at": _TS,
                    "finished_at": _TS,
                    "batch_size": {"type": "integer"},
                    "canary": {"type": "integer"},
                    "concurrency": {"type": "integer"},
                    "timeout_seconds": {"type": "integer"},
                    "total": {"type": "integer"},
                    "counts": {
                        "type": "object",
                        "additionalProperties": {"type": "integer"},
                        "description": "Devices per state",
                    },
                    "in_flight": {"type": "integer"},
                    "finished": {
                        "type": "boolean",
                        "description": "Over, and no phone still updating",
                    },
                    "devices_per_minute": {"type": "number"},
                    "devices": {"type": "array", "items": _ref("RolloutDevice")},
                    "not_registered_now": {
                        "type": ["array", "null"],
                        "items": _STR,
                        "description": "Only in the answer to POST; null if the PBX did not answer",
                    },
                },
            },
        },
    },
}


# API modules added later describe their own routes next to their handlers and
# add them here at import time; the completeness test covers them the same way.
ref = _ref
json_content = _json
operation = _op
MAC_PARAMETER = _MAC
ERRORS = _ERRORS


def document(paths: dict[str, dict[str, Any]], schemas: dict[str, Any] | None = None) -> None:
    for path, operations in paths.items():
        OPENAPI["paths"].setdefault(path, {}).update(operations)
    if schemas:
        OPENAPI["components"]["schemas"].update(schemas)
