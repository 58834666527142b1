"""Golden-file comparison: what a phone receives, byte for byte.

Run ``PROVD_UPDATE_GOLDEN=1 pytest`` to rewrite the files after an intended
change, then review the diff like any other code change.
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).parent / "golden"


def assert_golden(relpath: str, actual: bytes) -> None:
    path = GOLDEN_DIR / relpath
    if os.environ.get("PROVD_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
        return
    assert path.exists(), f"no golden file {path}; run with PROVD_UPDATE_GOLDEN=1 to create it"
    expected = path.read_bytes()
    assert actual == expected, f"{relpath} differs from its golden file"
