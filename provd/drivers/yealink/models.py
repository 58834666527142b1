"""The Yealink models provd provisions, and the key modules they take.

Figures come from Yealink's documentation and open provisioning projects; see
docs/vendor-notes.md for the sources.
"""

from __future__ import annotations

from provd.domain.catalogue import ExpansionModule, PhoneModel, Vendor

EXP40 = ExpansionModule(name="EXP40", keys=40, pages=2, max_count=6)
EXP50 = ExpansionModule(name="EXP50", keys=60, pages=3, max_count=3)


def _model(name: str, common_id: int, line_keys: int, exp: ExpansionModule) -> PhoneModel:
    return PhoneModel(
        id=f"yealink-{name.lower()}",
        vendor=Vendor.YEALINK,
        name=name,
        accounts=16,
        line_keys=line_keys,
        expansion=exp,
        display_name=f"Yealink SIP-{name}",
        common_id=f"{common_id:012d}",
    )


MODELS: tuple[PhoneModel, ...] = (
    _model("T46G", 28, 27, EXP40),
    _model("T48G", 35, 29, EXP40),
    _model("T46S", 66, 27, EXP40),
    _model("T48S", 65, 29, EXP40),
    _model("T54W", 96, 27, EXP50),
    _model("T57W", 97, 29, EXP50),
)
