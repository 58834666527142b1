"""Outbound policy: which outside numbers a tenant, a user or a trunk may call.

A :class:`Policy` blocks whole categories of calls (international, mobile, premium,
other service numbers: :class:`Category`, the call types of
:mod:`provd.domain.call_types`) and may restrict calls to a destination whitelist made
of presets (:class:`Preset`) and explicit E.164 prefixes. Policies are set per tenant
and per user or trunk, and :func:`verdict` applies all of them at once: the stricter
wins, so a category blocked at any level is blocked and every level's whitelist must
let the number through.

Rules, in the order they are applied
------------------------------------
1. An **emergency number** of the caller's country is never blocked.
2. A **blocked category** refuses the call, named by the category (``premium``).
3. **Fraud-prone destinations** are refused unless a policy names them by an explicit
   prefix that says more than a country's calling code (+4487, not +44): another
   country's premium-rate and shared-cost numbers (libphonenumber's number type in
   their own region), and the non-geographic ranges (region ``001``: satellite
   networks such as Inmarsat +870 and Iridium +8816, international networks
   +882/+883, shared-cost +808), except international freephone (+800). Toll fraud
   sells exactly these: their revenue share pays whoever hacked a phone or trunk. A
   preset, even ``worldwide``, does not lift this: only a prefix someone typed does.
4. Each policy with a **whitelist** must match the number by one of its presets or
   prefixes (``not in whitelist``).

Presets are sets of ISO 3166 regions as libphonenumber assigns numbers to them (so
+44 1481 is Guernsey, GG, not GB):

* ``nl``: Dutch fixed and mobile numbers only (no service or premium numbers), as the
  source documents name it ("NL fixed + mobile").
* ``benelux``: NL, BE, LU.
* ``western_europe``: UN M49 Western Europe (AT, BE, CH, DE, FR, LI, LU, MC, NL) and
  the British Isles (GB, IE and the crown dependencies GG, IM, JE), which carriers
  price with it.
* ``europe``: UN M49 Europe, with Cyprus (an EU member) and Kosovo.
* ``worldwide``: every region.

Numbers are classified from libphonenumber's metadata, never a table written here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import phonenumbers
from phonenumbers import PhoneNumberType, shortnumberinfo

from provd.domain import numbers
from provd.domain.call_types import CallType, destination_type
from provd.domain.errors import InvalidInput


class Category(StrEnum):
    """What can be blocked as a whole."""

    INTERNATIONAL = "international"
    MOBILE = "mobile"
    PREMIUM = "premium"
    SERVICE = "service"


_CATEGORY_OF = {
    CallType.INTERNATIONAL: Category.INTERNATIONAL,
    CallType.MOBILE: Category.MOBILE,
    CallType.PREMIUM: Category.PREMIUM,
    CallType.SERVICE: Category.SERVICE,
}


class Preset(StrEnum):
    NL = "nl"
    BENELUX = "benelux"
    WESTERN_EUROPE = "western_europe"
    EUROPE = "europe"
    WORLDWIDE = "worldwide"


_BENELUX = frozenset({"NL", "BE", "LU"})
_WESTERN_EUROPE = _BENELUX | {"AT", "CH", "DE", "FR", "LI", "MC", "GB", "IE", "GG", "IM", "JE"}
_EUROPE = _WESTERN_EUROPE | {
    "AD", "AL", "AX", "BA", "BG", "BY", "CY", "CZ", "DK", "EE", "ES", "FI", "FO", "GI",
    "GR", "HR", "HU", "IS", "IT", "LT", "LV", "MD", "ME", "MK", "MT", "NO", "PL", "PT",
    "RO", "RS", "RU", "SE", "SI", "SJ", "SK", "SM", "UA", "VA", "XK",
}  # fmt: skip

PRESET_REGIONS: dict[Preset, frozenset[str] | None] = {
    Preset.NL: frozenset({"NL"}),
    Preset.BENELUX: _BENELUX,
    Preset.WESTERN_EUROPE: _WESTERN_EUROPE,
    Preset.EUROPE: _EUROPE,
    Preset.WORLDWIDE: None,
}
"""The regions of each preset; None: every region."""

_NL_TYPES = frozenset({CallType.FIXED, CallType.MOBILE})

_E = TypeVar("_E", bound=StrEnum)

NOT_IN_WHITELIST = "not in whitelist"
FRAUD_PRONE = "fraud-prone destination"

MAX_PREFIXES = 100
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


@dataclass(frozen=True)
class Policy:
    """One level's policy. With neither presets nor prefixes there is no whitelist."""

    blocked: frozenset[Category] = frozenset()
    presets: frozenset[Preset] = frozenset()
    prefixes: frozenset[str] = frozenset()

    @property
    def has_whitelist(self) -> bool:
        return bool(self.presets or self.prefixes)

    def names(self, e164: str) -> bool:
        """Whether one of this policy's explicit prefixes covers the number."""
        return any(e164.startswith(p) for p in self.prefixes)

    def names_range(self, e164: str) -> bool:
        """Whether an explicit prefix covers the number and names more than a whole
        country: allowing +44 is about the United Kingdom, not its premium numbers
        (+4487 names them). A non-geographic code is a network of its own, so +870
        names it."""
        return any(e164.startswith(p) and _names_a_range(p) for p in self.prefixes)


DEFAULT = Policy()
"""Nothing blocked but the fraud-prone destinations; no whitelist."""

REFUSE_ALL = Policy(blocked=frozenset(Category), prefixes=frozenset({"+0"}))
"""Every category blocked and a whitelist no number matches (no E.164 starts +0):
nothing but emergency calls. For a stored policy that cannot be read."""


@dataclass(frozen=True)
class Allowed:
    pass


@dataclass(frozen=True)
class Blocked:
    reason: str
    """The category (``premium``), ``not in whitelist`` or ``fraud-prone destination``:
    stable text, shown in the SIP reason and kept with the call's record."""


Verdict = Allowed | Blocked


def verdict(number_e164: str, country: str, *policies: Policy) -> Verdict:
    """Whether ``number_e164``, dialled from ``country``, may be called under all of
    ``policies`` (tenant first, then the user or trunk; their order does not matter)."""
    region = numbers.check_country(country)
    number = _parse(number_e164)
    if _is_emergency(number, region):
        return Allowed()
    call_type = destination_type(number_e164, region)
    category = _CATEGORY_OF.get(call_type)
    if category is not None and any(category in p.blocked for p in policies):
        return Blocked(category.value)
    if is_fraud_prone(number_e164, region) and not any(
        p.names_range(number_e164) for p in policies
    ):
        return Blocked(FRAUD_PRONE)
    for policy in policies:
        if policy.has_whitelist and not _whitelisted(policy, number_e164, number):
            return Blocked(NOT_IN_WHITELIST)
    return Allowed()


def is_fraud_prone(number_e164: str, country: str) -> bool:
    """Another country's premium-rate or shared-cost number, or a non-geographic one
    other than international freephone (the module docstring says why)."""
    number = _parse(number_e164)
    home = phonenumbers.region_code_for_country_code(number.country_code or 0)
    kind = phonenumbers.number_type(number)
    if home in (phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY, phonenumbers.UNKNOWN_REGION):
        return kind != PhoneNumberType.TOLL_FREE
    if _region(number) == numbers.check_country(country):
        return False
    return kind in (PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST)


def _names_a_range(prefix: str) -> bool:
    code = phonenumbers.parse(prefix + "0" * 3, None).country_code or 0
    home = phonenumbers.region_code_for_country_code(code)
    return home == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY or len(prefix) > len(str(code)) + 1


def _whitelisted(policy: Policy, e164: str, number: phonenumbers.PhoneNumber) -> bool:
    if policy.names(e164):
        return True
    region = _region(number)
    for preset in policy.presets:
        regions = PRESET_REGIONS[preset]
        if regions is None:
            return True
        if region not in regions:
            continue
        if preset is not Preset.NL or destination_type(e164, "NL") in _NL_TYPES:
            return True
    return False


def _region(number: phonenumbers.PhoneNumber) -> str | None:
    """The number's region; for a code shared by several (+1, +44, +7), the one whose
    plan holds it, else the code's main region (a range too new for our metadata)."""
    code = number.country_code or 0
    return phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        code
    )


def _parse(e164: str) -> phonenumbers.PhoneNumber:
    if not isinstance(e164, str) or not _E164.fullmatch(e164):
        raise InvalidInput("number", f"{e164!r} is not an E.164 number (+ and up to 15 digits)")
    try:
        return phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        raise InvalidInput("number", f"{e164!r} is not a telephone number") from None


def _is_emergency(number: phonenumbers.PhoneNumber, region: str) -> bool:
    """Routing sends an emergency call out as +<country code><short number>."""
    if number.country_code != phonenumbers.country_code_for_region(region):
        return False
    national = phonenumbers.national_significant_number(number)
    return bool(shortnumberinfo.is_emergency_number(national, region))


# ---- reading and writing ----------------------------------------------------------


def parse_policy(
    blocked: Iterable[object] = (),
    presets: Iterable[object] = (),
    prefixes: Iterable[object] = (),
    country: str = numbers.DEFAULT_COUNTRY,
) -> Policy:
    """A policy from names as people type them; InvalidInput names the field
    (``block``, ``allow_preset``, ``allow_prefix``). Prefixes may be written in the
    country's notation (``0900``) and are kept in E.164 (``+31900``)."""
    return Policy(
        blocked=frozenset(_choice(Category, v, "block") for v in blocked),
        presets=frozenset(_choice(Preset, v, "allow_preset") for v in presets),
        prefixes=_prefixes(prefixes, country),
    )


def _choice(kind: type[_E], value: object, field: str) -> _E:
    text = value.strip().lower().replace("-", "_") if isinstance(value, str) else value
    for member in kind:
        if member.value == text:
            return member
    known = ", ".join(m.value for m in kind)
    raise InvalidInput(field, f"{value!r} is not one of {known}")


def _prefixes(values: Iterable[object], country: str) -> frozenset[str]:
    out = frozenset(numbers.parse_prefix(v, country, "allow_prefix") for v in values)
    if len(out) > MAX_PREFIXES:
        raise InvalidInput("allow_prefix", f"at most {MAX_PREFIXES} prefixes")
    return out


def to_json(policy: Policy) -> dict[str, list[str]]:
    """The stored and shown form, each list sorted so equal policies compare equal."""
    return {
        "block": sorted(c.value for c in policy.blocked),
        "allow_presets": sorted(p.value for p in policy.presets),
        "allow_prefixes": sorted(policy.prefixes),
    }


def from_json(stored: Any) -> Policy:
    """A stored policy (:func:`to_json`); None is the default policy. ValueError for
    anything else, as a stored value was written by :func:`to_json`."""
    if stored is None:
        return DEFAULT
    prefixes = stored.get("allow_prefixes", ()) if isinstance(stored, dict) else None
    if not isinstance(prefixes, list | tuple) or not all(
        isinstance(p, str) and p.startswith("+") for p in prefixes
    ):
        raise ValueError(f"not a stored outbound policy: {stored!r}")
    try:
        return parse_policy(
            stored.get("block", ()),
            stored.get("allow_presets", ()),
            prefixes,
        )
    except InvalidInput as e:
        raise ValueError(f"not a stored outbound policy: {e}") from None


def describe(policy: Policy) -> str:
    """One line for people: ``blocks premium, international; only benelux, +44``."""
    parts = []
    if policy.blocked:
        parts.append("blocks " + ", ".join(sorted(c.value for c in policy.blocked)))
    allowed = sorted(p.value for p in policy.presets) + sorted(policy.prefixes)
    if allowed:
        parts.append("only " + ", ".join(allowed))
    return "; ".join(parts) or "no restrictions (fraud-prone destinations blocked)"
