"""The night switch as a BLF lamp: a phone's key that watches ``*915`` lights while
the switch is on, and pressing it dials the code that flips it.

Each of a tenant's schedules, in the order ``provd codes`` numbers them (by name), is
the presentity ``*915*N`` of the tenant's SIP domain; the first is also plain
``*915``, the code a tenant with one schedule dials. Kamailio's presence server keeps
the state provd publishes as a dialog-info document: one ``confirmed`` dialog (lit)
while the switch is on, no dialog at all (idle) otherwise. Phones light a BLF key on
a confirmed dialog, whatever its peer. (A ``terminated`` dialog would not do: the
presence server drops such a publication, and the next one then notified no one.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import quoteattr

from provd.domain.schedules import Override
from provd.domain.service_codes import NIGHT_SWITCH

DIALOG_ID = "night-switch"


@dataclass(frozen=True, slots=True)
class Lamp:
    """One presentity to publish: its user part, the schedule it shows, lit or not."""

    user: str
    schedule: str
    lit: bool

    def uri(self, domain: str) -> str:
        return f"sip:{self.user}@{domain}"


def lamps(schedules: Sequence[tuple[str, Override | None]], at: datetime) -> list[Lamp]:
    """The lamps of a tenant's schedules (name and night switch), sorted by name as the
    service code numbers them. Lit while the switch is on (closed by hand) at ``at``;
    a setting whose end time has passed is off again."""
    out: list[Lamp] = []
    for n, (name, override) in enumerate(sorted(schedules, key=lambda s: s[0]), start=1):
        lit = override is not None and override.state == "closed" and override.active_at(at)
        if n == 1:
            out.append(Lamp(NIGHT_SWITCH, name, lit))
        out.append(Lamp(f"{NIGHT_SWITCH}*{n}", name, lit))
    return out


def dialog_info(entity: str, lit: bool, version: int, *, dialog_id: str = DIALOG_ID) -> str:
    """The dialog-info document (RFC 4235) for a lamp, on one line (the RPC's body);
    other lamps (provd.domain.queue_lamps) name their dialog by ``dialog_id``."""
    head = (
        '<?xml version="1.0"?>'
        f'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="{version}"'
        f' state="full" entity={quoteattr(entity)}'
    )
    if not lit:
        return head + "/>"
    return (
        head + f'><dialog id={quoteattr(dialog_id)} direction="recipient">'
        "<state>confirmed</state></dialog></dialog-info>"
    )
