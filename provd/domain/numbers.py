"""Telephone numbers: parsing any notation to E.164, classifying, and number blocks.

The numbering facts (which prefixes are mobile, premium, toll-free; how long a number
is; how a country writes its numbers) come from Google's libphonenumber metadata via
the ``phonenumbers`` package, never from prefix tables written here: the metadata is
maintained as regulators change their plans.

A number is stored and compared in E.164 with its ``+`` (``+31201234567``); the form
people read and dial inside their own country (``0201234567``) is derived for display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType, shortnumberinfo

from provd.domain.errors import InvalidInput
from provd.domain.text import check_printable

DEFAULT_COUNTRY = "NL"

MAX_INPUT_LENGTH = 40
"""Longer than any spelling of a 15-digit E.164 number with separators and ``(0)``."""

BLOCK_SIZES = (1, 10, 100)

# What a person writes between digits. Letters are refused on purpose: phonenumbers
# would read vanity letters (0800-FLOWERS) as digits and "ext. 5" as an extension,
# and neither is a number a block or a caller ID can hold.
_ALLOWED = re.compile(r"[0-9+\s\-./()]+")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class NumberType(StrEnum):
    """What kind of number it is, as seen from the tenant's country."""

    FIXED = "fixed"
    MOBILE = "mobile"
    FIXED_OR_MOBILE = "fixed_or_mobile"
    TOLL_FREE = "toll_free"
    PREMIUM = "premium"
    SHARED_COST = "shared_cost"
    VOIP = "voip"
    PERSONAL = "personal"
    PAGER = "pager"
    UAN = "uan"
    VOICEMAIL = "voicemail"
    INTERNATIONAL = "international"
    UNKNOWN = "unknown"


_TYPES = {
    PhoneNumberType.FIXED_LINE: NumberType.FIXED,
    PhoneNumberType.MOBILE: NumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: NumberType.FIXED_OR_MOBILE,
    PhoneNumberType.TOLL_FREE: NumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE: NumberType.PREMIUM,
    PhoneNumberType.SHARED_COST: NumberType.SHARED_COST,
    PhoneNumberType.VOIP: NumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER: NumberType.PERSONAL,
    PhoneNumberType.PAGER: NumberType.PAGER,
    PhoneNumberType.UAN: NumberType.UAN,
    PhoneNumberType.VOICEMAIL: NumberType.VOICEMAIL,
}


def check_country(country: object, *, field: str = "country") -> str:
    """An ISO 3166 region libphonenumber knows (``NL``, ``BE``), upper-cased."""
    if not isinstance(country, str) or country.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(field, f"{country!r} is not a country code such as NL or BE")
    return country.upper()


def _parse(text: object, country: str, field: str) -> phonenumbers.PhoneNumber:
    if not isinstance(text, str):
        raise InvalidInput(field, "must be text")
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidInput(field, f"is too long for a telephone number ({len(text)} characters)")
    check_printable(text, field=field)
    cleaned = text.strip()
    if not cleaned:
        raise InvalidInput(field, "is empty")
    if not _ALLOWED.fullmatch(cleaned) or not any(c.isdigit() for c in cleaned):
        raise InvalidInput(
            field,
            f"{text!r} is not a telephone number: only digits, a leading +,"
            " spaces, dashes, dots, slashes and parentheses are allowed",
        )
    if "+" in cleaned[1:]:
        raise InvalidInput(field, f"{text!r} is not a telephone number: + only at the start")
    try:
        return phonenumbers.parse(cleaned, country)
    except NumberParseException as exc:
        raise InvalidInput(field, f"{text!r} is not a telephone number ({exc._msg})") from None


def parse_number(
    text: object,
    country: str = DEFAULT_COUNTRY,
    field: str = "number",
    *,
    require_valid: bool = True,
) -> str:
    """``text`` in any usual notation as E.164 (``+31201234567``); else InvalidInput.

    National (``020 123 45 67``, ``(020) 1234567``), international with the country's
    exit code (``0031 20 1234567``) or ``+`` (``+31 (0)20 1234567``) are all read
    relative to ``country``. With ``require_valid`` (the default) the number must lie
    in a range the country's plan assigns; without it, a number only needs a possible
    length, which is what a dialled number to be handed to a carrier needs.
    """
    region = check_country(country)
    number = _parse(text, region, field)
    if require_valid:
        ok = phonenumbers.is_valid_number(number)
    else:
        ok = phonenumbers.is_possible_number(number)
    if not ok:
        raise InvalidInput(field, f"{text!r} is not a valid telephone number")
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    # libphonenumber normalises other scripts' digits; what leaves here is ASCII E.164.
    if not _E164.fullmatch(e164):  # pragma: no cover - guarded by the library
        raise InvalidInput(field, f"{text!r} is not a valid telephone number")
    return e164


_PREFIX_SEPARATORS = re.compile(r"[\s\-./()]")


def parse_prefix(text: object, country: str = DEFAULT_COUNTRY, field: str = "prefix") -> str:
    """The start of a range of numbers as E.164 digits with ``+`` (``+31900``).

    Written with ``+`` (``+31 900``), with the country's exit code (``0031900``) or in
    its national notation (``0900``). It must at least hold a country calling code: a
    shorter one would stand for several countries at once.
    """
    region = check_country(country)
    if not isinstance(text, str):
        raise InvalidInput(field, "must be text")
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidInput(field, f"is too long for a number prefix ({len(text)} characters)")
    check_printable(text, field=field)
    cleaned = _PREFIX_SEPARATORS.sub("", text)
    if not re.fullmatch(r"\+?[0-9]+", cleaned, re.ASCII):
        raise InvalidInput(field, f"{text!r} is not a number prefix: digits, as +31900 or 0900")
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is None:  # pragma: no cover - every supported region has its metadata
        raise InvalidInput("country", f"no numbering plan for {region}")
    exit_code = metadata.preferred_international_prefix or metadata.international_prefix or ""
    national = metadata.national_prefix or ""
    if cleaned.startswith("+"):
        digits = cleaned[1:]
    elif exit_code.isdigit() and cleaned.startswith(exit_code):
        digits = cleaned[len(exit_code) :]
    elif national and cleaned.startswith(national):
        digits = f"{phonenumbers.country_code_for_region(region)}{cleaned[len(national) :]}"
    else:
        raise InvalidInput(
            field, f"{text!r} is not a number prefix: start it with +, {exit_code} or {national}"
        )
    if not digits or digits[0] == "0" or len(digits) > 15:
        raise InvalidInput(field, f"{text!r} is not the start of a number in E.164")
    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    if not any(int(digits[:n]) in codes for n in (1, 2, 3) if len(digits) >= n):
        raise InvalidInput(field, f"{text!r} does not start with a whole country calling code")
    return "+" + digits


def _from_e164(e164: str, field: str = "number") -> phonenumbers.PhoneNumber:
    if not isinstance(e164, str) or not _E164.fullmatch(e164):
        raise InvalidInput(field, f"{e164!r} is not an E.164 number (+ and up to 15 digits)")
    try:
        return phonenumbers.parse(e164, None)
    except NumberParseException as exc:
        raise InvalidInput(field, f"{e164!r} is not a telephone number ({exc._msg})") from None


def classify(e164: str, country: str = DEFAULT_COUNTRY) -> NumberType:
    """The kind of number, INTERNATIONAL for any other country's (or non-geographic)."""
    region = check_country(country)
    number = _from_e164(e164)
    if phonenumbers.region_code_for_number(number) != region:
        return NumberType.INTERNATIONAL
    return _TYPES.get(phonenumbers.number_type(number), NumberType.UNKNOWN)


def national_form(e164: str, country: str = DEFAULT_COUNTRY) -> str:
    """Digits as someone in ``country`` dials the number, without spaces.

    ``0201234567`` for a Dutch number seen from NL; another country's number with the
    exit code (``0032...`` from NL), as a phone shows and redials it.
    """
    region = check_country(country)
    number = _from_e164(e164)
    if phonenumbers.region_code_for_number(number) == region:
        formatted = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    else:
        formatted = phonenumbers.format_out_of_country_calling_number(number, region)
    return "".join(c for c in formatted if c.isdigit() or c == "+")


def is_emergency(dialled: str, country: str = DEFAULT_COUNTRY) -> bool:
    """Whether ``dialled`` is exactly an emergency number in ``country`` (112, 911...)."""
    region = check_country(country)
    if not isinstance(dialled, str) or not dialled.isascii() or not dialled.isdigit():
        return False
    return bool(shortnumberinfo.is_emergency_number(dialled, region))


@dataclass(frozen=True, order=True)
class NumberBlock:
    """``count`` consecutive numbers starting at ``first`` (E.164).

    Blocks are 1, 10 or 100 numbers, and a block of 10 or 100 is aligned on its
    decade or hundred (ends in 0 or 00), as carriers hand them out: two blocks then
    either are disjoint or one holds the other, and the last number never carries
    into a different length.
    """

    first: str
    count: int

    @classmethod
    def parse(
        cls,
        first: object,
        count: object,
        country: str = DEFAULT_COUNTRY,
        *,
        first_field: str = "first",
        count_field: str = "count",
    ) -> NumberBlock:
        if isinstance(count, bool) or not isinstance(count, int) or count not in BLOCK_SIZES:
            raise InvalidInput(count_field, f"{count!r} is not a block size: 1, 10 or 100")
        e164 = parse_number(first, country, first_field)
        zeros = len(str(count)) - 1
        if zeros and not e164.endswith("0" * zeros):
            raise InvalidInput(
                first_field,
                f"a block of {count} starts at a number ending in {'0' * zeros}"
                f" ({e164[:-zeros] + '0' * zeros}), not {e164}",
            )
        block = cls(e164, count)
        # A plan may end a range inside a hundred: every number of the block must be real.
        for number in block.numbers()[1:]:
            if not phonenumbers.is_valid_number(phonenumbers.parse(number, None)):
                raise InvalidInput(
                    first_field, f"{number}, in the block from {e164}, is not a valid number"
                )
        return block

    @property
    def last(self) -> str:
        return self.number(self.count - 1)

    def number(self, i: int) -> str:
        digits = int(self.first[1:]) + i
        return "+" + str(digits).zfill(len(self.first) - 1)

    def numbers(self) -> list[str]:
        return [self.number(i) for i in range(self.count)]

    def _span(self) -> tuple[int, int, int]:
        start = int(self.first[1:])
        return len(self.first), start, start + self.count - 1

    def contains(self, e164: str) -> bool:
        if len(e164) != len(self.first) or not _E164.fullmatch(e164):
            return False
        _, start, end = self._span()
        return start <= int(e164[1:]) <= end

    def overlaps(self, other: NumberBlock) -> bool:
        length, start, end = self._span()
        o_length, o_start, o_end = other._span()
        return length == o_length and start <= o_end and o_start <= end
