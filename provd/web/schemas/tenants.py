"""Tenants: a customer's phones, users and defaults."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from provd.domain.routing import DisplayForm
from provd.web.contract import Body, View


class TenantIn(Body):
    slug: str
    name: str | None = None
    sip_domain: str | None = None
    timezone: str | None = Field(default=None, description="Default: Europe/Amsterdam")


class TenantPatch(Body):
    vlan_lan: str | None = Field(default=None, description="ID[:PRIORITY] or off")
    vlan_pc: str | None = Field(default=None, description="ID[:PRIORITY] or off")
    lldp: str | None = Field(default=None, description="on or off")
    sip_proxy: str | None = Field(default=None, description="HOST[:PORT] or default")
    pickup_code: str | None = None
    timezone: str | None = None
    country: str | None = Field(
        default=None, description="ISO 3166 region its users dial in, e.g. NL or BE"
    )
    number_display: str | None = Field(
        default=None, description="How callers' numbers are shown: national or e164"
    )
    main_number: str | None = Field(
        default=None,
        description="Caller ID of users without a number of their own: one of the tenant's"
        " numbers, in any notation of its country; none to clear",
    )


class Tenant(View):
    slug: str
    name: str
    sip_domain: str
    timezone: str
    bootstrap_username: str
    vlan_lan: str = Field(description="ID[:PRIORITY] or off")
    vlan_pc: str = Field(description="ID[:PRIORITY] or off")
    lldp: bool
    sip_proxy: str = Field(description="HOST[:PORT] or default")
    pickup_code: str
    country: str = Field(description="ISO 3166 region its users dial in")
    number_display: DisplayForm = Field(description="How callers' numbers are shown")
    main_number: str | None = Field(
        description="E.164; caller ID of users without a number of their own"
    )
    created_at: datetime


class TenantCreated(Tenant):
    bootstrap_password: str = Field(description="Shown once, in this answer only")
