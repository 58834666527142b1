"""A tenant's music on hold: its playlist of sounds."""

from __future__ import annotations

from pydantic import Field

from provd.web.contract import Body, View


class MohIn(Body):
    sounds: list[str] = Field(
        description="The tenant's sounds by name, in the order they play (1 to 20; one may"
        " come again)"
    )


class Moh(View):
    tenant: str
    sounds: list[str] = Field(description="In order; empty: the default music on hold")
    duration_ms: int = Field(description="Of the whole playlist, before it starts again")
