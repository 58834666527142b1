"""Rates: the platform's table and tenants' overrides, read and imported as CSV."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from provd.web.contract import View


class Rate(View):
    match: str = Field(description="An E.164 prefix (+3197) or a call type (mobile)")
    kind: Literal["prefix", "call_type"]
    price_per_minute: str = Field(description="EUR, 4 decimals, as text (exact)")
    setup_fee: str = Field(description="EUR per answered call, 4 decimals, as text (exact)")
    increment: str | None = Field(
        description="FIRST/THEN seconds billed (60/1); null: by the second"
    )
    currency: Literal["EUR"]


class RateTable(View):
    tenant: str | None = Field(description="Null: the platform's table")
    source: Literal["platform", "shipped", "tenant"] = Field(
        description="shipped: the example table shipped with provd, the platform's while it"
        " has none of its own"
    )
    rates: list[Rate] = Field(description="In the order a look-up tries them")


class RateImport(View):
    tenant: str | None
    added: list[str] = Field(description="Matches new to the table")
    changed: list[str]
    removed: list[str]
    unchanged: int
    dry_run: bool
