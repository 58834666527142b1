"""A trunk's live state as the console shows it: whether each account is registered
(Kamailio's location table) and how many of its channels are in use (Kamailio's dialog
profile ``channels``, value ``<tenant>/<trunk>``). Unknown, not zero, when the PBX does
not answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provd.pbx.control import PbxControl
from provd.pbx.errors import PbxError
from provd.pbx.status import Registration
from provd.pbx.subscribers import aor_for

CHANNELS_PROFILE = "channels"


@dataclass(frozen=True, slots=True)
class TrunkStatus:
    registered: dict[str, bool | None]
    """Per account role; None: unknown."""
    channels_in_use: int | None


def profile_value(tenant: str, trunk: str) -> str:
    """The dialog profile value Kamailio counts a trunk's calls under."""
    return f"{tenant}/{trunk}"


def _size(result: Any) -> int | None:
    """``dlg.profile_get_size``'s answer: a number, or ``{"count": N}`` (newer Kamailio)."""
    if isinstance(result, bool):
        return None
    if isinstance(result, int):
        return result
    if isinstance(result, Mapping):
        for key in ("count", "size"):
            if isinstance(result.get(key), int):
                return int(result[key])
    if isinstance(result, list) and len(result) == 1:
        return _size(result[0])
    return None


async def trunk_status(
    control: PbxControl | None, domain: str, views: Sequence[dict[str, Any]]
) -> dict[str, TrunkStatus]:
    """Each trunk's state, by name, from one registration dump and one RPC per trunk."""
    registrations: Mapping[str, Registration] | None = None
    if control is not None:
        try:
            registrations = await control.registrations()
        except PbxError:
            # Not running: each trunk's RPC would wait for its timeout in turn.
            control = None
    out: dict[str, TrunkStatus] = {}
    for view in views:
        registered: dict[str, bool | None] = {}
        for account in view["accounts"]:
            if registrations is None:
                registered[account["role"]] = None
            else:
                found = registrations.get(aor_for(account["username"], domain))
                registered[account["role"]] = found is not None and found.registered
        out[view["name"]] = TrunkStatus(registered, await _in_use(control, view))
    return out


async def _in_use(control: PbxControl | None, view: dict[str, Any]) -> int | None:
    if control is None:
        return None
    try:
        result = await control.rpc.call(
            "dlg.profile_get_size", CHANNELS_PROFILE, profile_value(view["tenant"], view["name"])
        )
    except PbxError:
        return None
    return _size(result)
