"""The MAC prefixes (OUIs) registered to Yealink.

From the IEEE list as Debian's ieee-data 2022-08-27 ships it, and for 44:DB:D2 and
C4:FC:22 (registered later) the Wireshark manufacturer table bundled with scapy 2.8.
Prefixes that open projects treat as Yealink without a registration (E4:34:D7,
EC:1D:A9, …) are left out: a wrong one would refuse a real phone of another vendor.
"""

from __future__ import annotations

PREFIXES: tuple[str, ...] = ("001565", "805ec0", "805e0c", "249ad8", "44dbd2", "c4fc22")
