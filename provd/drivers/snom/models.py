"""The Snom models provd provisions, and the key module they take.

Figures come from Snom's documentation and open provisioning projects; see
docs/vendor-notes.md for the sources.
"""

from __future__ import annotations

from provd.domain.catalogue import ExpansionModule, PhoneModel, Vendor

D7 = ExpansionModule(name="D7", keys=18, pages=1, max_count=3)


def _model(name: str, accounts: int, own_keys: int, exp: ExpansionModule | None) -> PhoneModel:
    return PhoneModel(
        id=f"snom-{name.lower()}",
        vendor=Vendor.SNOM,
        name=name,
        accounts=accounts,
        line_keys=own_keys,
        expansion=exp,
        display_name=f"Snom {name}",
    )


MODELS: tuple[PhoneModel, ...] = (
    # The D315 takes no key module; the D3xx/D7xx desk sets that do take up to three D7.
    _model("D315", 4, 5, None),
    _model("D385", 12, 48, D7),
    _model("D735", 12, 32, D7),
    _model("D785", 12, 24, D7),
)
