"""Scheduled routes (number plans): a destination per state of a schedule."""

from __future__ import annotations

from pydantic import Field

from provd.web.contract import Body, View
from provd.web.schemas.destinations import WRITTEN, Destination


class RouteIn(Body):
    tenant: str | None = Field(default=None, description="Default: default")
    name: str
    schedule: str = Field(description="The schedule it follows")
    open: str = Field(description=WRITTEN)
    closed: str = Field(description=WRITTEN)
    holiday: str | None = Field(default=None, description="Default: as closed")


class RoutePatch(Body):
    schedule: str | None = None
    open: str | None = Field(default=None, description=WRITTEN)
    closed: str | None = Field(default=None, description=WRITTEN)
    holiday: str | None = Field(default=None, description="none: as closed")


class Route(View):
    tenant: str
    name: str
    schedule: str
    open: Destination | None
    closed: Destination | None
    holiday: Destination | None = Field(description="null: as closed")
    numbers: list[str] = Field(description="The numbers assigned to the route (E.164)")
