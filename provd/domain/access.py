"""Who may do what: roles and the principal a request acts as.

Three roles. An *admin* runs the platform: every tenant, firmware, secrets. A
*tenant admin* administers one tenant in the console: its devices, users,
defaults, key layouts and the installer accounts that work for it, but never
firmware, rollouts, the audit log, the platform's defaults or another tenant.
An *installer* works for one tenant: adds and claims devices, assigns them to
that tenant's users and sees their status, but never reads a SIP or device
secret, never touches firmware and never sees another tenant. Anything not
explicitly granted to a tenant-bound role is refused (deny by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from provd.domain.errors import InvalidInput


class Role(StrEnum):
    ADMIN = "admin"
    TENANT_ADMIN = "tenant-admin"
    INSTALLER = "installer"

    @property
    def tenant_bound(self) -> bool:
        return self is not Role.ADMIN


def parse_role(value: str, *, field: str = "role") -> Role:
    try:
        return Role(value)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidInput(field, f"unknown role {value!r} (one of: {choices})") from None


def check_scope(role: Role, tenant_id: int | None, *, field: str = "tenant") -> None:
    """Installers and tenant admins always belong to a tenant; admins are platform-wide."""
    if role.tenant_bound and tenant_id is None:
        article = "an" if role is Role.INSTALLER else "a"
        raise InvalidInput(field, f"{article} {role.value} must belong to a tenant")
    if role is Role.ADMIN and tenant_id is not None:
        raise InvalidInput(field, "admins are platform-wide: leave the tenant out")


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in account or API token a request acts for."""

    name: str
    """``web:<username>`` or ``api:<token name>``: what the audit log shows."""
    role: Role
    tenant_id: int | None
    """The tenant an installer or tenant admin is confined to; None for platform admins."""

    @property
    def is_admin(self) -> bool:
        """A platform admin: may see and change every tenant."""
        return self.role is Role.ADMIN

    @property
    def is_tenant_admin(self) -> bool:
        return self.role is Role.TENANT_ADMIN

    def may_see_tenant(self, tenant_id: int) -> bool:
        return self.tenant_id is None or self.tenant_id == tenant_id

    def administers(self, tenant_id: int | None) -> bool:
        """May change the tenant's devices, users and defaults in the console.

        ``None`` stands for the platform's own objects (platform-level layouts):
        only platform admins administer those.
        """
        if self.is_admin:
            return True
        return self.is_tenant_admin and tenant_id is not None and tenant_id == self.tenant_id

    def may_manage_account(self, role: Role, tenant_id: int | None) -> bool:
        """May list, add, reset or remove a console account of ``role`` in ``tenant_id``.

        A tenant admin manages the tenant-bound accounts of their own tenant, never
        a platform admin (that would hand out more than they hold).
        """
        return self.is_admin or (role.tenant_bound and self.administers(tenant_id))

    def may_manage_token(self, role: Role, tenant_id: int | None) -> bool:
        """May list, create or revoke an API token of ``role`` in ``tenant_id``.

        A tenant admin only gets installer tokens of their tenant: a token is not
        tied to a person and outlives the account that made it, so it carries the
        least a script needs; anything more is the platform admin's to grant.
        """
        return self.is_admin or (role is Role.INSTALLER and self.administers(tenant_id))
