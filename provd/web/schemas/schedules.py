"""Schedules: a tenant's opening hours, holidays and night switch."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from provd.web.contract import Body, View

_RULES = "When open, in the tenant's time zone: 'mon-fri 08:00-17:00', 'sun all day'"
_HOLIDAYS = "'2026-12-25', 'Christmas=2026-12-24 12:00..2026-12-27'"


class ScheduleIn(Body):
    tenant: str | None = Field(default=None, description="Default: default")
    name: str
    rules: list[str] = Field(default_factory=list, description=_RULES)
    holidays: list[str] = Field(default_factory=list, description=_HOLIDAYS)


class SchedulePatch(Body):
    name: str | None = Field(default=None, description="A new name")
    rules: list[str] | None = Field(default=None, description=f"Replaces every rule. {_RULES}")
    holidays: list[str] | None = Field(default=None, description="Replaces every holiday")


class Schedule(View):
    tenant: str
    name: str
    timezone: str = Field(description="The tenant's: rules and holidays are read in it")
    rules: list[str]
    holidays: list[str]
    night_switch: Literal["on", "off", "auto"] = Field(
        description="on: closed, off: open, auto: by the rules"
    )
    until: datetime | None = Field(description="When a manual setting ends")
    state: Literal["open", "closed", "holiday"] = Field(description="Now")
    cause: Literal["override", "holiday", "rule", "no rule"]
    next_change: datetime | None = Field(description="null: nothing changes within 400 days")


class NightSwitchIn(Body):
    state: str = Field(description="on (closed), off (open) or auto (the rules)")
    until: str | None = Field(
        default=None, description="When on or off ends: 'YYYY-MM-DD HH:MM' on the tenant's clock"
    )
