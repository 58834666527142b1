"""The change log: one row per change, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from provd.web.contract import View


class AuditRow(View):
    id: int
    at: datetime
    actor: str
    request_id: str | None
    client_request_id: str | None
    action: str
    object_type: str
    object_key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
