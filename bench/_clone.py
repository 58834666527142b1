"""Many more phones like one provd made: its rows copied, for fleets of 100,000.

Through the services layer a user and a sealed device cost 10-20 ms of Python and ORM
(4 inserts, an update and 3 audit rows, each a round trip through aiosqlite's thread),
so 100,000 would take half an hour. provd writes the same rows for every such phone but
for a few values; so the fleet makes a template phone through the services layer and
this module writes each further phone's rows with plain SQL in one transaction:

- every row of the template's user, device, device line and audit entries, ids
  continuing the tables' own;
- the values that name the phone (MAC, extension, display name, and the strings built
  from them: ``dev-<mac>``, ``device:<mac>``, ``<tenant>/<extension>``) replaced where
  a column or a JSON value equals one exactly, never inside other text;
- the secrets (SIP password, provisioning and admin passwords) new, sealed with the data
  directory's key as provd seals them;
- the timestamps those of the template (the phones were made in the same instant).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Names:
    """The values that name one phone."""

    mac: str
    extension: str
    display_name: str
    tenant: str

    def substitutions(self) -> dict[str, str]:
        return {
            self.mac: self.mac,
            f"dev-{self.mac}": f"dev-{self.mac}",
            f"device:{self.mac}": f"device:{self.mac}",
            self.extension: self.extension,
            f"{self.tenant}/{self.extension}": f"{self.tenant}/{self.extension}",
            self.display_name: self.display_name,
        }


@dataclass(frozen=True, slots=True)
class Secrets:
    sip_password: str
    prov_password: str
    admin_password: str


_JSON_COLUMNS = ("before", "after")


def _replace(value: Any, table: dict[str, str]) -> Any:
    """``value`` with every string equal to a key of ``table`` replaced, JSON inside."""
    if isinstance(value, str):
        return table.get(value, value)
    if isinstance(value, list):
        return [_replace(v, table) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, table) for k, v in value.items()}
    return value


def _compact(text: str) -> Any:
    parsed = json.loads(text)
    if json.dumps(parsed, separators=(",", ":"), ensure_ascii=False) != text:
        raise RuntimeError(f"audit JSON not in the compact form this copy writes: {text[:80]}")
    return parsed


def copy_phone(
    db_path: Path,
    template: Names,
    phones: Sequence[tuple[Names, Secrets]],
    seal: Callable[[str], bytes],
) -> None:
    """Write ``phones`` as provd wrote ``template`` (whose rows must be in the database)."""
    with contextlib.closing(sqlite3.connect(db_path)) as db, db:
        db.row_factory = sqlite3.Row
        (tenant_id,) = db.execute(
            "SELECT id FROM tenant WHERE slug = ?", (template.tenant,)
        ).fetchone()
        user = db.execute(
            'SELECT * FROM "user" WHERE tenant_id = ? AND extension = ?',
            (tenant_id, template.extension),
        ).fetchone()
        device = db.execute("SELECT * FROM device WHERE mac = ?", (template.mac,)).fetchone()
        line = db.execute(
            "SELECT * FROM device_line WHERE device_id = ?", (device["id"],)
        ).fetchone()
        audits = db.execute(
            "SELECT * FROM audit_entry WHERE object_key IN (?, ?) ORDER BY id",
            (template.mac, f"{template.tenant}/{template.extension}"),
        ).fetchall()
        if user is None or device is None or line is None or len(audits) != 3:
            raise RuntimeError(f"template phone {template.mac} not as expected")
        audits = [dict(a) | {c: _compact(a[c]) for c in _JSON_COLUMNS if a[c]} for a in audits]
        next_id = {
            t: db.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{t}"').fetchone()[0]
            for t in ("user", "device", "device_line", "audit_entry")
        }
        rows: dict[str, list[dict[str, Any]]] = {t: [] for t in next_id}
        ours = template.substitutions()
        for names, secrets in phones:
            table = dict(zip(ours, names.substitutions().values(), strict=True))
            ids = {t: next_id[t] + len(rows[t]) for t in next_id}
            rows["user"].append(
                {k: _replace(v, table) for k, v in dict(user).items()}
                | {"id": ids["user"], "sip_password_enc": seal(secrets.sip_password)}
            )
            rows["device"].append(
                {k: _replace(v, table) for k, v in dict(device).items()}
                | {
                    "id": ids["device"],
                    "prov_password_enc": seal(secrets.prov_password),
                    "admin_password_enc": seal(secrets.admin_password),
                }
            )
            rows["device_line"].append(
                dict(line)
                | {"id": ids["device_line"], "device_id": ids["device"], "user_id": ids["user"]}
            )
            for k, audit in enumerate(audits):
                copied = {c: _replace(v, table) for c, v in audit.items()}
                for c in _JSON_COLUMNS:
                    if copied[c] is not None:
                        copied[c] = json.dumps(copied[c], separators=(",", ":"), ensure_ascii=False)
                rows["audit_entry"].append(copied | {"id": ids["audit_entry"] + k})
        for t, batch in rows.items():
            if batch:
                columns = list(batch[0])
                names_sql = ", ".join(f'"{c}"' for c in columns)
                marks = ", ".join("?" for _ in columns)
                db.executemany(
                    f'INSERT INTO "{t}" ({names_sql}) VALUES ({marks})',
                    [tuple(r[c] for c in columns) for r in batch],
                )
