"""The vendor-neutral model types: a catalogue built from any models, and the rules that
hold for any model. The real models are tested in tests/drivers."""

from __future__ import annotations

import pytest

from provd.domain.catalogue import (
    Catalogue,
    ExpansionModule,
    PhoneModel,
    Vendor,
    check_module_count,
)
from provd.domain.errors import InvalidInput

STRIP = ExpansionModule(name="STRIP", keys=20, pages=2, max_count=2)


def _model(
    name: str, vendor: Vendor = Vendor.YEALINK, exp: ExpansionModule | None = STRIP
) -> PhoneModel:
    return PhoneModel(
        id=f"{vendor.value}-{name.lower()}",
        vendor=vendor,
        name=name,
        accounts=4,
        line_keys=10,
        expansion=exp,
        display_name=f"Acme {name}",
    )


A, B, C = _model("A1"), _model("B2", exp=None), _model("C3", Vendor.SNOM)
CATALOGUE = Catalogue([A, B, C])


def test_lookups_by_id_and_by_the_name_a_phone_reports() -> None:
    assert list(CATALOGUE) == [A, B, C] and len(CATALOGUE) == 3
    assert CATALOGUE.get(" Yealink-A1 ") is A
    assert CATALOGUE.find(Vendor.SNOM, "c3") is C
    assert CATALOGUE.find(Vendor.YEALINK, "c3") is None
    assert CATALOGUE.of(Vendor.YEALINK) == (A, B)


def test_an_unknown_id_names_the_field_and_the_known_models() -> None:
    with pytest.raises(InvalidInput) as caught:
        CATALOGUE.get("yealink-z9", field="models")
    assert caught.value.field == "models"
    assert caught.value.message == (
        "unknown model 'yealink-z9'; known models: snom-c3, yealink-a1, yealink-b2"
    )


def test_two_models_with_one_id_are_refused() -> None:
    with pytest.raises(ValueError, match="share an id"):
        Catalogue([A, B, A])


def test_module_count_is_bounded_by_the_models_module() -> None:
    assert check_module_count(0, A) == 0 and check_module_count(2, A) == 2
    with pytest.raises(InvalidInput, match=r": the Acme A1 takes 0 to 2 STRIP modules$"):
        check_module_count(3, A)
    with pytest.raises(InvalidInput, match=r": the Acme B2 takes no expansion module$") as caught:
        check_module_count(1, B, field="modules")
    assert caught.value.field == "modules"
    assert check_module_count(0, B) == 0
