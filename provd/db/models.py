"""Database models. Secrets are stored only as ciphertext (``*_enc`` columns).

Columns that hold ciphertext are written and read through
:class:`provd.security.secretbox.SecretBox` by the services, never here.

Every model says ``_no_comments = True``, tortoise's switch for not reading a model's
source for ``#:`` comments to describe its fields with: Python 3.11 parses this whole
module again for each class, 0.66 s of CPU at every start of provd, more than a third
of what ``provd user list`` took. These models describe their fields in plain comments.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model


class Tenant(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    slug = fields.CharField(max_length=40, unique=True)
    name = fields.CharField(max_length=128)
    sip_domain = fields.CharField(max_length=253, unique=True)
    timezone = fields.CharField(max_length=64, default="Europe/Amsterdam")
    bootstrap_username = fields.CharField(max_length=64, unique=True)
    bootstrap_password_enc = fields.BinaryField()
    # Network defaults for the tenant's phones: "ID:PRIO" or null (untagged).
    vlan_lan = fields.CharField(max_length=16, null=True)
    vlan_pc = fields.CharField(max_length=16, null=True)
    lldp = fields.BooleanField(default=True)
    # "HOST:PORT" overriding the platform's SIP proxy; null = platform default.
    sip_proxy = fields.CharField(max_length=262, null=True)
    pickup_code = fields.CharField(max_length=8, default="*8")
    # ISO 3166 region whose notation users dial in (0… national, 00… international).
    # db_default (here and below): added to tables that already hold rows.
    country = fields.CharField(max_length=2, default="NL", db_default="NL")
    # How callers' numbers are shown on the tenant's phones: "national" or "e164".
    number_display = fields.CharField(max_length=8, default="national", db_default="national")
    # Caller ID for users without a number of their own (E.164, one of the tenant's).
    main_number = fields.CharField(max_length=16, null=True)
    # What may be called outside (provd.domain.outbound_policy.to_json); null: the default.
    outbound_policy: fields.Field[Any] = fields.JSONField(null=True)
    # Music on hold: the ids of the tenant's sounds, played in turn; null: the default.
    moh_playlist: fields.Field[Any] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    users: fields.ReverseRelation[User]
    devices: fields.ReverseRelation[Device]

    class Meta:
        table = "tenant"


class User(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name="users", on_delete=fields.RESTRICT
    )
    extension = fields.CharField(max_length=5)
    display_name = fields.CharField(max_length=64)
    sip_username = fields.CharField(max_length=64)
    sip_password_enc = fields.BinaryField()
    # Outbound calls to the telephone network carry Privacy: id (PAI stays true).
    hide_caller_id = fields.BooleanField(default=False, db_default=False)
    # Where the user's calls go instead (a destination, see services/destinations; null:
    # not forwarded): always, when busy, unanswered after forward_no_answer_seconds, or
    # when no phone of the user is registered.
    forward_always: fields.Field[Any] = fields.JSONField(null=True)
    forward_busy: fields.Field[Any] = fields.JSONField(null=True)
    forward_no_answer: fields.Field[Any] = fields.JSONField(null=True)
    forward_unreachable: fields.Field[Any] = fields.JSONField(null=True)
    # db_default: the columns were added to tables that already hold users.
    forward_no_answer_seconds = fields.IntField(default=20, db_default=20)
    # Do not disturb, kept by provd rather than each phone: set by an admin or the user.
    dnd = fields.BooleanField(default=False, db_default=False)
    # May flip the tenant's night switch from the phone (*915): receptionists, say.
    may_switch_night = fields.BooleanField(default=False, db_default=False)
    # The user's own outbound policy, on top of the tenant's; null: the default.
    outbound_policy: fields.Field[Any] = fields.JSONField(null=True)
    # Where a copy of each voicemail message left for the user is e-mailed; null: none.
    voicemail_email = fields.CharField(max_length=254, null=True)
    # The PIN that opens the mailbox from the phone (*1233), only as its PBKDF2 hash
    # (provd.domain.voicemail_pin's stored form); null: none set, the mailbox stays shut.
    voicemail_pin = fields.CharField(max_length=255, null=True)
    # What callers to the mailbox hear before the beep; null: the beep alone.
    voicemail_greeting: fields.ForeignKeyNullableRelation[Sound] = fields.ForeignKeyField(
        "models.Sound", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    lines: fields.ReverseRelation[DeviceLine]

    class Meta:
        table = "user"
        unique_together = (("tenant", "extension"), ("tenant", "sip_username"))


class Device(Model):
    _no_comments = True
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
    expansion_modules = fields.IntField(default=0)
    # Overrides of the tenant's network defaults: null = inherit, "off" = untagged.
    vlan_lan = fields.CharField(max_length=16, null=True)
    vlan_pc = fields.CharField(max_length=16, null=True)
    lldp = fields.BooleanField(null=True)
    # What the phone last reported about itself on an authenticated fetch.
    last_fetch_at = fields.DatetimeField(null=True)
    last_fetch_ip = fields.CharField(max_length=45, null=True)
    last_user_agent = fields.CharField(max_length=255, null=True)
    reported_firmware = fields.CharField(max_length=64, null=True)
    reported_firmware_at = fields.DatetimeField(null=True)
    # The firmware in the SIP User-Agent of the phone's last REGISTER.
    sip_firmware = fields.CharField(max_length=64, null=True)
    sip_firmware_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    lines: fields.ReverseRelation[DeviceLine]

    class Meta:
        table = "device"


class DeviceLine(Model):
    """A user's SIP account placed on a line slot (1-based) of a device."""

    _no_comments = True

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


class LayoutOwned(Model):
    """Fields shared by the parts of a layout: whose it is and for which model.

    ``owner`` says whose layout it is ("platform", "tenant:<id>", "user:<id>",
    "device:<id>"): a plain string, because SQL unique constraints treat NULL
    foreign keys as distinct. The foreign keys are there for the cascades.
    """

    _no_comments = True

    owner = fields.CharField(max_length=32)
    level = fields.IntField()
    tenant: fields.ForeignKeyNullableRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, null=True, on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.CASCADE
    )
    device: fields.ForeignKeyNullableRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name=False, null=True, on_delete=fields.CASCADE
    )
    model = fields.CharField(max_length=32)

    class Meta:
        abstract = True


class KeySetting(LayoutOwned):
    """One programmed key of a layout.

    ``owner`` says whose layout it is ("platform", "tenant:<id>", "user:<id>",
    "device:<id>"): a plain string, because SQL unique constraints treat NULL
    foreign keys as distinct. The foreign keys are there for cascades and so
    that a user a BLF key points at cannot be removed from under it.
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    location = fields.CharField(max_length=16)
    function = fields.CharField(max_length=16)
    target = fields.CharField(max_length=512, default="")
    target_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="watched_by", null=True, on_delete=fields.RESTRICT
    )
    label = fields.CharField(max_length=32, default="")
    locked = fields.BooleanField(default=False)

    class Meta:
        table = "key_setting"
        unique_together = (("owner", "model", "location"),)


class PageLabel(LayoutOwned):
    """The description of one expansion-module page in a layout."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    module = fields.IntField()
    page = fields.IntField()
    text = fields.CharField(max_length=64)

    class Meta:
        table = "page_label"
        unique_together = (("owner", "model", "module", "page"),)


class FirmwareImage(Model):
    """A firmware file in the content-addressed store (data dir ``firmware/<sha256>``)."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    sha256 = fields.CharField(max_length=64, unique=True)
    size = fields.BigIntField()
    vendor = fields.CharField(max_length=16)
    version = fields.CharField(max_length=64)
    filename = fields.CharField(max_length=128)
    """The vendor's file name, kept because some phones check it (``T46-28.83.0.120.rom``)."""
    models: fields.Field[Any] = fields.JSONField(default=list)
    release_notes = fields.TextField(default="")
    tested = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "firmware_image"


class FirmwarePin(Model):
    """The firmware chosen for a model at one level: platform, tenant or device."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    owner = fields.CharField(max_length=32)
    level = fields.IntField()
    tenant: fields.ForeignKeyNullableRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, null=True, on_delete=fields.CASCADE
    )
    device: fields.ForeignKeyNullableRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name=False, null=True, on_delete=fields.CASCADE
    )
    model = fields.CharField(max_length=32)
    image: fields.ForeignKeyRelation[FirmwareImage] = fields.ForeignKeyField(
        "models.FirmwareImage", related_name="pins", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "firmware_pin"
        unique_together = (("owner", "model"),)


class Rollout(Model):
    """A bulk firmware update: its settings and overall state. Persisted so that a
    restart (even a crash) resumes it without losing or repeating devices."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    state = fields.CharField(max_length=16)
    created_by = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)
    target_image: fields.ForeignKeyNullableRelation[FirmwareImage] = fields.ForeignKeyField(
        "models.FirmwareImage", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    """None: each device goes to its resolved (recommended) firmware."""
    selection = fields.CharField(max_length=255, default="")
    batch_size = fields.IntField(default=10)
    canary_size = fields.IntField(default=0)
    concurrency = fields.IntField(default=10)
    timeout_seconds = fields.IntField(default=900)
    reason = fields.CharField(max_length=255, default="")

    devices: fields.ReverseRelation[RolloutDevice]

    class Meta:
        table = "rollout"


class RolloutDevice(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    rollout: fields.ForeignKeyRelation[Rollout] = fields.ForeignKeyField(
        "models.Rollout", related_name="devices", on_delete=fields.CASCADE
    )
    device: fields.ForeignKeyNullableRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    mac = fields.CharField(max_length=12)
    position = fields.IntField()
    batch = fields.IntField()
    """0 is the canary batch when the rollout has one."""
    state = fields.CharField(max_length=16)
    target_version = fields.CharField(max_length=64, default="")
    target_image: fields.ForeignKeyNullableRelation[FirmwareImage] = fields.ForeignKeyField(
        "models.FirmwareImage", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    reason = fields.CharField(max_length=255, default="")
    notified_at = fields.DatetimeField(null=True)
    fetched_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "rollout_device"
        unique_together = (("rollout", "mac"),)


class ApiToken(Model):
    """A bearer token for the REST API. Only its SHA-256 is stored."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    token_sha256 = fields.CharField(max_length=64, unique=True)
    role = fields.CharField(max_length=16, default="admin")
    # The tenant the token is confined to; null = every tenant (platform admin).
    tenant: fields.ForeignKeyNullableRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, null=True, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"


class AuditEntry(Model):
    """One row per state change: who, what, before and after (secrets redacted)."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    at = fields.DatetimeField(auto_now_add=True)
    actor = fields.CharField(max_length=128)
    request_id = fields.CharField(max_length=64, null=True)
    """Made by provd for the request, so it cannot be chosen to look like another's."""
    client_request_id = fields.CharField(max_length=64, null=True)
    """The ``X-Request-Id`` the client sent, if any: its own correlation, untrusted."""
    action = fields.CharField(max_length=64)
    object_type = fields.CharField(max_length=32)
    object_key = fields.CharField(max_length=128)
    before: fields.Field[Any] = fields.JSONField(null=True)
    after: fields.Field[Any] = fields.JSONField(null=True)

    class Meta:
        table = "audit_entry"


class Account(Model):
    """A person who signs in to the web console: an admin or an installer.

    Failed sign-ins are never counted here: an unauthenticated request must not change
    an account. ``serve`` counts them apart, under a hash of the name (``AuthFailures``).
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    display_name = fields.CharField(max_length=64, default="")
    password_hash = fields.CharField(max_length=255)
    role = fields.CharField(max_length=16)
    # The tenant the account is confined to; null = every tenant (platform admin).
    tenant: fields.ForeignKeyNullableRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, null=True, on_delete=fields.CASCADE
    )
    last_sign_in_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "account"


class WebSession(Model):
    """A signed-in browser. Only the SHA-256 of the cookie value is stored."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    token_sha256 = fields.CharField(max_length=64, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="sessions", on_delete=fields.CASCADE
    )
    csrf_token = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "web_session"


class ProvisioningToken(Model):
    """A single-use credential that a plug-and-play NOTIFY hands one unsealed device.

    It stands for that device alone, for minutes, and is spent by the first fetch of
    the device's configuration. Digest needs the secret itself on the server, so it
    is sealed like the device passwords rather than hashed.
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    device: fields.ForeignKeyRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name=False, on_delete=fields.CASCADE
    )
    username = fields.CharField(max_length=40, unique=True)
    password_enc = fields.BinaryField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "provisioning_token"


class DiscoveredDevice(Model):
    """A phone seen on the network (DHCP request or SIP PnP) that may not be claimed yet."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    mac = fields.CharField(max_length=12, unique=True)
    ip = fields.CharField(max_length=45, null=True)
    source = fields.CharField(max_length=8)
    vendor = fields.CharField(max_length=16, null=True)
    model = fields.CharField(max_length=32, null=True)
    vendor_class = fields.CharField(max_length=128, null=True)
    requested_options: fields.Field[Any] = fields.JSONField(default=list)
    user_agent = fields.CharField(max_length=255, null=True)
    hostname = fields.CharField(max_length=64, null=True)
    first_seen_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(auto_now_add=True)
    seen_count = fields.IntField(default=1)

    class Meta:
        table = "discovered_device"


class PhoneNumber(Model):
    """One number (E.164) of a block a tenant owns: a row per number, each assigned alone.

    A block is the numbers sharing ``block_first``: added and removed as one. What a
    number is used for is one nullable reference per kind of use (a user, a hunt group,
    a scheduled route, a trunk, an IVR menu or an announcement), at most one of them set.
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    e164 = fields.CharField(max_length=16, unique=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    block_first = fields.CharField(max_length=16, db_index=True)
    block_count = fields.IntField()
    # The services refuse to remove a user, group, route or menu a number is assigned to.
    assigned_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    assigned_group: fields.ForeignKeyNullableRelation[HuntGroup] = fields.ForeignKeyField(
        "models.HuntGroup", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    assigned_route: fields.ForeignKeyNullableRelation[ScheduledRoute] = fields.ForeignKeyField(
        "models.ScheduledRoute", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    # Inbound calls go to a customer's PBX: set exactly when its TrunkNumber is inbound.
    assigned_trunk: fields.ForeignKeyNullableRelation[Trunk] = fields.ForeignKeyField(
        "models.Trunk", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    assigned_menu: fields.ForeignKeyNullableRelation[Menu] = fields.ForeignKeyField(
        "models.Menu", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    assigned_announcement: fields.ForeignKeyNullableRelation[Announcement] = fields.ForeignKeyField(
        "models.Announcement", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    assigned_queue: fields.ForeignKeyNullableRelation[Queue] = fields.ForeignKeyField(
        "models.Queue", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "phone_number"


class Carrier(Model):
    """An upstream SIP provider that reaches the telephone network."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=40, unique=True)
    host = fields.CharField(max_length=253)
    port = fields.IntField()
    transport = fields.CharField(max_length=3)
    username = fields.CharField(max_length=64, null=True)
    password_enc = fields.BinaryField(null=True)
    # Source networks the carrier's INVITEs come from ("192.0.2.0/24"), as text.
    inbound_from: fields.Field[Any] = fields.JSONField(default=list)
    priority = fields.IntField(default=10)
    enabled = fields.BooleanField(default=True)
    # The last OPTIONS probe: null until the PBX layer has probed the carrier.
    probe_up = fields.BooleanField(null=True)
    probe_status = fields.IntField(null=True)
    probe_reason = fields.CharField(max_length=128, null=True)
    probed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "carrier"


# ---- call handling ---------------------------------------------------------------
#
# A destination (where a call goes next: a group's overflow, a user's forwarding, a
# scheduled route's destination per state) is stored as JSON, checked and written only
# by provd.services.destinations: {"kind": "user", "user_id": N}, {"kind": "group",
# "group_id": N}, {"kind": "external", "number": "+31..."} (E.164), {"kind":
# "scheduled", "route_id": N}, {"kind": "menu", "menu_id": N}, {"kind": "voicemail",
# "user_id": N}, {"kind": "announcement", "announcement_id": N}, {"kind": "queue",
# "queue_id": N}, or null (none: the call ends). Ids are of the same tenant.


class HuntGroup(Model):
    """An extension that rings its members by a policy, then overflows."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    # Shares the tenant's extensions with its users: never one a user has.
    extension = fields.CharField(max_length=5)
    # Shown before the caller's number on the answering member's phone.
    name = fields.CharField(max_length=64)
    # simultaneous, fixed, circular or longest_idle (provd.domain.groups.Policy).
    policy = fields.CharField(max_length=16)
    ring_seconds = fields.IntField(default=15)
    """How long each member rings (all of them at once, for simultaneous)."""
    total_wait_seconds = fields.IntField(default=0)
    """When the caller goes to the overflow; 0: once every member has been tried."""
    overflow: fields.Field[Any] = fields.JSONField(null=True)
    # Where circular resumes: written by the call path, not by admins.
    last_answered_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    members: fields.ReverseRelation[HuntGroupMember]

    class Meta:
        table = "hunt_group"
        unique_together = (("tenant", "extension"),)


class HuntGroupMember(Model):
    """One member of a group, in ring order: a user of its tenant or an outside number."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    group: fields.ForeignKeyRelation[HuntGroup] = fields.ForeignKeyField(
        "models.HuntGroup", related_name="members", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    """1, 2, …: the services keep a group's positions without gaps."""
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    external_number = fields.CharField(max_length=16, null=True)
    """E.164; set exactly when ``user`` is not."""

    class Meta:
        table = "hunt_group_member"
        unique_together = (("group", "user"),)


class Sound(Model):
    """A recording a tenant's IVR menus play. The audio is a file of the data directory
    (provd.services.menus.sounds: 8 kHz mono 16-bit PCM WAV), named by tenant and name."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    # What menus name it by, and its file's name (provd.domain.ivr's sound-name rule).
    name = fields.CharField(max_length=100)
    duration_ms = fields.IntField()
    # Of the stored WAV, in bytes.
    size = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sound"
        unique_together = (("tenant", "name"),)


class Menu(Model):
    """An IVR menu: an extension of the tenant that the media application answers.

    ``keys`` maps a key (``0``-``9``, ``*``, ``#``) to what it does: ``{"action":
    "transfer", "destination": <stored destination>}``, ``{"action": "submenu",
    "menu_id": N}`` or ``{"action": "repeat" | "hang_up" | "dial_extension"}``.
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    # Shares the tenant's extensions with its users and groups.
    extension = fields.CharField(max_length=5)
    name = fields.CharField(max_length=64)
    greeting: fields.ForeignKeyRelation[Sound] = fields.ForeignKeyField(
        "models.Sound", related_name=False, on_delete=fields.RESTRICT
    )
    invalid_sound: fields.ForeignKeyNullableRelation[Sound] = fields.ForeignKeyField(
        "models.Sound", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    timeout_seconds = fields.IntField(default=5)
    max_attempts = fields.IntField(default=3)
    dial_length = fields.IntField(default=5)
    # Where a caller goes after the last failed attempt; null: the call ends.
    default_destination: fields.Field[Any] = fields.JSONField(null=True)
    keys: fields.Field[Any] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "menu"
        unique_together = (("tenant", "extension"),)


class Announcement(Model):
    """An extension of the tenant that the media application answers, plays a sound
    ``plays`` times and hangs up (an auto-answer number)."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    # Shares the tenant's extensions with its users, groups and menus.
    extension = fields.CharField(max_length=5)
    name = fields.CharField(max_length=64)
    sound: fields.ForeignKeyRelation[Sound] = fields.ForeignKeyField(
        "models.Sound", related_name=False, on_delete=fields.RESTRICT
    )
    plays = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "announcement"
        unique_together = (("tenant", "extension"),)


class Queue(Model):
    """A call queue: an extension of the tenant that the media application answers,
    holding callers while it offers them to the queue's logged-in agents
    (provd.domain.queues has the rules)."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    # Shares the tenant's extensions with its users, groups and menus.
    extension = fields.CharField(max_length=5)
    name = fields.CharField(max_length=64)
    # provd.domain.queues.Strategy.
    strategy = fields.CharField(max_length=16)
    ring_seconds = fields.IntField(default=15)
    max_wait_seconds = fields.IntField(default=300)
    # Where a caller goes once the maximum wait passed; null: the call ends.
    failover: fields.Field[Any] = fields.JSONField(null=True)
    # Null: the tenant's music on hold (else the platform's).
    moh: fields.ForeignKeyNullableRelation[Sound] = fields.ForeignKeyField(
        "models.Sound", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    intro: fields.ForeignKeyNullableRelation[Sound] = fields.ForeignKeyField(
        "models.Sound", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    periodic: fields.ForeignKeyNullableRelation[Sound] = fields.ForeignKeyField(
        "models.Sound", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    periodic_seconds = fields.IntField(default=40)
    announce_position = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    agents: fields.ReverseRelation[QueueAgent]

    class Meta:
        table = "queue"
        unique_together = (("tenant", "extension"),)


class QueueAgent(Model):
    """A user who takes a queue's calls, in the queue's order, and whether they are
    logged in to it now (``*903`` / ``*904``, or an admin)."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    queue: fields.ForeignKeyRelation[Queue] = fields.ForeignKeyField(
        "models.Queue", related_name="agents", on_delete=fields.CASCADE
    )
    # The services refuse to remove a user who is an agent (like a group's member).
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.RESTRICT
    )
    position = fields.IntField()
    """1, 2, …: the services keep a queue's positions without gaps."""
    logged_in = fields.BooleanField(default=False)
    logged_in_at = fields.DatetimeField(null=True)

    class Meta:
        table = "queue_agent"
        unique_together = (("queue", "user"),)


class QueueCall(Model):
    """One caller's time in a queue, collected from the media application's records
    (provd.services.queues.collector): what the queue's statistics are counted from.

    The queue and the agent are kept as extensions too, and their references go null
    when they are removed: a queue's history outlives the queue (its calls still count
    in the tenant's figures and in ``provd_queue_calls_total``, which must never go
    down), as a call record outlives its user."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    queue: fields.ForeignKeyNullableRelation[Queue] = fields.ForeignKeyField(
        "models.Queue", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    queue_extension = fields.CharField(max_length=5)
    # The media application's id of the record: collecting it twice keeps one row.
    spool_id = fields.CharField(max_length=64, unique=True)
    call_id = fields.CharField(max_length=255)
    caller = fields.CharField(max_length=64)
    caller_number = fields.CharField(max_length=20, null=True)
    entered_at = fields.DatetimeField(db_index=True)
    left_at = fields.DatetimeField()
    # answered, abandoned or failover (provd.domain.queues.OUTCOMES).
    outcome = fields.CharField(max_length=16)
    agent: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    agent_extension = fields.CharField(max_length=5, null=True)
    wait_ms = fields.IntField()
    talk_ms = fields.IntField(default=0)

    class Meta:
        table = "queue_call"


class VoicemailMessage(Model):
    """A message a caller left in a user's mailbox, collected from the media
    application's spool (provd.services.voicemail). The audio is a file of the data
    directory (8 kHz mono 16-bit PCM WAV) at ``path``, relative to that directory."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    # The user's messages go with the user.
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    # The caller as the phone showed it, the display name, and the E.164 number when known.
    caller = fields.CharField(max_length=64)
    caller_name = fields.CharField(max_length=64)
    caller_number = fields.CharField(max_length=20, null=True)
    received_at = fields.DatetimeField(db_index=True)
    duration_ms = fields.IntField()
    # Why the call reached the mailbox: user-busy, no-answer, or empty (sent there directly).
    reason = fields.CharField(max_length=32)
    heard = fields.BooleanField(default=False)
    # The media application's id of the message: collecting it twice keeps one row.
    spool_id = fields.CharField(max_length=64, unique=True)
    path = fields.CharField(max_length=255)

    class Meta:
        table = "voicemail_message"


class Schedule(Model):
    """A tenant's opening hours: weekly rules, holidays and the night switch.

    ``rules`` and ``holidays`` are lists of the texts provd.domain.schedules formats
    (``mon-fri 08:00-17:00``, ``2026-12-25``), read in the tenant's time zone. The night
    switch is ``override_state`` (null: follow the rules), until ``override_until`` if set.
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64)
    rules: fields.Field[Any] = fields.JSONField(default=list)
    holidays: fields.Field[Any] = fields.JSONField(default=list)
    override_state = fields.CharField(max_length=8, null=True)
    """open or closed; null: automatic."""
    override_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "schedule"
        unique_together = (("tenant", "name"),)


class ScheduledRoute(Model):
    """A number plan: one destination per state of a schedule (open, closed, holiday)."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=64)
    schedule: fields.ForeignKeyRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name=False, on_delete=fields.RESTRICT
    )
    open_destination: fields.Field[Any] = fields.JSONField(null=True)
    closed_destination: fields.Field[Any] = fields.JSONField(null=True)
    holiday_destination: fields.Field[Any] = fields.JSONField(null=True)
    """Null: the closed destination applies on holidays too."""
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "scheduled_route"
        unique_together = (("tenant", "name"),)


class IncomingBlock(Model):
    """Calls refused before they ring: anonymous callers, or a number or prefix.

    Exactly one of ``anonymous`` and ``pattern``. ``pattern`` is E.164 (``+31612345678``),
    or with ``is_prefix`` the start of every number blocked (``+31900``). With a
    ``schedule``, the block holds only while it is in ``when_state``.
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    # Null: calls to anyone of the tenant. A user's own blocks go when it is removed.
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.CASCADE
    )
    anonymous = fields.BooleanField(default=False)
    pattern = fields.CharField(max_length=16, null=True)
    is_prefix = fields.BooleanField(default=False)
    schedule: fields.ForeignKeyNullableRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    when_state = fields.CharField(max_length=8, null=True)
    """open, closed or holiday: set exactly when ``schedule`` is."""
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "incoming_block"


# ---- customer SIP trunks -----------------------------------------------------------


class Trunk(Model):
    """A customer's own PBX connected as one SIP trunk (provd.domain.trunks has its rules)."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.RESTRICT
    )
    # Part of its accounts' usernames ("<name>-primary"): never renamed.
    name = fields.CharField(max_length=32)
    channels = fields.IntField()
    # e164, 00 or national: how numbers cross the trunk.
    number_format = fields.CharField(max_length=8, default="e164")
    brand = fields.CharField(max_length=16, default="other")
    # accounts (digest with its primary and secondary account) or ip (source address only).
    auth = fields.CharField(max_length=8, default="accounts")
    # Networks ("192.0.2.10/32") every request must come from, with or without a password.
    networks: fields.Field[Any] = fields.JSONField(default=list)
    # "HOST[:PORT]" inbound calls are sent to; set exactly for an IP-authenticated trunk.
    address = fields.CharField(max_length=262, null=True)
    # replace or refuse a caller ID outside the trunk's caller-ID numbers.
    caller_id_policy = fields.CharField(max_length=8, default="replace")
    # E.164, one of its caller-ID numbers: what a replaced caller ID becomes.
    main_number = fields.CharField(max_length=16, null=True)
    # A destination (see services/destinations) for inbound calls the PBX does not take.
    failover: fields.Field[Any] = fields.JSONField(null=True)
    ring_seconds = fields.IntField(default=30)
    enabled = fields.BooleanField(default=True)
    # The trunk's own outbound policy, on top of the tenant's; null: the default.
    outbound_policy: fields.Field[Any] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "trunk"
        unique_together = (("tenant", "name"),)


class TrunkAccount(Model):
    """One of a trunk's two registration accounts, its password only as ciphertext."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    trunk: fields.ForeignKeyRelation[Trunk] = fields.ForeignKeyField(
        "models.Trunk", related_name=False, on_delete=fields.CASCADE
    )
    role = fields.CharField(max_length=16)
    username = fields.CharField(max_length=64)
    password_enc = fields.BinaryField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "trunk_account"
        unique_together = (("trunk", "role"),)


class TrunkNumber(Model):
    """A number of the trunk's tenant on the trunk: its DID and/or a caller ID it may send."""

    _no_comments = True

    # inbound is mirrored by PhoneNumber.assigned_trunk (kept equal by services.trunks).
    id = fields.IntField(primary_key=True)
    trunk: fields.ForeignKeyRelation[Trunk] = fields.ForeignKeyField(
        "models.Trunk", related_name=False, on_delete=fields.CASCADE
    )
    # On one trunk at most.
    number: fields.ForeignKeyRelation[PhoneNumber] = fields.ForeignKeyField(
        "models.PhoneNumber", related_name=False, unique=True, on_delete=fields.RESTRICT
    )
    inbound = fields.BooleanField(default=False)
    caller_id = fields.BooleanField(default=False)

    class Meta:
        table = "trunk_number"


class Rate(Model):
    """One price of the rate table: the platform's, or a tenant's override of it.

    ``match`` is an E.164 prefix (``+3197``) or a call type (``mobile``). ``owner`` is
    "platform" or "tenant:<id>": a plain string, because SQL unique constraints treat
    NULL foreign keys as distinct. Read and written only by ``services/rating``.
    """

    _no_comments = True

    id = fields.IntField(primary_key=True)
    owner = fields.CharField(max_length=32)
    tenant: fields.ForeignKeyNullableRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, null=True, on_delete=fields.CASCADE
    )
    match = fields.CharField(max_length=16)
    price_per_minute = fields.DecimalField(max_digits=10, decimal_places=4)
    setup_fee = fields.DecimalField(max_digits=10, decimal_places=4)
    # Null: by the second. Both set or neither: FIRST/THEN seconds (60/1).
    increment_first = fields.IntField(null=True)
    increment_then = fields.IntField(null=True)
    currency = fields.CharField(max_length=3, default="EUR")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "rate"
        unique_together = (("owner", "match"),)


# ---- call records ------------------------------------------------------------------


class CallRecord(Model):
    """One call, copied from Kamailio's accounting (services/calls/collector.py).

    ``source`` and ``callid`` name the Kamailio row it came from ("acc_cdrs" for an
    answered call, "acc" for one never answered): unique, so collecting a row twice
    (after a restart of provd or Kamailio) keeps one record.
    """

    _no_comments = True

    id = fields.BigIntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.CASCADE
    )
    source = fields.CharField(max_length=8)
    source_id = fields.BigIntField()
    callid = fields.CharField(max_length=255)
    started_at = fields.DatetimeField()
    answered_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField()
    # Whole seconds from the answer; 0 for a call never answered.
    duration = fields.IntField()
    # answered, busy, no_answer, failed or blocked (provd.domain.call_records).
    disposition = fields.CharField(max_length=16)
    sip_code = fields.IntField(null=True)
    # Why a call was not answered: provd's refusal, else the far end's reply.
    reason = fields.CharField(max_length=128, default="")
    call_type = fields.CharField(max_length=16)
    caller = fields.CharField(max_length=64, default="")
    callee = fields.CharField(max_length=64, default="")
    dialled = fields.CharField(max_length=64, default="")
    # The tenant's number the call used (its caller ID out, the number dialled in),
    # else the user's extension: what totals "per number" group by.
    number = fields.CharField(max_length=64, default="")
    # The user (extension), customer trunk and hunt group the call involved.
    user_ext = fields.CharField(max_length=64, default="")
    trunk = fields.CharField(max_length=64, default="")
    group_ext = fields.CharField(max_length=64, default="")
    # Set by rating; null until a call is rated (or for calls that cost nothing yet).
    cost = fields.DecimalField(max_digits=12, decimal_places=4, null=True)

    class Meta:
        table = "call_record"
        unique_together = (("source", "callid"),)
        # The views always filter by tenant and period, newest first. The first index
        # also holds every column the totals and filters read, so a month of a busy
        # tenant is counted, filtered and totalled from the index alone (bench/call_records.py).
        indexes = (
            (
                "tenant_id", "started_at", "call_type", "number", "disposition", "duration",
                "cost", "caller", "callee",
            ),
            ("tenant_id", "call_type", "started_at"),
        )  # fmt: skip


class CallCollectorMark(Model):
    """How far the collector has read each Kamailio table (the highest row id)."""

    _no_comments = True

    source = fields.CharField(max_length=8, primary_key=True)
    last_id = fields.BigIntField(default=0)

    class Meta:
        table = "call_collector_mark"


# ---- spend and call limits ---------------------------------------------------------


class SpendLimit(Model):
    """The spend and call limits of a tenant or of one of its trunks.

    ``limits`` is ``provd.domain.limits.to_json``; no row: the defaults. ``owner`` is
    "tenant:<id>" or "trunk:<id>" (unique: SQL treats NULL trunks as distinct).
    ``alert_email``, on the tenant's row, is where its 80 % and 95 % alerts go. Read
    and written only by ``services/limits``."""

    _no_comments = True

    id = fields.IntField(primary_key=True)
    owner = fields.CharField(max_length=32, unique=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.CASCADE
    )
    trunk: fields.ForeignKeyNullableRelation[Trunk] = fields.ForeignKeyField(
        "models.Trunk", related_name=False, null=True, on_delete=fields.CASCADE
    )
    limits: fields.Field[Any] = fields.JSONField(null=True)
    alert_email = fields.CharField(max_length=254, null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "spend_limit"


class LimitAlert(Model):
    """An alert at 80 or 95 percent of one limit in one window.

    Written once (``key``), then e-mailed; the console lists them."""

    _no_comments = True

    id = fields.BigIntField(primary_key=True)
    tenant: fields.ForeignKeyRelation[Tenant] = fields.ForeignKeyField(
        "models.Tenant", related_name=False, on_delete=fields.CASCADE
    )
    key = fields.CharField(max_length=160)
    level = fields.CharField(max_length=80)
    kind = fields.CharField(max_length=8)
    window = fields.CharField(max_length=8)
    window_start = fields.DatetimeField()
    percent = fields.IntField()
    used = fields.DecimalField(max_digits=14, decimal_places=4)
    limit = fields.DecimalField(max_digits=14, decimal_places=4)
    recipient = fields.CharField(max_length=254, default="")
    delivered = fields.BooleanField(default=False)
    error = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "limit_alert"
        unique_together = (("tenant", "key"),)


# ---- shared by every worker and node of one platform (services/cluster) -------------


class PlatformSecret(Model):
    """A secret every provd process serving the platform must hold alike (the digest
    nonce key), made by whichever starts first; sealed like every other secret."""

    _no_comments = True

    name = fields.CharField(max_length=32, primary_key=True)
    value_enc = fields.BinaryField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "platform_secret"


class NonceClaim(Model):
    """A digest nonce's first use, by the process that took it: a nonce is counted
    (its nc) by that process alone, so a replay to any other is refused.

    Deleted once the nonce has expired (``issued_ms`` is the time it carries)."""

    _no_comments = True

    nonce = fields.CharField(max_length=48, primary_key=True)
    issued_ms = fields.BigIntField(db_index=True)
    worker = fields.CharField(max_length=64)

    class Meta:
        table = "nonce_claim"


class AuthFailures(Model):
    """The failed authentications of one throttled key, as every process sees them:
    ``security.ratelimit.FailureState`` for a hash of the scope and key (an address,
    a user name or both; never stored in the clear).

    Written with compare-and-set on ``version``; deleted after ``forget_at``, when
    the row says nothing an absent one would not."""

    _no_comments = True

    key = fields.CharField(max_length=64, primary_key=True)
    failures: fields.Field[Any] = fields.JSONField(default=list)
    blocked_until = fields.FloatField(default=0.0)
    strikes = fields.IntField(default=0)
    last_block_end = fields.FloatField(default=0.0)
    forget_at = fields.FloatField(db_index=True)
    version = fields.IntField(default=0)

    class Meta:
        table = "auth_failures"
