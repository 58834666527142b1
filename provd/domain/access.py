"""Who may do what: roles and the principal a request acts as.

Two roles. An *admin* runs the platform: every tenant, firmware, secrets. An
*installer* works for one tenant: adds and claims devices, assigns them to that
tenant's users and sees their status, but never reads a SIP or device secret,
never touches firmware and never sees another tenant. Anything not explicitly
granted to installers is refused (deny by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from provd.domain.errors import InvalidInput


class Role(StrEnum):
    ADMIN = "admin"
    INSTALLER = "installer"


def parse_role(value: str, *, field: str = "role") -> Role:
    try:
        return Role(value)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(field, f"unknown role {value!r} (one of: {choices})") from None


def check_scope(role: Role, tenant_id: int | None, *, field: str = "tenant") -> None:
    """Installers always belong to a tenant; admins here are platform-wide."""
    if role is Role.INSTALLER and tenant_id is None:
        raise InvalidInput(field, "an installer must belong to a tenant")
    if role is Role.ADMIN and tenant_id is not None:
        raise InvalidInput(field, "admins are platform-wide: leave the tenant out")


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in account or API token a request acts for."""

    name: str
    """``web:<username>`` or ``api:<token name>``: what the audit log shows."""
    role: Role
    tenant_id: int | None
    """The tenant an installer is confined to; None for platform admins."""

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def may_see_tenant(self, tenant_id: int) -> bool:
        return self.tenant_id is None or self.tenant_id == tenant_id
