"""A user's call forwarding and do-not-disturb."""

from __future__ import annotations

from pydantic import Field

from provd.web.contract import Body, View
from provd.web.schemas.destinations import WRITTEN, Destination


class ForwardingPatch(Body):
    always: str | None = Field(default=None, description=f"Every call: {WRITTEN}")
    busy: str | None = Field(default=None, description="When busy or in do-not-disturb")
    no_answer: str | None = Field(default=None, description="When unanswered in time")
    no_answer_seconds: int | None = Field(
        default=None, description="Ring time before no_answer applies, 5 to 120"
    )
    unreachable: str | None = Field(default=None, description="When no phone is registered")
    clear: list[str] | None = Field(
        default=None, description="Forwards to clear: always, busy, no-answer, unreachable, all"
    )


class Forwarding(View):
    tenant: str
    extension: str
    always: Destination | None
    busy: Destination | None
    no_answer: Destination | None
    no_answer_seconds: int
    unreachable: Destination | None
    dnd: bool = Field(description="Do-not-disturb")


class DndIn(Body):
    dnd: bool
