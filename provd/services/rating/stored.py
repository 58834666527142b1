"""How rates are kept: rows of the ``rate`` table by owner, and the example table
shipped in the package."""

from __future__ import annotations

from functools import cache
from importlib import resources

from provd.db.models import Rate as RateRow
from provd.db.models import Tenant
from provd.domain.rate_csv import parse_rates
from provd.domain.rating import Increment, Rate

PLATFORM_OWNER = "platform"
SHIPPED_FILE = "default_rates.csv"


def owner_key(tenant: Tenant | None) -> str:
    return PLATFORM_OWNER if tenant is None else f"tenant:{tenant.id}"


@cache
def shipped_rates() -> tuple[Rate, ...]:
    """The example platform table shipped with provd (read once; it is in the package)."""
    data = resources.files(__package__).joinpath(SHIPPED_FILE).read_bytes()
    return tuple(parse_rates(data))


def from_row(row: RateRow) -> Rate:
    increment = (
        Increment(row.increment_first, row.increment_then)
        if row.increment_first is not None and row.increment_then is not None
        else None
    )
    return Rate(row.match, row.price_per_minute, row.setup_fee, increment, row.currency)
