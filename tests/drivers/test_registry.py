"""Every vendor package has the same shape, and every catalogue model has golden files."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import provd
from provd.domain.catalogue import Vendor
from provd.drivers.registry import DRIVERS, MODELS, VENDORS, classify
from tests.golden import GOLDEN_DIR
from tests.samples import SAMPLE_MACS

PACKAGE = Path(provd.__file__).parent


def test_every_vendor_package_has_the_same_modules_and_templates() -> None:
    shapes = set()
    for vendor in Vendor:
        package = PACKAGE / "drivers" / vendor.value
        modules = frozenset(p.name for p in package.glob("*.py"))
        shapes.add(modules)
        assert (PACKAGE / "templates" / vendor.value).is_dir()
        assert any((PACKAGE / "templates" / vendor.value).glob("*.j2"))
        module = importlib.import_module(f"provd.drivers.{vendor.value}.driver")
        assert module.DRIVER is DRIVERS[vendor]
    assert shapes == {
        frozenset(
            {"__init__.py", "useragent.py", "driver.py", "oui.py", "models.py", "timezones.py"}
        )
    }
    # The registry lists every vendor folder, and nothing else does.
    assert set(VENDORS) == set(Vendor) == set(DRIVERS)
    assert {p.name for p in (PACKAGE / "drivers").iterdir() if p.is_dir()} - {"__pycache__"} == {
        v.value for v in Vendor
    }


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_every_model_has_a_golden_file_for_every_file_it_fetches(model: object) -> None:
    from provd.domain.catalogue import PhoneModel

    assert isinstance(model, PhoneModel)
    driver = DRIVERS[model.vendor]
    names = driver.filenames(SAMPLE_MACS[model.vendor], model)
    assert names
    for name in names:
        assert (GOLDEN_DIR / model.vendor.value / model.id / name).is_file(), name
        # Each file classifies back to its own vendor, never to another's.
        found = classify(name)
        assert found is not None and found[0] is driver, name


def test_same_file_set_per_vendor() -> None:
    for vendor in Vendor:
        shapes = set()
        for model in (m for m in MODELS if m.vendor is vendor):
            names = DRIVERS[vendor].filenames(SAMPLE_MACS[vendor], model)
            shapes.add(
                tuple(
                    n.replace(model.name, "<M>").replace(model.common_id or "-", "<ID>")
                    for n in names
                )
            )
        assert len(shapes) == 1, shapes
