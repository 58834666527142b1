"""The phone models provd provisions: one table, the single source of model facts.

Figures come from vendor documentation and open provisioning projects; see
docs/vendor-notes.md for the sources and the points still unconfirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from provd.domain.errors import InvalidInput


class Vendor(StrEnum):
    YEALINK = "yealink"
    SNOM = "snom"


@dataclass(frozen=True, slots=True)
class ExpansionModule:
    """A key module that clips onto a phone (Yealink EXP40/EXP50, Snom D7)."""

    name: str
    keys: int
    pages: int
    max_count: int

    @property
    def keys_per_page(self) -> int:
        return self.keys // self.pages


EXP40 = ExpansionModule(name="EXP40", keys=40, pages=2, max_count=6)
EXP50 = ExpansionModule(name="EXP50", keys=60, pages=3, max_count=3)
SNOM_D7 = ExpansionModule(name="D7", keys=18, pages=1, max_count=3)


@dataclass(frozen=True, slots=True)
class PhoneModel:
    id: str
    """Stable identifier used by the CLI, API and database, e.g. ``yealink-t46g``."""
    vendor: Vendor
    name: str
    """The vendor's spelling as it appears in User-Agents and file names (``T46G``, ``D785``)."""
    accounts: int
    line_keys: int
    expansion: ExpansionModule | None
    common_id: str = ""
    """Yealink: the product id of the common file ``y0000000000XX.cfg`` (zero-padded)."""

    @property
    def display_name(self) -> str:
        prefix = "Yealink SIP-" if self.vendor is Vendor.YEALINK else "Snom "
        return prefix + self.name


def _yealink(name: str, common_id: int, line_keys: int, exp: ExpansionModule) -> PhoneModel:
    return PhoneModel(
        id=f"yealink-{name.lower()}",
        vendor=Vendor.YEALINK,
        name=name,
        accounts=16,
        line_keys=line_keys,
        expansion=exp,
        common_id=f"{common_id:012d}",
    )


def _snom(name: str, accounts: int, own_keys: int, exp: ExpansionModule | None) -> PhoneModel:
    return PhoneModel(
        id=f"snom-{name.lower()}",
        vendor=Vendor.SNOM,
        name=name,
        accounts=accounts,
        line_keys=own_keys,
        expansion=exp,
    )


MODELS: tuple[PhoneModel, ...] = (
    _yealink("T46G", 28, 27, EXP40),
    _yealink("T48G", 35, 29, EXP40),
    _yealink("T46S", 66, 27, EXP40),
    _yealink("T48S", 65, 29, EXP40),
    _yealink("T54W", 96, 27, EXP50),
    _yealink("T57W", 97, 29, EXP50),
    # The D315 takes no key module; the D3xx/D7xx desk sets that do take up to three D7.
    _snom("D315", 4, 5, None),
    _snom("D385", 12, 48, SNOM_D7),
    _snom("D735", 12, 32, SNOM_D7),
    _snom("D785", 12, 24, SNOM_D7),
)

_BY_ID = {m.id: m for m in MODELS}
_BY_VENDOR_NAME = {(m.vendor, m.name.upper()): m for m in MODELS}


def get_model(model_id: str, *, field: str = "model") -> PhoneModel:
    try:
        return _BY_ID[model_id.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(_BY_ID))
        raise InvalidInput(field, f"unknown model {model_id!r}; known models: {known}") from None


def find_model(vendor: Vendor, name: str) -> PhoneModel | None:
    """Look a model up by the name a phone reports (``T46G``, ``D785``)."""
    return _BY_VENDOR_NAME.get((vendor, name.upper()))


def models_of(vendor: Vendor) -> tuple[PhoneModel, ...]:
    return tuple(m for m in MODELS if m.vendor is vendor)


def check_module_count(count: int, model_id: str, *, field: str = "expansion_modules") -> int:
    model = get_model(model_id)
    most = model.expansion.max_count if model.expansion else 0
    if not 0 <= count <= most:
        if most == 0:
            raise InvalidInput(field, f"the {model.display_name} takes no expansion module")
        exp = model.expansion
        assert exp is not None
        raise InvalidInput(field, f"the {model.display_name} takes 0 to {most} {exp.name} modules")
    return count
