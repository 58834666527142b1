"""Voicemail PINs: which may be one, and the stored hash that checks them."""

from __future__ import annotations

import pytest

from provd.domain.errors import InvalidInput
from provd.domain.voicemail_pin import (
    ITERATIONS,
    Lockout,
    PinHash,
    check_pin,
    hash_pin,
    parse_stored,
    verify,
)


@pytest.mark.parametrize("pin", ["1234", "2580", "12345678", " 4711 ", "0102"])
def test_a_pin_of_four_to_eight_digits(pin: str) -> None:
    assert check_pin(pin, "201") == pin.strip()


@pytest.mark.parametrize(
    ("pin", "why"),
    [
        ("123", "4 to 8 digits"),
        ("123456789", "4 to 8 digits"),
        ("", "digits only"),
        ("12a4", "digits only"),
        ("12 34", "digits only"),
        ("-1234", "digits only"),
        ("١٢٣٤", "digits only"),  # Arabic-Indic digits: not on a keypad
        ("0000", "one digit repeated"),
        ("99999999", "one digit repeated"),
        ("2001", "own extension"),
    ],
)
def test_what_is_refused_names_the_field(pin: str, why: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_pin(pin, "2001")
    assert caught.value.field == "voicemail_pin"
    assert why in caught.value.message
    assert pin.strip() == "" or pin.strip() not in caught.value.message


def test_another_users_extension_may_be_a_pin() -> None:
    assert check_pin("2001", "2002") == "2001"


def test_the_hash_checks_the_pin_and_nothing_else() -> None:
    stored = hash_pin("4711", iterations=1000)
    assert verify("4711", stored)
    for wrong in ("4712", "471", "47110", "", "4711#", "x"):
        assert not verify(wrong, stored)


def test_each_hash_has_its_own_salt() -> None:
    a, b = hash_pin("4711", iterations=1000), hash_pin("4711", iterations=1000)
    assert a.salt != b.salt
    assert a.digest != b.digest


def test_the_stored_form_reads_back() -> None:
    stored = hash_pin("4711")
    text = stored.stored()
    assert text.startswith(f"pbkdf2_sha256${ITERATIONS}$")
    assert parse_stored(text) == stored
    assert verify("4711", parse_stored(text))


def test_the_standard_algorithm() -> None:
    # RFC 7914's PBKDF2-HMAC-SHA256 vector (P "passwd", S "salt", c 1), its first 32
    # bytes: another implementation can check a stored PIN.
    assert hash_pin("passwd", salt=b"salt", iterations=1) == PinHash(
        1, b"salt".hex(), "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1234",
        "pbkdf2_sha256$0$00$" + "0" * 64,
        "pbkdf2_sha256$1000$abc$" + "0" * 64,
        "pbkdf2_sha1$1000$00$" + "0" * 64,
        "pbkdf2_sha256$1000$00$" + "0" * 63,
    ],
)
def test_what_is_not_a_stored_hash(text: str) -> None:
    with pytest.raises(ValueError):
        parse_stored(text)


def test_a_mailbox_locks_after_ten_wrong_pins_in_its_window_and_opens_after() -> None:
    lock = Lockout(after=10, window_s=900.0)
    for i in range(9):
        lock.failed("201@acme.test", 100.0 + i)
    assert not lock.locked("201@acme.test", 110.0)
    lock.failed("201@acme.test", 110.0)
    assert lock.locked("201@acme.test", 110.0)
    assert not lock.locked("202@acme.test", 110.0)  # per mailbox
    # The oldest failure leaves the window at 1000.0: nine remain, it opens again.
    assert lock.locked("201@acme.test", 999.9)
    assert not lock.locked("201@acme.test", 1000.0)


def test_the_right_pin_forgets_the_failures() -> None:
    lock = Lockout(after=3, window_s=60.0)
    lock.failed("201@acme.test", 1.0)
    lock.failed("201@acme.test", 2.0)
    lock.succeeded("201@acme.test")
    lock.failed("201@acme.test", 3.0)
    lock.failed("201@acme.test", 4.0)
    assert not lock.locked("201@acme.test", 5.0)
