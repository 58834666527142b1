"""Tenants: a customer's phones, users and defaults."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

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
    created_at: datetime


class TenantCreated(Tenant):
    bootstrap_password: str = Field(description="Shown once, in this answer only")
