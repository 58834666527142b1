"""The OpenAPI 3.1 description of /api/v1 and of the operations endpoints, served at
/api/v1/openapi.json.

Made from the routes' declarations (:mod:`provd.web.contract`): the paths from
the routes, the schemas from the pydantic models that validate the requests and
describe the answers. Nothing here is written by hand but the title.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from typing import Any

import pydantic
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from provd.web.contract import Operation, Param, Reply, all_operations

REF_TEMPLATE = "#/components/schemas/{model}"
ModelKey = tuple[Any, JsonSchemaMode]


def _models_of(annotation: Any) -> list[type[pydantic.BaseModel]]:
    """The models in a reply's annotation: ``Model`` or ``list[Model]``."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_of(arg)]


def _schema_of(annotation: Any, refs: dict[ModelKey, Any]) -> dict[str, Any]:
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return dict(refs[(annotation, "serialization")])
    if typing.get_origin(annotation) is list:
        (item,) = typing.get_args(annotation)
        return {"type": "array", "items": _schema_of(item, refs)}
    raise TypeError(f"a reply is a model or a list of models, not {annotation!r}")


def _parameter(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "in": p.where, "schema": {"type": p.type}}
    if p.required or p.where == "path":
        out["required"] = True
    if p.description:
        out["description"] = p.description
    return out


def _reply(reply: Reply, refs: dict[ModelKey, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": reply.description}
    if reply.model is not None:
        out["content"] = {reply.media_type: {"schema": _schema_of(reply.model, refs)}}
    elif reply.schema is not None:
        out["content"] = {reply.media_type: {"schema": dict(reply.schema)}}
    return out


def _operation(op: Operation, refs: dict[ModelKey, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary}
    if op.public:
        out["security"] = []
    params = [*op.path_parameters(), *(p for p in op.parameters if p.where != "path")]
    if params:
        out["parameters"] = [_parameter(p) for p in params]
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": dict(refs[(op.body, "validation")])}},
        }
    elif op.raw_body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {media: {"schema": dict(s)} for media, s in op.raw_body.items()},
        }
    out["responses"] = {
        str(status): _reply(reply, refs) for status, reply in sorted(op.replies.items())
    }
    return out


def build(operations: Iterable[Operation]) -> dict[str, Any]:
    ops = list(operations)
    keys: dict[ModelKey, None] = {}
    for op in ops:
        if op.body is not None:
            keys[(op.body, "validation")] = None
        for reply in op.replies.values():
            for model in _models_of(reply.model):
                keys[(model, "serialization")] = None
    refs, defs = models_json_schema(list(keys), ref_template=REF_TEMPLATE)
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault(op.url, {})[op.method.lower()] = _operation(op, dict(refs))
    return {
        "openapi": "3.1.0",
        "info": {"title": "provd", "version": "1", "description": "Phones, users and tenants."},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": defs.get("$defs", {}),
        },
    }


_built: tuple[int, dict[str, Any]] | None = None


def document() -> dict[str, Any]:
    """The document for every route declared so far (made once, again if routes were added)."""
    global _built
    ops = all_operations()
    if _built is None or _built[0] != len(ops):
        _built = (len(ops), build(ops))
    return _built[1]
