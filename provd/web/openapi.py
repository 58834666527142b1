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
_STR = {"type": "string"}
_TS = {"type": ["string", "null"], "format": "date-time"}


def _op(summary: str, ok: dict[str, Any], body: str | None = None, **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": ok | _ERRORS, **extra}
    if body:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return op


_MAC = {"name": "mac", "in": "path", "required": True, "schema": _STR}
_TENANT_Q = {"name": "tenant", "in": "query", "required": False, "schema": _STR}
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
        },
        "/api/v1/devices/{mac}/reset": {
            "post": _op(
                "Unseal a device so that its tenant's bootstrap credential works again",
                {"200": _json(_ref("Device"), "The device")},
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
        },
    },
}
