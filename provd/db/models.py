"""Database models. Secrets are stored only as ciphertext (``*_enc`` columns).

Columns that hold ciphertext are written and read through
:class:`provd.security.secretbox.SecretBox` by the services, never here.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Tenant(Model):
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=40, unique=True)
    name = fields.CharField(max_length=128)
    sip_domain = fields.CharField(max_length=253, unique=True)
    timezone = fields.CharField(max_length=64, default="Europe/Amsterdam")
    bootstrap_username = fields.CharField(max_length=64, unique=True)
    bootstrap_password_enc = fields.BinaryField()
    created_at = fields.DatetimeField(auto_now_add=True)

    users: fields.ReverseRelation[User]
    devices: fields.ReverseRelation[Device]

    class Meta:
        table = "tenant"


class User(Model):
    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name="users", on_delete=fields.RESTRICT
    )
    extension = fields.CharField(max_length=5)
    display_name = fields.CharField(max_length=64)
    sip_username = fields.CharField(max_length=64)
    sip_password_enc = fields.BinaryField()
    created_at = fields.DatetimeField(auto_now_add=True)

    lines: fields.ReverseRelation[DeviceLine]

    class Meta:
        table = "user"
        unique_together = (("tenant", "extension"), ("tenant", "sip_username"))


class Device(Model):
    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name="devices", on_delete=fields.RESTRICT
    )
    mac = fields.CharField(max_length=12, unique=True)
    vendor = fields.CharField(max_length=16)
    model = fields.CharField(max_length=32)
    name = fields.CharField(max_length=64, default="")
    prov_username = fields.CharField(max_length=64, unique=True)
    prov_password_enc = fields.BinaryField()
    admin_password_enc = fields.BinaryField()
    sealed_at = fields.DatetimeField(null=True)
    # What the phone last reported about itself on an authenticated fetch.
    last_fetch_at = fields.DatetimeField(null=True)
    last_fetch_ip = fields.CharField(max_length=45, null=True)
    last_user_agent = fields.CharField(max_length=255, null=True)
    reported_firmware = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    lines: fields.ReverseRelation[DeviceLine]

    class Meta:
        table = "device"


class DeviceLine(Model):
    """A user's SIP account placed on a line slot (1-based) of a device."""

    id = fields.IntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name="lines", on_delete=fields.CASCADE
    )
    slot = fields.IntField()
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="lines", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "device_line"
        unique_together = (("device", "slot"),)


class ApiToken(Model):
    """A bearer token for the REST API. Only its SHA-256 is stored."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    token_sha256 = fields.CharField(max_length=64, unique=True)
    role = fields.CharField(max_length=16, default="admin")
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"


class AuditEntry(Model):
    """One row per state change: who, what, before and after (secrets redacted)."""

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True)
    actor = fields.CharField(max_length=128)
    request_id = fields.CharField(max_length=64, null=True)
    action = fields.CharField(max_length=64)
    object_type = fields.CharField(max_length=32)
    object_key = fields.CharField(max_length=128)
    before: fields.Field[Any] = fields.JSONField(null=True)
    after: fields.Field[Any] = fields.JSONField(null=True)

    class Meta:
        table = "audit_entry"
