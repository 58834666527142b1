"""Backups in tests derive their key cheaply: the cost is read from each file's header,
so restoring works the same; the real cost is half a second a derivation."""

from __future__ import annotations

import pytest

from provd.services.backup import envelope


@pytest.fixture(autouse=True)
def _cheap_key_derivation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(envelope, "WRITE_COST", envelope.Cost(log2_n=10, r=8, p=1))
