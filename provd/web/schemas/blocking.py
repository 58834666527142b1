"""Incoming blocks: callers a tenant or one of its users refuses."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from provd.web.contract import Body, View


class BlockIn(Body):
    tenant: str | None = Field(default=None, description="Default: default")
    user: str | None = Field(default=None, description="Only calls to this user; default: all")
    anonymous: bool = Field(default=False, description="Callers who hide or have no number")
    number: str | None = Field(default=None, description="One number, in any notation")
    prefix: str | None = Field(default=None, description="Every number starting so: +31900, 0900")
    when: str | None = Field(default=None, description="SCHEDULE:open|closed|holiday")


class BlockWhen(View):
    schedule: str
    state: Literal["open", "closed", "holiday"]


class Block(View):
    id: int
    tenant: str
    user: str | None = Field(description="null: calls to anyone of the tenant")
    match: Literal["anonymous", "number", "prefix"]
    pattern: str | None = Field(description="The number or prefix (E.164)")
    when: BlockWhen | None = Field(description="null: always")
    description: str
