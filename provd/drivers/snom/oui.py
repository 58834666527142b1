"""The MAC prefixes (OUIs) registered to Snom.

From the IEEE list as Debian's ieee-data 2022-08-27 ships it. 00:08:7B (RTX, the maker
of Snom's DECT bases, which provd does not provision) is deliberately left out.
"""

from __future__ import annotations

PREFIXES: tuple[str, ...] = ("000413",)
