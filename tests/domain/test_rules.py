from __future__ import annotations

import pytest

from provd.domain.catalogue import Vendor
from provd.domain.errors import InvalidInput
from provd.domain.passwords import check_password, generate_password
from provd.domain.tenancy import check_display_name, check_domain, check_extension, check_slug
from provd.domain.timezones import get_zone
from provd.drivers.registry import CATALOGUE, MODELS, get_model


@pytest.mark.parametrize("password", ["Ab1!xy", "S3cure-Enough", "pässWörd1!"])
def test_passwords_following_the_rule(password: str) -> None:
    assert check_password(password) == password


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("Ab1!x", "at least 6 characters"),
        ("ab1!xyz", "an upper-case letter"),
        ("AB1!XYZ", "a lower-case letter"),
        ("Abc!xyz", "a digit"),
        ("Abc1xyz", "a special character"),
    ],
)
def test_weak_passwords_say_what_is_missing(password: str, missing: str) -> None:
    with pytest.raises(InvalidInput, match=missing):
        check_password(password)


def test_passwords_with_spaces_or_controls_are_refused() -> None:
    for bad in ("Ab1! xyz", "Ab1!\nxyz"):
        with pytest.raises(InvalidInput):
            check_password(bad)


def test_generated_passwords_follow_the_rule_and_differ() -> None:
    generated = {generate_password() for _ in range(50)}
    assert len(generated) == 50
    for p in generated:
        assert check_password(p) == p and len(p) == 24


def test_catalogue_lookups() -> None:
    assert get_model(" Yealink-T46G ").common_id == "000000000028"
    assert CATALOGUE.find(Vendor.SNOM, "d785") is get_model("snom-d785")
    with pytest.raises(InvalidInput, match="known models"):
        get_model("yealink-t99")
    ids = [m.id for m in MODELS]
    assert len(ids) == len(set(ids))
    common = [m.common_id for m in MODELS if m.vendor is Vendor.YEALINK]
    assert len(common) == len(set(common))
    required = {
        "yealink-t46g",
        "yealink-t48g",
        "yealink-t46s",
        "yealink-t48s",
        "yealink-t54w",
        "yealink-t57w",
        "snom-d315",
        "snom-d385",
        "snom-d735",
        "snom-d785",
    }
    assert required <= set(ids)


@pytest.mark.parametrize("ext", ["20", "201", "99999"])
def test_extensions(ext: str) -> None:
    assert check_extension(ext) == ext


@pytest.mark.parametrize("ext", ["2", "123456", "20a", "", "+201"])
def test_bad_extensions(ext: str) -> None:
    with pytest.raises(InvalidInput, match="2 to 5 digits"):
        check_extension(ext)


def test_names_slugs_domains_zones() -> None:
    assert check_slug("Acme-1") == "acme-1"
    for bad in ("-acme", "acme-", "ac me", "", "a" * 41):
        with pytest.raises(InvalidInput):
            check_slug(bad)
    assert check_display_name("  Jan & Piet  ") == "Jan & Piet"
    for bad in ("", "x\ny", "x\u2028y", "x" * 65):
        with pytest.raises(InvalidInput):
            check_display_name(bad)
    assert check_domain("PBX.Example.NET.") == "pbx.example.net"
    with pytest.raises(InvalidInput):
        check_domain("bad domain")
    assert get_zone("Europe/Amsterdam").utc_offset == 1
    with pytest.raises(InvalidInput, match="unsupported time zone"):
        get_zone("Mars/Olympus")
