"""Outbound policies: what a tenant, a user or a trunk may call outside."""

from __future__ import annotations

from pydantic import Field

from provd.domain.outbound_policy import Category, Preset
from provd.web.contract import Body, View

_CATEGORIES = ", ".join(Category)
_PRESETS = ", ".join(Preset)


class OutboundPolicyPatch(Body):
    block: list[str] | None = Field(
        default=None, description=f"Blocked categories ({_CATEGORIES}); null keeps, [] clears"
    )
    allow_presets: list[str] | None = Field(
        default=None, description=f"Whitelist presets ({_PRESETS}); null keeps, [] clears"
    )
    allow_prefixes: list[str] | None = Field(
        default=None,
        description="Whitelisted number prefixes (+32, 0044, 0900); null keeps, [] clears",
    )


class OutboundPolicy(View):
    tenant: str
    user: str | None = Field(description="The user's own policy; null: not a user's")
    trunk: str | None = Field(description="The trunk's own policy; null: not a trunk's")
    block: list[str] = Field(description=f"Blocked categories: {_CATEGORIES}")
    allow_presets: list[str] = Field(description=f"Whitelist presets: {_PRESETS}")
    allow_prefixes: list[str] = Field(description="Whitelisted prefixes, E.164")
    description: str
