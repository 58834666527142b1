"""An agent's queue login as a BLF lamp: a key that watches ``*903*EXT`` (EXT the
agent's own extension) lights while the agent is logged in to at least one of their
queues, and pressing it on the agent's own phone dials ``*903*EXT``, which flips the
login: out of every queue when logged in to any, else in to every one
(provd.services.service_codes). A supervisor's key on a colleague's ``*903*EXT`` only
shows the lamp: dialled, it names no queue and is refused.

``*903*EXT`` cannot be mistaken for a queue's code: users and queues share the
tenant's extensions, so no queue has an agent's extension. Kamailio's presence server
keeps the state as the night-switch lamps' (provd.domain.night_switch): one confirmed
dialog while lit, none otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from provd.domain import night_switch
from provd.domain.service_codes import AGENT_LOGIN

DIALOG_ID = "queue-login"


def presentity(extension: str) -> str:
    """The user part an agent's lamp is published and watched as: ``*903*2001``."""
    return f"{AGENT_LOGIN}*{extension}"


def is_toggle(dialler: str, queue: str | None) -> bool:
    """``*903*EXT`` / ``*904*EXT`` dialled by EXT itself: the lamp's key, not a queue."""
    return queue is not None and queue == dialler


def lamps(
    agents: Mapping[str, Iterable[str]], logged_in: Mapping[str, Iterable[str]]
) -> dict[str, bool]:
    """Every agent's lamp (by SIP URI) and whether it is lit: ``agents`` and
    ``logged_in`` give extensions by SIP domain."""
    out: dict[str, bool] = {}
    for domain, extensions in agents.items():
        lit = set(logged_in.get(domain, ()))
        for ext in extensions:
            out[f"sip:{presentity(ext)}@{domain}"] = ext in lit
    return out


def dialog_info(entity: str, lit: bool, version: int) -> str:
    return night_switch.dialog_info(entity, lit, version, dialog_id=DIALOG_ID)
