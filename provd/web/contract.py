"""The API's contract: each route with its request and response models, in one table.

An API module declares its routes on an :class:`Api` (``@api.post(path, body=…,
ok={201: …})``); the same declaration registers the handler with aiohttp, validates
the request body against the pydantic model before the handler sees it, and is
what :mod:`provd.web.openapi` turns into the published document. A route's
models live in ``provd/web/schemas/<resource>.py``.

Response views are built by the services as plain dicts and sent as they are (no
second pass on the hot paths); the route's response model is what the document
publishes, and tests/web/test_openapi.py checks every route's real answers
against it, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, ClassVar, Literal, TypeVar

import pydantic
from aiohttp import web

from provd.domain.errors import InvalidInput

PREFIX = "/api/v1"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Body(pydantic.BaseModel):
    """A request body: unknown fields refused, no coercion (``"1"`` is not a number)."""

    model_config = pydantic.ConfigDict(extra="forbid", strict=True)
    invalid: ClassVar[Mapping[str, str]] = {}
    """A field's own message for a value of the wrong type, instead of the generic one."""


class View(pydantic.BaseModel):
    """A response body: exactly these fields, so an undocumented one fails the tests."""

    model_config = pydantic.ConfigDict(extra="forbid")


B = TypeVar("B", bound=Body)
BodyHandler = Callable[[web.Request, B], Awaitable[web.StreamResponse]]
Location = Literal["query", "path", "header"]

ERROR_STATUSES: Mapping[int, str] = {
    400: "Invalid input; `error.field` names the offending field",
    401: "Missing or invalid API token",
    403: "Not allowed for this role",
    404: "No such object",
    409: "Conflicts with an existing object",
    413: "Too large",
    429: "Too many requests: retry after Retry-After seconds",
    503: "The PBX is not running or does not answer",
}
DEFAULT_ERRORS = (400, 401, 403, 404, 409)


@dataclass(frozen=True, slots=True)
class Param:
    """A query, path or header parameter; its value is checked by the handler or service."""

    name: str
    where: Location = "query"
    type: Literal["string", "integer", "boolean"] = "string"
    required: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """One documented answer: a JSON model (a pydantic model or ``list[Model]``), or
    another media type with a plain schema, or no body (``model=None``)."""

    description: str
    model: Any = None
    media_type: str = "application/json"
    schema: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    summary: str
    handler: Handler
    replies: Mapping[int, Reply]
    body: type[pydantic.BaseModel] | None = None
    body_required: bool = True
    raw_body: Mapping[str, Any] | None = None
    """Non-JSON request bodies: ``{media type: schema}``."""
    parameters: Sequence[Param] = ()
    prefix: str = PREFIX
    public: bool = False
    """Answered without credentials (a load balancer's health checks)."""

    @property
    def url(self) -> str:
        return self.prefix + self.path

    def path_parameters(self) -> list[Param]:
        declared = {p.name: p for p in self.parameters if p.where == "path"}
        names = re.findall(r"{(\w+)}", self.path)
        return [declared.get(n, Param(n, "path", required=True)) for n in names]


@dataclass
class Api:
    """The routes of one API module, in declaration order.

    ``prefix``: where its paths are; ``""`` for the operations endpoints (``/healthz``,
    ``/readyz``, ``/metrics``), which sit where load balancers and Prometheus look.
    """

    prefix: str = PREFIX
    operations: list[Operation] = field(default_factory=list)

    def __post_init__(self) -> None:
        TABLES.append(self)

    def route(
        self,
        method: str,
        path: str,
        summary: str,
        *,
        ok: Mapping[int, Reply],
        errors: Sequence[int] = DEFAULT_ERRORS,
        parameters: Sequence[Param] = (),
        raw_body: Mapping[str, Any] | None = None,
        public: bool = False,
    ) -> Callable[[Handler], Handler]:
        """A route whose body, if any, the handler reads itself (``raw_body`` documents it).

        ``public``: documented as needing no credentials; the auth middleware decides.
        """

        def register(handler: Handler) -> Handler:
            self._add(
                method,
                path,
                summary,
                handler,
                ok,
                errors,
                parameters,
                raw_body=raw_body,
                public=public,
            )
            return handler

        return register

    def with_body(
        self,
        method: str,
        path: str,
        summary: str,
        body: type[B],
        *,
        ok: Mapping[int, Reply],
        errors: Sequence[int] = DEFAULT_ERRORS,
        parameters: Sequence[Param] = (),
        required: bool = True,
    ) -> Callable[[BodyHandler[B]], Handler]:
        """A route whose JSON body is validated against ``body`` and handed to the handler.

        ``required=False``: an empty body stands for ``{}``.
        """

        def register(handler: BodyHandler[B]) -> Handler:
            @wraps(handler)
            async def validated(request: web.Request) -> web.StreamResponse:
                if not required and not request.body_exists:
                    return await handler(request, parse(body, {}))
                return await handler(request, parse(body, await read_json(request)))

            self._add(
                method,
                path,
                summary,
                validated,
                ok,
                errors,
                parameters,
                body,
                body_required=required,
            )
            return validated

        return register

    def _add(
        self,
        method: str,
        path: str,
        summary: str,
        handler: Handler,
        ok: Mapping[int, Reply],
        errors: Sequence[int],
        parameters: Sequence[Param],
        body: type[pydantic.BaseModel] | None = None,
        *,
        body_required: bool = True,
        raw_body: Mapping[str, Any] | None = None,
        public: bool = False,
    ) -> None:
        replies = dict(ok)
        for status in errors:
            replies.setdefault(status, Reply(ERROR_STATUSES[status], ErrorReply))
        self.operations.append(
            Operation(
                method.upper(),
                path,
                summary,
                handler,
                replies,
                body,
                body_required,
                raw_body,
                tuple(parameters),
                self.prefix,
                public,
            )
        )

    def add_to(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, op.url, op.handler)


TABLES: list[Api] = []
"""Every module's routes; the OpenAPI document is made from them."""


def all_operations() -> list[Operation]:
    return [op for table in TABLES for op in table.operations]


# --- errors ----------------------------------------------------------------------------


class ErrorDetail(pydantic.BaseModel):
    """What went wrong; some answers add context (``row`` of a file, ``lines`` of a phone)."""

    model_config = pydantic.ConfigDict(extra="allow")
    message: str
    field: str | None = pydantic.Field(default=None, description="The offending field")


class ErrorReply(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(title="Error", extra="forbid")
    error: ErrorDetail


def error_response(
    status: int, message: str, field: str | None = None, **extra: Any
) -> web.Response:
    body: dict[str, Any] = {"message": message, **extra}
    if field is not None:
        body["field"] = field
    return web.json_response({"error": body}, status=status)


# --- request bodies --------------------------------------------------------------------


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object."""
    try:
        data = await request.json()
    except (ValueError, RecursionError):
        # ValueError: a syntax error, bytes that are not UTF-8, or an integer longer
        # than Python converts (4,300 digits); RecursionError: nesting too deep.
        raise InvalidInput("body", "is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    return data


def query_limit(request: web.Request, default: int, most: int) -> int:
    """``?limit=`` held to 1…``most`` (``default`` when absent), or InvalidInput naming it."""
    try:
        return min(max(int(request.query.get("limit", str(default))), 1), most)
    except ValueError:
        raise InvalidInput("limit", "must be a whole number") from None


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "is not a known field",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be a whole number",
    "list_type": "must be a list",
}


def parse(model: type[B], data: Mapping[str, Any]) -> B:
    """``data`` as ``model``, or InvalidInput naming the first offending field.

    An unknown field is reported before a missing or mistyped one; the model's own
    message for a field (``invalid``) replaces the generic one.
    """
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as e:
        errors = e.errors(include_url=False, include_context=False)
        first = next((x for x in errors if x["type"] == "extra_forbidden"), errors[0])
        raise InvalidInput(*_field_and_message(model, first)) from None


def _field_and_message(model: type[Body], error: Any) -> tuple[str, str]:
    loc = error["loc"]
    name = str(loc[0]) if loc else "body"
    if error["type"] == "extra_forbidden":
        return name, _MESSAGES["extra_forbidden"]
    if error["input"] is None and len(loc) == 1 and error["type"] != "missing":
        # null where a value is required reads as "absent", as before.
        return name, _MESSAGES["missing"]
    if name in model.invalid and error["type"] != "missing":
        return name, model.invalid[name]
    return name, _MESSAGES.get(error["type"], str(error["msg"]))
