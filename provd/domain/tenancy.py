"""Rules for tenants and users (names, extensions)."""

from __future__ import annotations

import re

from provd.domain.errors import InvalidInput
from provd.domain.text import check_printable

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")
_EXTENSION = re.compile(r"[0-9]{2,5}")
_DOMAIN = re.compile(
    r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
MAX_DISPLAY_NAME = 64


def check_slug(slug: str, *, field: str = "tenant") -> str:
    slug = slug.strip().lower()
    if not _SLUG.fullmatch(slug):
        raise InvalidInput(
            field,
            f"{slug!r} is not a valid tenant name: use 1-40 lower-case letters, digits "
            "and dashes, not starting or ending with a dash",
        )
    return slug


def check_extension(extension: str, *, field: str = "extension") -> str:
    extension = extension.strip()
    if not _EXTENSION.fullmatch(extension):
        raise InvalidInput(field, f"{extension!r} is not an extension: use 2 to 5 digits")
    return extension


def check_display_name(name: str, *, field: str = "name") -> str:
    name = name.strip()
    if not name:
        raise InvalidInput(field, "must not be empty")
    if len(name) > MAX_DISPLAY_NAME:
        raise InvalidInput(field, f"is longer than {MAX_DISPLAY_NAME} characters")
    # A newline in a name would inject a line into a Yealink config file.
    return check_printable(name, field=field)


def check_domain(domain: str, *, field: str = "sip_domain") -> str:
    domain = domain.strip().lower().rstrip(".")
    if not _DOMAIN.fullmatch(domain):
        raise InvalidInput(field, f"{domain!r} is not a valid domain name")
    return domain
