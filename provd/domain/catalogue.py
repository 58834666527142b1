"""What a phone model is, and the rules that hold for any model: vendor-neutral.

The models themselves are vendor facts and live in each vendor's folder
(``provd/drivers/<vendor>/models.py``); ``provd.drivers.registry`` assembles them into the
one :class:`Catalogue`, which code below the drivers receives from its caller.
Figures come from vendor documentation and open provisioning projects; see
docs/vendor-notes.md for the sources and the points still unconfirmed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
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
    display_name: str
    """The vendor's product name, as messages print it (``Yealink SIP-T46G``, ``Snom D785``)."""
    common_id: str = ""
    """Yealink: the product id of the common file ``y0000000000XX.cfg`` (zero-padded)."""


@dataclass(frozen=True, slots=True, init=False)
class Catalogue:
    """Every model provd provisions, in order, looked up by id or by a phone's own name."""

    models: tuple[PhoneModel, ...]
    _by_id: dict[str, PhoneModel] = field(repr=False, compare=False)
    _by_vendor_name: dict[tuple[Vendor, str], PhoneModel] = field(repr=False, compare=False)

    def __init__(self, models: Iterable[PhoneModel]) -> None:
        models = tuple(models)
        by_id = {m.id: m for m in models}
        # Ids name devices in the database: two models with one id would be one model.
        if len(by_id) != len(models):
            raise ValueError("two models share an id")
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_by_vendor_name", {(m.vendor, m.name.upper()): m for m in models})

    def __iter__(self) -> Iterator[PhoneModel]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def get(self, model_id: str, *, field: str = "model") -> PhoneModel:
        try:
            return self._by_id[model_id.strip().lower()]
        except KeyError:
            known = ", ".join(sorted(self._by_id))
            raise InvalidInput(
                field, f"unknown model {model_id!r}; known models: {known}"
            ) from None

    def find(self, vendor: Vendor, name: str) -> PhoneModel | None:
        """Look a model up by the name a phone reports (``T46G``, ``D785``)."""
        return self._by_vendor_name.get((vendor, name.upper()))

    def of(self, vendor: Vendor) -> tuple[PhoneModel, ...]:
        return tuple(m for m in self.models if m.vendor is vendor)


def check_module_count(count: int, model: PhoneModel, *, field: str = "expansion_modules") -> int:
    most = model.expansion.max_count if model.expansion else 0
    if not 0 <= count <= most:
        if most == 0:
            raise InvalidInput(field, f"the {model.display_name} takes no expansion module")
        exp = model.expansion
        assert exp is not None
        raise InvalidInput(field, f"the {model.display_name} takes 0 to {most} {exp.name} modules")
    return count
