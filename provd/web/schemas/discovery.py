"""Phones seen on the network (DHCP, SIP plug-and-play) and not claimed yet."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from provd.web.contract import View


class DiscoveredPhone(View):
    """What the phone's own packets said: any host on the LAN can send them."""

    mac: str = Field(description="12 lower-case hex digits")
    ip: str | None
    vendor: str | None = Field(description="By the MAC's prefix")
    model: str | None = Field(description="As the phone names it (PnP, Snom DHCP)")
    vendor_class: str | None = Field(description="DHCP option 60")
    hostname: str | None = Field(description="DHCP option 12")
    requested_options: list[int] = Field(
        description="DHCP option 55; 66 or 43 means it looks for a provisioning URL"
    )
    source: str = Field(description="dhcp, pnp or dhcp,pnp")
    first_seen_at: datetime
    last_seen_at: datetime
    seen_count: int
