"""Spend and call limits of a tenant or a trunk, and the alerts they raised."""

from __future__ import annotations

from pydantic import Field

from provd.web.contract import Body, View

_SPEND = "EUR, up to 2 decimals; null: no limit"
_CALLS = "calls out; null: no limit"

Amount = str | int | float | None


class LimitsPatch(Body):
    """Only the keys given change; null clears one (no limit for that window)."""

    hour: Amount = Field(default=None, description=f"Spend per hour ({_SPEND})")
    day: Amount = Field(default=None, description=f"Spend per day ({_SPEND})")
    week: Amount = Field(default=None, description=f"Spend per ISO week ({_SPEND})")
    calls_hour: Amount = Field(default=None, description=f"Calls per hour ({_CALLS})")
    calls_day: Amount = Field(default=None, description=f"Calls per day ({_CALLS})")
    calls_week: Amount = Field(default=None, description=f"Calls per week ({_CALLS})")
    alert_email: str | None = Field(
        default=None, description="The tenant's: where its 80 % and 95 % alerts go"
    )


class LimitsView(View):
    tenant: str
    trunk: str | None = Field(description="The trunk's own limits; null: the tenant's")
    hour: str | None
    day: str | None
    week: str | None
    calls_hour: int | None
    calls_day: int | None
    calls_week: int | None
    alert_email: str | None = Field(default=None, description="On the tenant's limits only")


class LimitAlertView(View):
    level: str = Field(description="tenant, or trunk:<name>")
    kind: str = Field(description="spend or calls")
    window: str = Field(description="hour, day or week")
    window_start: str
    percent: int = Field(description="80 or 95")
    used: str
    limit: str
    recipient: str
    delivered: bool
    error: str
    at: str


class LimitAlerts(View):
    alerts: list[LimitAlertView]
