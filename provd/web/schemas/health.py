"""The operations endpoints' answers: alive, and ready or not with what is not."""

from __future__ import annotations

from typing import Literal

import pydantic

from provd.web.contract import View


class Alive(View):
    status: Literal["ok"]


class Readiness(View):
    status: Literal["ready", "not ready"]
    checks: dict[str, str] = pydantic.Field(
        description="Each check (database; kamailio and rtpengine with a PBX): "
        "`ok`, or why not in a few fixed words"
    )
    not_ready: list[str] = pydantic.Field(description="The checks that are not `ok`")
