"""`provd discovered …`: phones seen on the network (DHCP, SIP PnP) but not claimed yet."""

from __future__ import annotations
