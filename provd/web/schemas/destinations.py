"""Destinations: where a call goes next (a group's overflow, a forward, a route's state).

Requests write one as text; answers show it with the same text, so it can be sent back.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from provd.web.contract import View

WRITTEN = (
    "user:EXT, group:EXT, external:NUMBER (any notation of the tenant's country, not an"
    " emergency number), scheduled:ROUTE, menu:EXT, voicemail:EXT (the user's mailbox),"
    " announcement:EXT, queue:EXT, or none"
)


class Destination(View):
    kind: Literal[
        "user", "group", "external", "scheduled", "menu", "voicemail", "announcement", "queue"
    ]
    key: str = Field(
        description="The user's (or mailbox's), group's, menu's, announcement's or queue's"
        " extension, the number (E.164) or the route's name"
    )
    name: str = Field(
        description="The user's, group's, menu's, announcement's or queue's name; empty for"
        " the others"
    )
    text: str = Field(description="As requests write it: user:201, external:+31612345678, …")
