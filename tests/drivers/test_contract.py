"""The driver contract: one test body run for every registered driver and model.

A new vendor folder listed in ``drivers/registry.py`` is held to all of this without a
line of its own; what only one vendor does stays in ``test_<vendor>.py``.
"""

from __future__ import annotations

import importlib
import random

import pytest

from provd.domain.catalogue import PhoneModel, Vendor
from provd.domain.mac import parse_mac
from provd.domain.timezones import ZONES
from provd.drivers import registry
from provd.drivers.base import Driver, NotThisDevicesFile
from provd.drivers.context import masked
from provd.drivers.registry import (
    CATALOGUE,
    DRIVERS,
    MODELS,
    VENDOR_PREFIXES,
    classify,
    vendor_of,
)
from tests.golden import assert_golden
from tests.samples import SAMPLE_MACS, sample_context

VENDORS = tuple(DRIVERS)


def _driver(model: PhoneModel) -> Driver:
    return DRIVERS[model.vendor]


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_driver_is_the_vendors_and_complete(vendor: Vendor) -> None:
    driver = DRIVERS[vendor]
    assert driver.vendor is vendor
    assert driver.name and driver.name.strip() == driver.name
    assert VENDOR_PREFIXES[vendor]
    assert vendor_of(SAMPLE_MACS[vendor]) is vendor
    assert any(m.vendor is vendor for m in MODELS)


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_check_sync_event_is_one_header_value_that_says_whether_to_reboot(
    vendor: Vendor,
) -> None:
    # The PBX layer sends this as it is (provd/pbx knows no vendor).
    resync = DRIVERS[vendor].check_sync_event(reboot=False)
    reboot = DRIVERS[vendor].check_sync_event(reboot=True)
    assert resync != reboot
    for event in (resync, reboot):
        assert event.startswith("check-sync")
        assert event.isprintable() and event.isascii() and event.strip() == event


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_vendors_models_come_from_its_folder_and_are_its_own(vendor: Vendor) -> None:
    models = importlib.import_module(f"provd.drivers.{vendor.value}.models").MODELS
    assert models and registry.VENDORS[vendor].models == models == CATALOGUE.of(vendor)
    for model in models:
        assert model.vendor is vendor
        assert model.id == f"{vendor.value}-{model.name.lower()}"
        assert model.display_name.endswith(model.name) and model.display_name != model.name
        assert model.accounts > 0 and model.line_keys > 0
        assert model.expansion is None or model.expansion.max_count > 0
        assert CATALOGUE.get(model.id) is model
        # The name the phone reports (User-Agents, file names) finds the model back.
        assert CATALOGUE.find(vendor, model.name.lower()) is model


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_vendor_spells_every_time_zone_a_tenant_can_choose(vendor: Vendor) -> None:
    notation = importlib.import_module(f"provd.drivers.{vendor.value}.timezones").NOTATION
    assert set(notation) == {zone.iana for zone in ZONES}
    assert all(name and name.strip() == name for name in notation.values())


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_golden(model: PhoneModel) -> None:
    ctx = sample_context(model)
    driver = _driver(model)
    for filename in driver.filenames(ctx.mac, model):
        assert_golden(f"{model.vendor.value}/{model.id}/{filename}", driver.render(ctx, filename))


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_render_is_deterministic(model: PhoneModel) -> None:
    ctx = sample_context(model)
    driver = _driver(model)
    for filename in driver.filenames(ctx.mac, model):
        assert driver.render(ctx, filename) == driver.render(ctx, filename)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_the_config_file_is_a_file_of_the_device_and_carries_its_credential(
    model: PhoneModel,
) -> None:
    ctx = sample_context(model)
    driver = _driver(model)
    config = driver.config_file(ctx.mac)
    assert config in driver.filenames(ctx.mac, model)
    # The credential is marked secret: masking it changes exactly the config file's bytes.
    mask = "MASKED-x9"
    hidden = masked(ctx, mask)
    assert mask.encode() in driver.render(hidden, config)
    assert driver.render(hidden, config) != driver.render(ctx, config)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_files_that_are_not_the_devices_raise_the_drivers_exception(model: PhoneModel) -> None:
    ctx = sample_context(model)
    driver = _driver(model)
    own = set(driver.filenames(ctx.mac, model))
    other_mac = parse_mac(VENDOR_PREFIXES[model.vendor][0] + "000002")
    others = set(driver.filenames(other_mac, model))
    for sibling in MODELS:
        others.update(DRIVERS[sibling.vendor].filenames(SAMPLE_MACS[sibling.vendor], sibling))
    others |= {"x.cfg", "nothing.xml", "../" + next(iter(own)), ""}
    for filename in sorted(others - own):
        with pytest.raises(NotThisDevicesFile) as raised:
            driver.render(ctx, filename)
        # Not a KeyError: a lookup gone wrong inside a driver must never pass for this.
        assert not isinstance(raised.value, KeyError)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
def test_every_file_classifies_back_to_its_driver(model: PhoneModel) -> None:
    driver = _driver(model)
    mac = SAMPLE_MACS[model.vendor]
    for filename in driver.filenames(mac, model):
        found = classify(filename)
        assert found is not None and found[0] is driver, filename
        request = found[1]
        assert request.mac in (None, mac) and request.model in (None, model), filename
        assert request.mac is not None or request.model is not None, filename


@pytest.mark.parametrize("vendor", VENDORS)
def test_filenames_refuse_other_vendors_models(vendor: Vendor) -> None:
    for model in (m for m in MODELS if m.vendor is not vendor):
        with pytest.raises(ValueError):
            DRIVERS[vendor].filenames(SAMPLE_MACS[vendor], model)


@pytest.mark.parametrize("vendor", VENDORS)
def test_user_agent_parsing_never_raises_and_names_only_its_vendor(vendor: Vendor) -> None:
    driver = DRIVERS[vendor]
    rng = random.Random(20240601)
    pieces = [d.name for d in DRIVERS.values()] + [d.name.lower() for d in DRIVERS.values()]
    pieces += ["SIP-", "-SIP", "T46G", "D785", "/", " ", "10.1.", "28.83.0.1", "(", ")"]
    pieces += ["000413922D24", "00:15:65:4a:a9:37", "UXM:", "\x00", "\r\n", "\ud800", "é"]
    for _ in range(2000):
        ua = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 20)))
        info = driver.parse_user_agent(ua)
        assert info is None or info.vendor is vendor
        firmware = driver.sip_firmware(ua)
        assert firmware is None or isinstance(firmware, str)
        model = driver.model_from_vendor_class(ua)
        assert model is None or (model and model in ua)
    assert driver.parse_user_agent("x" * 100_000) is None
    # A DHCP vendor class of another vendor never names one of this vendor's models.
    for other in DRIVERS.values():
        if other is not driver:
            assert driver.model_from_vendor_class(other.name.lower()) is None
