"""A device and its tenant as the phone path reads them: plain values, one query.

The phone path needs a few columns of a device and of its tenant: who may fetch, the
secrets to check and to hand out, what its files are made of. They are read with one
plain SQL query (:mod:`provd.db.direct`), not as ORM objects; the console's preview
turns the ORM objects it already holds into the same records (:func:`of_models`), so
both render through one function.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from provd.db import direct
from provd.db.models import Device, Tenant

_TENANT_COLUMNS = (
    "id",
    "sip_domain",
    "timezone",
    "vlan_lan",
    "vlan_pc",
    "lldp",
    "sip_proxy",
    "pickup_code",
    "bootstrap_password_enc",
)
_DEVICE_COLUMNS = (
    "id",
    "mac",
    "vendor",
    "model",
    "prov_username",
    "prov_password_enc",
    "admin_password_enc",
    "sealed_at",
    "expansion_modules",
    "vlan_lan",
    "vlan_pc",
    "lldp",
    "last_fetch_at",
    "last_fetch_ip",
    "last_user_agent",
    "reported_firmware",
)


@dataclass(frozen=True, slots=True)
class PhoneTenant:
    id: int
    sip_domain: str
    timezone: str
    vlan_lan: str | None
    vlan_pc: str | None
    lldp: bool
    sip_proxy: str | None
    pickup_code: str
    bootstrap_password_enc: bytes


@dataclass(slots=True)
class PhoneDevice:
    """Mutable in one respect: a seal this process committed sets ``sealed`` on the
    record the username cache holds, as it did on the ORM object before."""

    id: int
    tenant: PhoneTenant
    mac: str
    vendor: str
    model: str
    prov_username: str
    prov_password_enc: bytes
    admin_password_enc: bytes
    sealed: bool
    expansion_modules: int
    vlan_lan: str | None
    vlan_pc: str | None
    lldp: bool | None
    last_fetch_at: datetime | None
    last_fetch_ip: str | None
    last_user_agent: str | None
    reported_firmware: str | None


def _tenant(row: direct.Row) -> PhoneTenant:
    tid, domain, tz, lan, pc, lldp, proxy, pickup, password = row
    return PhoneTenant(tid, domain, tz, lan, pc, bool(lldp), proxy, pickup, bytes(password))


def _device(row: direct.Row, tenant: PhoneTenant) -> PhoneDevice:
    did, mac, vendor, model, username, password, admin, sealed_at, modules = row[:9]
    lan, pc, lldp, fetched_at, fetch_ip, user_agent, firmware = row[9:]
    return PhoneDevice(
        did,
        tenant,
        mac,
        vendor,
        model,
        username,
        bytes(password),
        bytes(admin),
        sealed_at is not None,
        modules,
        lan,
        pc,
        direct.as_bool(lldp),
        direct.as_datetime(fetched_at),
        fetch_ip,
        user_agent,
        firmware,
    )


def _columns(names: tuple[str, ...], table: str) -> str:
    return ", ".join(f'{table}."{name}"' for name in names)


def _select(where: str) -> str:
    return (
        f"SELECT {_columns(_DEVICE_COLUMNS, 'd')}, {_columns(_TENANT_COLUMNS, 't')} "
        f'FROM "{Device._meta.db_table}" d '
        f'JOIN "{Tenant._meta.db_table}" t ON t."id" = d."tenant_id" WHERE {where}'
    )


_BY_USERNAME = _select('d."prov_username" = ?')
_UNSEALED_BY_MAC = _select('d."mac" = ? AND d."tenant_id" = ? AND d."sealed_at" IS NULL')
_TENANT_BY_BOOTSTRAP = (
    f"SELECT {_columns(_TENANT_COLUMNS, 't')} "
    f'FROM "{Tenant._meta.db_table}" t WHERE t."bootstrap_username" = ?'
)
_SPLIT = len(_DEVICE_COLUMNS)


async def _one_device(sql: str, params: tuple[object, ...]) -> PhoneDevice | None:
    rows = await direct.fetch(sql, params)
    if not rows:
        return None
    row = rows[0]
    return _device(row[:_SPLIT], _tenant(row[_SPLIT:]))


async def device_by_username(username: str) -> PhoneDevice | None:
    return await _one_device(_BY_USERNAME, (username,))


async def unsealed_device(mac: str, tenant_id: int) -> PhoneDevice | None:
    return await _one_device(_UNSEALED_BY_MAC, (mac, tenant_id))


async def tenant_by_bootstrap(username: str) -> PhoneTenant | None:
    rows = await direct.fetch(_TENANT_BY_BOOTSTRAP, (username,))
    return _tenant(rows[0]) if rows else None


def of_models(device: Device, tenant: Tenant) -> PhoneDevice:
    """The record of ORM objects already loaded (the console's preview holds them)."""
    return PhoneDevice(
        device.id,
        PhoneTenant(
            tenant.id,
            tenant.sip_domain,
            tenant.timezone,
            tenant.vlan_lan,
            tenant.vlan_pc,
            tenant.lldp,
            tenant.sip_proxy,
            tenant.pickup_code,
            tenant.bootstrap_password_enc,
        ),
        device.mac,
        device.vendor,
        device.model,
        device.prov_username,
        device.prov_password_enc,
        device.admin_password_enc,
        device.sealed_at is not None,
        device.expansion_modules,
        device.vlan_lan,
        device.vlan_pc,
        device.lldp,
        device.last_fetch_at,
        device.last_fetch_ip,
        device.last_user_agent,
        device.reported_firmware,
    )
