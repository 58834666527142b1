"""Password rules and generation.

The rule is the one the hosted-PBX brief gives for device configuration
passwords: at least 6 characters with an upper-case letter, a lower-case
letter, a digit and a special character. Generated passwords are far longer.
"""

from __future__ import annotations

import secrets
import string

from provd.domain.errors import InvalidInput

MIN_LENGTH = 6
MAX_LENGTH = 128
# Characters that survive every format a password is written into (Yealink
# line format, Snom XML, URLs in DHCP option 66, shell quoting in docs).
_SPECIALS = "-_.!~*+=@%"
_ALPHABET = string.ascii_letters + string.digits + _SPECIALS


def check_password(password: str, *, field: str = "password") -> str:
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(field, f"is longer than {MAX_LENGTH} characters")
    if not any(c.isupper() for c in password):
        problems.append("an upper-case letter")
    if not any(c.islower() for c in password):
        problems.append("a lower-case letter")
    if not any(c.isdigit() for c in password):
        problems.append("a digit")
    if not any(not c.isalnum() for c in password):
        problems.append("a special character")
    if any(c.isspace() or not c.isprintable() for c in password):
        raise InvalidInput(field, "must not contain spaces or control characters")
    if problems:
        raise InvalidInput(field, "is too weak: it needs " + ", ".join(problems))
    return password


def generate_password(length: int = 24) -> str:
    """A random password that always satisfies :func:`check_password`."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        try:
            return check_password(candidate)
        except InvalidInput:
            continue


def generate_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
