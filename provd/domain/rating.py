"""What a call costs: rates, the table they form, and the price of one call.

A rate matches a call by an E.164 prefix (``+3197``) or by a call type
(:class:`~provd.domain.call_types.CallType`: ``mobile``, ``premium``, …) and prices it
with a per-minute price, a setup fee and a billing increment. The table is the
platform's rates plus each tenant's overrides.

Which rate prices a call, first that applies:

1. the longest prefix that starts the dialled number, the tenant's before the
   platform's when both have that same prefix (a longer platform prefix still wins
   over a shorter tenant one: a tenant overrides a range by naming it or a longer one);
2. a rate for the call's type, the tenant's before the platform's.

Prefixes price outbound calls only. Internal, inbound and emergency calls are priced
by a rate for their type alone and cost nothing without one: no prefix written for the
public network prices a call to 112 or a call from a customer's caller. An outbound call
that no rate matches has no price (:class:`NoRate`): better no cost than a made-up one.

Prices are Decimal, never float, and a call's price is rounded half up to 4 places.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from provd.domain import numbers
from provd.domain.call_types import CallType
from provd.domain.errors import InvalidInput

CURRENCY = "EUR"
PLACES = Decimal("0.0001")
ZERO = Decimal("0.0000")
MAX_PRICE = Decimal("1000")
"""Per minute or per call: ten times the dearest satellite minute, so a slipped decimal
point is refused rather than billed."""
MAX_INCREMENT = 3600

# Called with their type only: never by a prefix (see the module docstring).
FREE_UNLESS_RATED = frozenset({CallType.INTERNAL, CallType.INBOUND, CallType.EMERGENCY})

_AMOUNT = re.compile(r"([0-9]{1,4})(?:[.,]([0-9]{1,4}))?", re.ASCII)
_INCREMENT = re.compile(r"([0-9]{1,4})(?:/([0-9]{1,4}))?", re.ASCII)


class NoRate(LookupError):
    """No rate prices this outbound call."""


@dataclass(frozen=True, slots=True)
class Increment:
    """How call time is counted: the first ``first`` seconds as a whole, then every
    started ``then`` seconds (``60/1``: a minute at least, then by the second)."""

    first: int
    then: int

    def billed(self, seconds: int) -> int:
        if seconds <= 0:
            return 0
        if seconds <= self.first:
            return self.first
        rest = seconds - self.first
        return self.first + -(-rest // self.then) * self.then

    def __str__(self) -> str:
        return f"{self.first}/{self.then}"


PER_SECOND = Increment(1, 1)


@dataclass(frozen=True, slots=True)
class Rate:
    match: str
    """An E.164 prefix (``+3197``) or a call type's value (``mobile``)."""
    price_per_minute: Decimal
    setup_fee: Decimal = ZERO
    increment: Increment | None = None
    """None: by the second (:data:`PER_SECOND`)."""
    currency: str = CURRENCY

    @property
    def call_type(self) -> CallType | None:
        return None if self.match.startswith("+") else CallType(self.match)

    def cost(self, seconds: int) -> Decimal:
        """The price of a call answered for ``seconds``; an unanswered one (0) is free."""
        if seconds <= 0:
            return ZERO
        billed = (self.increment or PER_SECOND).billed(seconds)
        amount = self.setup_fee + self.price_per_minute * billed / 60
        return amount.quantize(PLACES, rounding=ROUND_HALF_UP)


class _Rates:
    """One owner's rates, indexed for the look-up."""

    __slots__ = ("by_prefix", "by_type")

    def __init__(self, rates: Iterable[Rate]) -> None:
        self.by_prefix: dict[str, Rate] = {}
        self.by_type: dict[CallType, Rate] = {}
        for rate in rates:
            kind = rate.call_type
            if kind is None:
                self.by_prefix[rate.match] = rate
            else:
                self.by_type[kind] = rate


_NONE = _Rates(())


class RateTable:
    """The platform's rates and each tenant's overrides (by tenant slug)."""

    __slots__ = ("_platform", "_tenants", "platform", "tenants")

    def __init__(
        self, platform: Iterable[Rate] = (), tenants: Mapping[str, Iterable[Rate]] | None = None
    ) -> None:
        self.platform = tuple(platform)
        self.tenants = {slug: tuple(rates) for slug, rates in (tenants or {}).items()}
        self._platform = _Rates(self.platform)
        self._tenants = {slug: _Rates(rates) for slug, rates in self.tenants.items()}

    def rate_for(self, tenant: str | None, number_e164: str, call_type: CallType) -> Rate | None:
        """The rate that prices the call (see the module docstring), or None."""
        own = self._tenants.get(tenant, _NONE) if tenant is not None else _NONE
        if call_type not in FREE_UNLESS_RATED and number_e164.startswith("+"):
            # Longest first: an E.164 number has at most 16 starts to look up.
            for end in range(len(number_e164), 1, -1):
                start = number_e164[:end]
                found = own.by_prefix.get(start) or self._platform.by_prefix.get(start)
                if found is not None:
                    return found
        return own.by_type.get(call_type) or self._platform.by_type.get(call_type)


def price(
    table: RateTable, tenant: str | None, number_e164: str, call_type: CallType, seconds: int
) -> Decimal:
    """What the call costs in :data:`CURRENCY`, rounded to 4 places.

    ``seconds`` is the billable (answered) time; 0 for a call that was not answered,
    which costs nothing. Raises :class:`NoRate` for an outbound call no rate prices.
    """
    if seconds < 0:
        raise ValueError(f"billable seconds cannot be negative ({seconds})")
    if seconds == 0:
        return ZERO
    rate = table.rate_for(tenant, number_e164, call_type)
    if rate is None:
        if call_type in FREE_UNLESS_RATED:
            return ZERO
        raise NoRate(f"no rate for a {call_type.value} call to {number_e164}")
    return rate.cost(seconds)


# ---- reading what a person wrote --------------------------------------------------------


def parse_match(text: object, *, field: str = "match") -> str:
    """A prefix as E.164 (``+3197``; national ``097`` is read as Dutch) or a call type."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(field, "give a number prefix such as +3197, or a call type")
    value = text.strip()
    if value[0] in "+0123456789":
        return numbers.parse_prefix(value, field=field)
    try:
        return CallType(value.lower()).value
    except ValueError:
        choices = ", ".join(t.value for t in CallType)
        raise InvalidInput(
            field, f"{value[:40]!r} is neither a number prefix (+3197) nor a call type ({choices})"
        ) from None


def parse_amount(text: object, *, field: str) -> Decimal:
    """A price in euros: up to 4 decimals after a point (or a comma, as Dutch
    spreadsheets write it); never negative, never above :data:`MAX_PRICE`."""
    if isinstance(text, Decimal):
        text = format(text, "f")
    if not isinstance(text, str):
        raise InvalidInput(field, "must be a price such as 0.0450")
    value = text.strip()
    if value.startswith("-"):
        raise InvalidInput(field, f"{value[:40]!r} is negative: a price is 0 or more")
    found = _AMOUNT.fullmatch(value)
    if found is None:
        raise InvalidInput(
            field, f"{value[:40]!r} is not a price: digits with up to 4 decimals, as 0.0450"
        )
    amount = Decimal(f"{found.group(1)}.{found.group(2) or '0'}")
    if amount > MAX_PRICE:
        raise InvalidInput(field, f"{value} is more than {MAX_PRICE} {CURRENCY}")
    return amount.quantize(PLACES)


def parse_increment(text: object, *, field: str = "increment") -> Increment | None:
    """``FIRST/THEN`` seconds (``60/1``), or one number for both (``60``: by the minute);
    empty: by the second."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if not isinstance(text, str):
        raise InvalidInput(field, "must be seconds as FIRST/THEN, such as 60/1")
    value = text.strip()
    found = _INCREMENT.fullmatch(value)
    if found is None:
        raise InvalidInput(
            field, f"{value[:40]!r} is not an increment: seconds as FIRST/THEN, such as 60/1"
        )
    first = int(found.group(1))
    then = int(found.group(2) or first)
    for seconds in (first, then):
        if not 1 <= seconds <= MAX_INCREMENT:
            raise InvalidInput(field, f"{value}: each part is 1 to {MAX_INCREMENT} seconds")
    return Increment(first, then)


def make_rate(
    match: object,
    price_per_minute: object,
    setup_fee: object = "0",
    increment: object = None,
) -> Rate:
    """A rate from what a person wrote, each field checked (errors name it)."""
    return Rate(
        parse_match(match),
        parse_amount(price_per_minute, field="price_per_minute"),
        parse_amount(setup_fee if setup_fee not in (None, "") else "0", field="setup_fee"),
        parse_increment(increment),
    )
