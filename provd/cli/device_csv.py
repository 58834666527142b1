"""`provd device import|export` and `provd sheet`: devices as CSV, printable claim sheets."""

from __future__ import annotations
