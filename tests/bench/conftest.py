"""The benchmarks' modules import each other as scripts do, from bench/ on the path."""

import sys
from pathlib import Path

_BENCH = str(Path(__file__).resolve().parents[2] / "bench")
if _BENCH not in sys.path:
    sys.path.append(_BENCH)  # last: nothing installed is shadowed by a bench module
