"""Call routing: the one place where provd decides where a call goes.

:func:`plan_call` is pure: the call's facts (who sends it, what was dialled, the
identity headers it arrived with, the time), the tenant's routing data and the
carriers go in; a :data:`RoutePlan` comes out, either a :class:`Reject` (the SIP
reply to send) or a :class:`Route` (branches to try, each with its target, header
edits, timeouts and what to do when it fails). Kamailio executes the plan; it makes
no routing decision of its own.

Rules
-----
* **Sources.** A call comes from a registered user (Kamailio authenticated it, so
  its tenant and extension are known), from a carrier (its address or registration
  matched one), or from anywhere else. Anything else is refused with 403, whatever
  it dialled: only carriers may reach the tenants' numbers.
* **Inbound** (from a carrier): the dialled number is read in the carrier's
  country's notation. A number that is not one gets ``404 Unknown number``; a number
  no tenant owns, an owned but unassigned number, or one assigned to a user that no
  longer exists gets ``404 Number not in use``; an assigned number rings all of the
  user's phones (the user's AoR, as internal calls do). The callee sees the caller's
  number (the carrier's P-Asserted-Identity, else its From) in the tenant's display
  form, national (``0201234567``) or E.164; a caller asking for privacy (``Privacy:
  id``/``user``/``header``), sending ``anonymous`` or no number at all is shown as
  ``Anonymous``.
* **Outbound** (from a user), in this order: a ``#31#`` prefix hides the caller's
  number for this call and is removed; an emergency number of the tenant's country
  (112, 911 for NL, from libphonenumber) always goes to the carriers; an extension of
  the same tenant rings that user (internal calls always show the caller's extension:
  hiding is about what leaves the platform); a number in any notation the country
  uses (``0…``, ``00…``, ``+…``) goes to the carriers in E.164. Anything else: an
  unknown extension-shaped string (2-5 digits) gets ``404``, other digits
  ``484 Address Incomplete``, other text ``404``.
* **Caller ID toward a carrier** is decided here and never taken from the phone: the
  user's own number, else the tenant's main number, and only a number the tenant owns
  (``numbers``). It is always in P-Asserted-Identity. When hidden (``#31#`` or the
  user's ``hide_caller_id``) the call carries ``Privacy: id`` and an anonymous From,
  the PAI still true (the trunk spec, 003). A user with no number to present may not
  call the PSTN (``403``), except emergency numbers.
* **Outbound policy** (``outbound_policy``): a call to an outside number, from a
  user, a trunk, a forward or a group's outside member, is refused with ``403
  Forbidden: destination blocked: <reason>`` when the tenant's policy or the caller's
  own (the user's, the trunk's, the forwarding user's) refuses the number. Emergency
  numbers are never refused.
* **Emergency** calls go out even without a number: with the user's or the tenant's
  main number in PAI and From, never hidden (the emergency services must be able to
  call back, and ``#31#`` or ``hide_caller_id`` must not keep them from it); with no
  number at all, without PAI and with an anonymous From rather than not at all. The
  Request-URI is the country calling code and the short number (``+31112``), so every
  Request-URI toward a carrier has E.164's shape.
* **Carriers** are tried one after the other, in the order given (the caller sorts by
  priority); those the OPTIONS probe marks down come after the live ones rather than
  never, as a probe can lag. A branch moves on to the next carrier on a timeout, 408
  or 5xx (per carrier, ``failover_on``) and stops on any other 4xx or a 6xx: the far
  end answered for the whole network. No carrier at all gives ``503``.
* The phone's identity headers (P-Asserted-Identity, P-Preferred-Identity,
  Remote-Party-ID, Privacy) are removed on every branch, toward carriers and phones.

Plan document (``plan_to_json``)
--------------------------------
The rtjson routing document of Kamailio's ``rtjson`` module, with provd's own keys
next to it (rtjson ignores keys it does not know; the cfg reads them with the json
module)::

    {"version": "1.0", "action": "reject", "code": 404, "reason": "Number not in use"}

    {"version": "1.0", "action": "route", "kind": "outbound",   # internal | inbound | emergency
     "routing": "serial",                                      # or "parallel"
     "target": "carrier",                                      # the first route's, for the cfg
     "next_status": "408|5[0-9][0-9]", "next_timeout": 1,      # the on_failure of every
                                                               # route but the last, flat
     "caller_id": {"number": "+31201234567", "shown": "+31201234567", "hidden": false},
     "routes": [
       {"uri": "sip:+31612345678@carrier-a.example",           # rtjson: R-URI
        "dst_uri": "sip:192.0.2.1:5060;transport=udp",          # rtjson: next hop
        "target": "carrier", "carrier": "carrier-a",            # or "aor" + "extension"
        "headers": {                                            # rtjson (uac for from/to)
          "from": {"display": "", "uri": "sip:+31201234567@t1.pbx.example"},
          "to": {"display": "", "uri": "sip:+31612345678@carrier-a.example"},
          "extra": "P-Asserted-Identity: <sip:+31201234567@t1.pbx.example>\\r\\n"},
        "remove_headers": ["P-Asserted-Identity", "P-Preferred-Identity",
                           "Remote-Party-ID", "Privacy"],
        "fr_timer": 5000, "fr_inv_timer": 120000,               # rtjson: tm timers, ms
        "on_failure": {"action": "next", "status": "408|5[0-9][0-9]", "timeout": true}},
       ...]}

* ``target: "aor"``: the cfg runs ``lookup("location")`` on ``uri``
  (``sip:EXT@tenant-domain``), which forks to every phone of the user.
* ``remove_headers`` are removed before ``extra`` is appended (rtjson only appends).
* ``on_failure``: ``{"action": "next", ...}`` means: in failure_route, when
  ``t_check_status(status)`` matches (or ``t_branch_timeout()`` and ``timeout``),
  call ``rtjson_next_route()``; ``{"action": "stop"}`` relays the failure to the
  caller. Forwarding (a later issue) adds actions here.
* rtjson applies ``headers`` and the timers per branch only for serial routing; a
  parallel plan (hunt groups, later) sets them in the cfg's branch_route.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal, assert_never
from urllib.parse import unquote

import phonenumbers

from provd.domain import (
    ivr,
    limits,
    numbers,
    outbound_policy,
    queues,
    rating,
    schedules,
    service_codes,
    trunks,
)
from provd.domain.call_types import destination_type
from provd.domain.errors import InvalidInput
from provd.domain.limits import Limits as SpendLimits
from provd.domain.limits import Usage as SpendUsage
from provd.domain.tenancy import check_extension

DisplayForm = Literal["national", "e164"]

HIDE_PREFIX = "#31#"
ANONYMOUS_URI = "sip:anonymous@anonymous.invalid"
ANONYMOUS_DISPLAY = "Anonymous"
# Headers a caller could use to claim an identity or ask for privacy: provd sets them.
IDENTITY_HEADERS = ("P-Asserted-Identity", "P-Preferred-Identity", "Remote-Party-ID", "Privacy")
PRIVACY_HIDING = frozenset({"id", "user", "header"})

SETUP_TIMEOUT_MS = 5000
"""tm's fr_timer: no provisional reply within this time counts as a dead target."""
PSTN_RING_TIMEOUT_MS = 120_000
DEFAULT_FAILOVER = ("408", "5xx")
MAX_DISPLAY_NAME = 64

_STATUS = re.compile(r"[1-6](?:[0-9]{2}|[0-9]x|xx)")
_E164_SHAPE = re.compile(r"\+[1-9][0-9]{1,14}")


# ---- inputs ----------------------------------------------------------------------


@dataclass(frozen=True)
class FromUser:
    """A phone Kamailio authenticated: its credentials name the tenant and extension."""

    tenant: str
    extension: str


@dataclass(frozen=True)
class FromCarrier:
    """A request from a carrier's address or through its registration."""

    carrier: str


@dataclass(frozen=True)
class FromTrunk:
    """A customer's PBX: through one of its trunk's accounts (Kamailio checked the
    digest) or, for an IP-authenticated trunk, by its source address. ``address`` is
    the packet's source, checked here against the trunk's allowed networks."""

    tenant: str
    trunk: str
    address: str


@dataclass(frozen=True)
class FromUnknown:
    """Neither authenticated nor a carrier's address."""

    address: str = ""


@dataclass(frozen=True)
class FromMedia:
    """provd's media application calling back through Kamailio for a caller it answered
    (a menu key's destination, an extension dialled in a menu). Kamailio knows it by its
    loopback address; the tenant is the Request-URI's domain."""

    tenant: str


Source = FromUser | FromCarrier | FromTrunk | FromMedia | FromUnknown


@dataclass(frozen=True)
class CallFacts:
    """What Kamailio knows about an initial INVITE, as it arrived.

    ``dialled`` is the Request-URI user ($rU, possibly percent-encoded); ``pai_user``
    the user part of P-Asserted-Identity ($(ai{uri.user})); ``privacy`` the raw
    Privacy header. ``at`` is when the call arrived (time-dependent rules come later:
    schedules).
    """

    source: Source
    dialled: str
    at: datetime
    from_user: str = ""
    from_display: str = ""
    pai_user: str | None = None
    privacy: str | None = None
    failed: tuple[Failure, ...] = ()
    """The steps tried so far and how each ended: the plan is for the next step."""

    def __post_init__(self) -> None:
        # Schedules will compare wall-clock times across zones: a naive time has none.
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError("CallFacts.at must carry its time zone")


@dataclass(frozen=True)
class ToUser:
    """Rings a user (every phone of the user), following the user's forwarding."""

    extension: str


@dataclass(frozen=True)
class ToGroup:
    """Rings a hunt group's members by its policy, then its overflow."""

    extension: str


@dataclass(frozen=True)
class ToExternal:
    """An outside number (E.164), through the carriers."""

    number: str


@dataclass(frozen=True)
class ToScheduled:
    """A scheduled route: the destination of the schedule's state at the call's time."""

    name: str


@dataclass(frozen=True)
class ToTrunk:
    """A customer's PBX behind a trunk: its accounts in turn, then the trunk's failover."""

    name: str


@dataclass(frozen=True)
class ToMenu:
    """An IVR menu: the media application answers and plays it (provd.domain.ivr)."""

    extension: str


@dataclass(frozen=True)
class ToVoicemail:
    """A user's mailbox: the media application answers, plays the user's greeting and
    records a message."""

    extension: str


@dataclass(frozen=True)
class ToQueue:
    """A call queue: the media application answers, holds the caller and offers the call
    to the queue's agents (provd.domain.queues)."""

    extension: str


@dataclass(frozen=True)
class ToAnnouncement:
    """An announcement: the media application answers, plays its recording and hangs up."""

    extension: str


Destination = (
    ToUser
    | ToGroup
    | ToExternal
    | ToScheduled
    | ToTrunk
    | ToMenu
    | ToVoicemail
    | ToQueue
    | ToAnnouncement
)
NumberTarget = (
    ToUser | ToGroup | ToScheduled | ToTrunk | ToMenu | ToVoicemail | ToQueue | ToAnnouncement
)


@dataclass(frozen=True)
class ScheduledRouting:
    """A number plan: the schedule it follows and a destination per state (None: the
    call is refused; ``holiday`` None: the closed destination applies)."""

    name: str
    schedule: str
    open: Destination | None
    closed: Destination | None
    holiday: Destination | None = None


@dataclass(frozen=True)
class ScheduleRouting:
    """A schedule with its night switch, as routing reads its state."""

    schedule: schedules.Schedule
    override: schedules.Override | None = None

    def state_at(self, at: datetime) -> schedules.State:
        return schedules.state_at(self.schedule, self.override, at).state


@dataclass(frozen=True)
class Failure:
    """How one step of a call ended without an answer, as Kamailio reports it.

    ``status`` is the final reply (tm's own 408 when the ring time ran out, with
    ``timeout``); ``unregistered`` means there was nothing to ring (no phone of the
    user registered), so no branch was even sent.
    """

    status: int
    timeout: bool = False
    unregistered: bool = False


@dataclass(frozen=True)
class Forwarding:
    """A user's call forwarding; None means not set. ``no_answer_after_s`` is the ring
    time before ``no_answer`` applies."""

    always: Destination | None = None
    busy: Destination | None = None
    no_answer: Destination | None = None
    no_answer_after_s: int = 20
    unreachable: Destination | None = None


@dataclass(frozen=True)
class Block:
    """Incoming calls refused: anonymous callers, or a caller whose E.164 number starts
    with ``prefix`` (a whole number is its own prefix)."""

    anonymous: bool = False
    prefix: str | None = None
    when: tuple[str, schedules.State] | None = None
    """Only while this schedule is in this state."""

    def matches(self, caller: CallerId) -> bool:
        """Whether the caller is one this block names (its ``when`` is checked apart)."""
        if self.anonymous:
            return caller.hidden or caller.number is None
        return (
            self.prefix is not None
            and caller.number is not None
            and caller.number.startswith(self.prefix)
        )


@dataclass(frozen=True)
class UserRouting:
    """One user as routing needs it. ``numbers`` in order of preference for caller ID."""

    extension: str
    name: str = ""
    numbers: tuple[str, ...] = ()
    hide_caller_id: bool = False
    forwarding: Forwarding = Forwarding()
    dnd: bool = False
    blocks: tuple[Block, ...] = ()
    outbound: outbound_policy.Policy = outbound_policy.DEFAULT
    """What the user may call outside, on top of the tenant's policy."""


GroupPolicy = Literal["simultaneous", "fixed", "circular", "longest_idle"]


@dataclass(frozen=True)
class GroupRouting:
    """A hunt group. ``members`` are extensions of the tenant's users or E.164 numbers,
    in order. ``last_answered`` (circular) and ``idle_since`` (longest idle: when each
    member last finished a call; unknown counts as idle longest) are what the call path
    has observed."""

    extension: str
    name: str
    policy: GroupPolicy
    members: tuple[str, ...]
    ring_s: int = 15
    total_wait_s: int = 0
    overflow: Destination | None = None
    last_answered: str | None = None
    idle_since: Mapping[str, datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class TrunkRouting:
    """A customer SIP trunk as routing reads it.

    ``accounts`` are the usernames of its registration accounts, primary first (each
    is an AoR in the tenant's SIP domain); none for an IP-authenticated trunk, which
    is reached at ``address`` (``host[:port]``) instead. ``caller_ids`` are the numbers
    (E.164) its PBX may present; ``main_number`` replaces any other when
    ``caller_id_policy`` is ``replace``. ``failover`` takes inbound calls the PBX does
    not answer or cannot be reached for.
    """

    name: str
    channels: int
    networks: tuple[str, ...]
    number_format: trunks.NumberFormat = "e164"
    accounts: tuple[str, ...] = ()
    address: str | None = None
    caller_ids: frozenset[str] = frozenset()
    main_number: str | None = None
    caller_id_policy: trunks.CallerIdPolicy = "replace"
    failover: Destination | None = None
    ring_s: int = 30
    outbound: outbound_policy.Policy = outbound_policy.DEFAULT
    """What the trunk's PBX may call outside, on top of the tenant's policy."""
    limits: SpendLimits = limits.DEFAULT
    usage: SpendUsage = field(default_factory=dict)
    """What the trunk's calls spent and numbered in the current windows."""


@dataclass(frozen=True)
class MenuRouting:
    """An IVR menu as routing reads it: where each key that leaves the menu goes
    (``0``-``9``, ``*``, ``#``), and its default, where a caller who pressed nothing
    usable goes (None: the media application ends the call). What the caller hears and
    the keys that stay in the media application are the menu's own (provd.domain.ivr)."""

    extension: str
    name: str = ""
    keys: Mapping[str, Destination] = field(default_factory=dict)
    default: Destination | None = None


@dataclass(frozen=True)
class QueueRouting:
    """A call queue as routing reads it: its agents (extensions of the tenant's users,
    logged in or not: the media application offers calls to the logged-in ones only),
    how long one offer rings, and where a caller goes after the maximum wait (None: the
    media application ends the call)."""

    extension: str
    name: str = ""
    agents: tuple[str, ...] = ()
    ring_s: int = queues.DEFAULT_RING_SECONDS
    failover: Destination | None = None


@dataclass(frozen=True)
class TenantRouting:
    """A tenant's routing data: its users and every number it owns.

    ``numbers`` maps each owned number (E.164) to its target, None when unassigned:
    owning a number is being a key here, and only such a number can be a caller ID.
    """

    slug: str
    sip_domain: str
    country: str = numbers.DEFAULT_COUNTRY
    main_number: str | None = None
    display_form: DisplayForm = "national"
    users: Mapping[str, UserRouting] = field(default_factory=dict)
    numbers: Mapping[str, NumberTarget | None] = field(default_factory=dict)
    ring_timeout_ms: int = 60_000
    groups: Mapping[str, GroupRouting] = field(default_factory=dict)
    blocks: tuple[Block, ...] = ()
    """Incoming calls from outside the tenant refused for every number."""
    schedules: Mapping[str, ScheduleRouting] = field(default_factory=dict)
    routes: Mapping[str, ScheduledRouting] = field(default_factory=dict)
    trunks: Mapping[str, TrunkRouting] = field(default_factory=dict)
    outbound: outbound_policy.Policy = outbound_policy.DEFAULT
    """What anyone of the tenant may call outside: users, trunks, forwards and groups."""
    timezone: str = "Europe/Amsterdam"
    """Where the spend limits' hours, days and weeks begin."""
    limits: SpendLimits = limits.DEFAULT
    usage: SpendUsage = field(default_factory=dict)
    """What the tenant's outside calls spent and numbered in the current windows."""
    rates: rating.RateTable | None = None
    """Prices a call out for its budget: without a rate a call is not cut."""
    menus: Mapping[str, MenuRouting] = field(default_factory=dict)
    """IVR menus by extension."""
    queues: Mapping[str, QueueRouting] = field(default_factory=dict)
    """Call queues by extension."""
    announcements: frozenset[str] = frozenset()
    """The extensions of the tenant's announcements."""


@dataclass(frozen=True)
class Carrier:
    """An upstream provider. ``address`` is ``host[:port]``, the next hop; ``domain``
    the host it wants in the Request-URI (the address when None); ``country`` the
    notation it uses for numbers without ``+``."""

    name: str
    address: str
    transport: Literal["udp", "tcp", "tls"] = "udp"
    domain: str | None = None
    country: str = numbers.DEFAULT_COUNTRY
    up: bool = True
    failover_on: tuple[str, ...] = DEFAULT_FAILOVER
    setup_timeout_ms: int = SETUP_TIMEOUT_MS
    registers_as: str | None = None
    """The user part of the Contact Kamailio registers with this carrier: calls sent to
    it carry the dialled number in To instead of the Request-URI."""

    def __post_init__(self) -> None:
        for status in self.failover_on:
            if not _STATUS.fullmatch(status):
                raise InvalidInput("failover_on", f"{status!r} is not a status like 503 or 5xx")


@dataclass(frozen=True)
class Carriers:
    """All carriers, highest priority first."""

    carriers: tuple[Carrier, ...] = ()

    def by_name(self, name: str) -> Carrier | None:
        return next((c for c in self.carriers if c.name == name), None)

    def in_order(self) -> tuple[Carrier, ...]:
        # Stable: priority order among the live ones, then among those marked down.
        return tuple(c for c in self.carriers if c.up) + tuple(c for c in self.carriers if not c.up)


# ---- outputs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reject:
    code: int
    reason: str


@dataclass(frozen=True)
class AorTarget:
    """Every registered phone of a user: Kamailio looks the AoR up in its location table."""

    extension: str
    uri: str


@dataclass(frozen=True)
class CarrierTarget:
    carrier: str
    uri: str
    dst_uri: str


@dataclass(frozen=True)
class PbxTarget:
    """An IP-authenticated trunk's PBX at its static address."""

    trunk: str
    uri: str
    dst_uri: str


MediaKind = Literal["ivr", "queue", "voicemail", "announcement"]


@dataclass(frozen=True)
class MediaTarget:
    """provd's media application at its loopback address; the Request-URI user names
    what it plays (``ivr-<menu extension>``, a queue's, ``vm-<extension>``,
    ``vmbox-<extension>``, ``ann-<extension>``)."""

    service: MediaKind
    uri: str
    dst_uri: str


Target = AorTarget | CarrierTarget | PbxTarget | MediaTarget


@dataclass(frozen=True)
class NameAddr:
    display: str
    uri: str


@dataclass(frozen=True)
class HeaderEdits:
    """Removed first, then ``add`` appended; From/To rewritten (uac, restored in-dialog)."""

    remove: tuple[str, ...] = IDENTITY_HEADERS
    add: tuple[tuple[str, str], ...] = ()
    from_: NameAddr | None = None
    to: NameAddr | None = None

    def added(self, name: str) -> str | None:
        return next((v for n, v in self.add if n.lower() == name.lower()), None)


@dataclass(frozen=True)
class NextBranch:
    """On one of ``statuses`` (``503``, ``5xx``) or a timeout, try the route's next branch."""

    statuses: tuple[str, ...] = DEFAULT_FAILOVER
    on_timeout: bool = True

    def moves_on(self, status: int) -> bool:
        return any(_status_matches(p, status) for p in self.statuses)


@dataclass(frozen=True)
class GiveUp:
    """Relay the failure to the caller. (Forwarding on busy/no answer comes later.)"""


OnFailure = NextBranch | GiveUp


@dataclass(frozen=True)
class Branch:
    target: Target
    headers: HeaderEdits
    setup_timeout_ms: int
    ring_timeout_ms: int
    on_failure: OnFailure
    request_user: str | None = None
    """The Request-URI user once the AoR is looked up: a trunk's PBX is sent the number
    called (in its notation), not the username it registered with."""


@dataclass(frozen=True)
class Channels:
    """A call counted against a trunk's channel limit: ``key`` names the trunk."""

    key: str
    limit: int


@dataclass(frozen=True)
class Budget:
    """What a call out may spend before Kamailio (cnxcc) cuts it: ``remaining`` EUR
    at the call's rate, in the credit pool ``key`` (the tenant, or its trunk)."""

    key: str
    remaining: Decimal
    connect: Decimal
    per_second: Decimal
    initial_pulse: int = 1
    final_pulse: int = 1


@dataclass(frozen=True)
class CallerId:
    """What the callee is shown. ``number`` is the E.164 identity (PAI toward carriers),
    None when there is none; ``shown`` the user part the callee's phone displays."""

    number: str | None
    shown: str
    hidden: bool


@dataclass(frozen=True)
class Route:
    kind: Literal["internal", "inbound", "outbound", "emergency"]
    branches: tuple[Branch, ...]
    caller_id: CallerId
    mode: Literal["serial", "parallel"] = "serial"
    more: bool = False
    """When this step fails, ask again (with the failure) for the next one."""
    group: str | None = None
    member: str | None = None
    """The hunt group this step rings for, and the one member it rings (serial policies)."""
    channels: Channels | None = None
    """Refused (503) when the trunk already has ``limit`` calls."""
    budget: Budget | None = None
    """Cut when this much is spent (a first step out only: see ``limits``)."""


@dataclass(frozen=True)
class RelayFailure:
    """Nothing more to try: the caller gets the last step's own failure reply."""


@dataclass(frozen=True)
class Service:
    """The user dialled a service code: provd makes the change as that user and the
    call gets the outcome as its reply (provd.domain.service_codes)."""

    code: service_codes.ServiceCode
    tenant: str
    extension: str


RoutePlan = Reject | Route | RelayFailure | Service

VOICEMAIL_PREFIX = "vm-"
"""The Request-URI user of a call Kamailio sends the media application to take a
message for a user: ``vm-<extension>``."""
ANNOUNCEMENT_PREFIX = "ann-"
"""The Request-URI user of a call Kamailio sends the media application to hear an
announcement: ``ann-<extension>``."""
MAILBOX_ACCESS_PREFIX = "vmbox-"
"""The Request-URI user of a user's own call to their mailbox (``*1233``), which the
media application answers with the mailbox's menu after the PIN: ``vmbox-<extension>``.
Only a call from that user is planned with it."""
MAX_FORWARDS = 5
"""Forwards and overflows followed in one call: a chain or loop is cut after this."""
BUSY_STATUSES = frozenset({486, 600})
NO_ANSWER_STATUSES = frozenset({408, 480})


# ---- the decision ----------------------------------------------------------------


def plan_call(
    facts: CallFacts,
    tenant: TenantRouting | None,
    carriers: Carriers,
    *,
    media: str | None = None,
) -> RoutePlan:
    """Where the call goes next.

    ``tenant`` is the calling user's tenant for a call from a user, and the tenant
    owning :func:`inbound_number` for a call from a carrier (None when no tenant owns
    it). A tenant passed for a number it does not own gets the call refused, never
    routed. With ``facts.failed`` empty this is the call's first step; otherwise the
    steps are replayed from the start with those failures, and the plan is the step
    that follows the last of them (the same facts always give the same plan).
    ``media`` is the media application's ``host:port`` (None: menus are unavailable).
    """
    source = facts.source
    if isinstance(source, FromUnknown):
        return Reject(403, "Forbidden: calls from outside come only through a carrier")
    if isinstance(source, FromCarrier):
        carrier = carriers.by_name(source.carrier)
        if carrier is None:
            return Reject(403, "Forbidden: not a carrier")
        return _inbound(facts, carrier, tenant, carriers, media)
    if isinstance(source, FromUser):
        if tenant is None or tenant.slug != source.tenant:
            raise ValueError("a call from a user is planned with that user's own tenant")
        user = tenant.users.get(source.extension)
        if user is None:
            return Reject(403, "Forbidden: unknown caller")
        return _outbound(facts, tenant, user, carriers, media)
    if isinstance(source, FromMedia):
        if tenant is None or tenant.slug != source.tenant:
            raise ValueError("a call from the media application is planned with its tenant")
        return _from_media(facts, tenant, carriers, media)
    if isinstance(source, FromTrunk):
        if tenant is None or tenant.slug != source.tenant:
            raise ValueError("a call from a trunk is planned with the trunk's own tenant")
        trunk = tenant.trunks.get(source.trunk)
        if trunk is None:
            return Reject(403, "Forbidden: unknown trunk")
        return _from_trunk(facts, tenant, trunk, source.address, carriers)
    assert_never(source)


def inbound_number(facts: CallFacts, carriers: Carriers) -> str | None:
    """The E.164 number a carrier's call is for (the key to find its tenant), or None."""
    if not isinstance(facts.source, FromCarrier):
        return None
    carrier = carriers.by_name(facts.source.carrier)
    if carrier is None:
        return None
    return _e164_or_none(unquote(facts.dialled), carrier.country)


def _inbound(
    facts: CallFacts,
    carrier: Carrier,
    tenant: TenantRouting | None,
    carriers: Carriers,
    media: str | None,
) -> RoutePlan:
    number = _e164_or_none(unquote(facts.dialled), carrier.country)
    if number is None:
        return Reject(404, "Unknown number")
    if tenant is None or number not in tenant.numbers:
        return Reject(404, "Number not in use")
    target = tenant.numbers[number]
    if target is None:
        return Reject(404, "Number not in use")
    caller = _presented_caller(facts, carrier, tenant)
    if _blocked(tenant, tenant.blocks, caller, facts.at):
        return Reject(603, "Declined: the caller is blocked")
    if caller.hidden or caller.number is None:
        from_ = NameAddr(ANONYMOUS_DISPLAY, ANONYMOUS_URI)
    else:
        from_ = NameAddr(
            _clean_display(facts.from_display), f"sip:{caller.shown}@{tenant.sip_domain}"
        )
    call = _Call(facts, tenant, carriers, "inbound", caller, from_, called=number, media=media)
    return _follow(call, target)


def _presented_caller(facts: CallFacts, carrier: Carrier, tenant: TenantRouting) -> CallerId:
    anonymous = CallerId(None, "anonymous", hidden=True)
    if _asks_privacy(facts.privacy):
        return anonymous
    # A carrier is trusted for the caller's identity: its PAI first, else its From.
    claimed = facts.pai_user if facts.pai_user else facts.from_user
    number = _e164_or_none(unquote(claimed), carrier.country) if claimed else None
    if number is None:
        return anonymous
    if tenant.display_form == "e164":
        return CallerId(number, number, hidden=False)
    return CallerId(number, numbers.national_form(number, tenant.country), hidden=False)


def _outbound(
    facts: CallFacts,
    tenant: TenantRouting,
    user: UserRouting,
    carriers: Carriers,
    media: str | None,
) -> RoutePlan:
    dialled = unquote(facts.dialled).strip()
    if dialled == service_codes.VOICEMAIL_ACCESS:
        return _mailbox_access(facts, tenant, user, carriers, media)
    if (mailbox := service_codes.mailbox_access(dialled)) is not None:
        if mailbox not in tenant.users:
            return Reject(404, "Not Found: no such mailbox")
        return _mailbox_access(facts, tenant, user, carriers, media, mailbox=mailbox)
    service = service_codes.parse(dialled)
    if service is not None:
        return (
            Reject(482, "Loop Detected")
            if facts.failed
            else Service(service, tenant.slug, user.extension)
        )
    hide_this_call = dialled.startswith(HIDE_PREFIX)
    if hide_this_call:
        dialled = dialled[len(HIDE_PREFIX) :]
    if not dialled:
        return Reject(484, "Address Incomplete")

    identity = caller_number(tenant, user)
    if numbers.is_emergency(dialled, tenant.country):
        code = phonenumbers.country_code_for_region(tenant.country)
        # Emergency services must be able to call back: never hidden.
        return _to_carriers("emergency", f"+{code}{dialled}", identity, False, tenant, carriers)

    internal = _extension(tenant, dialled)
    if internal is not None:
        from_ = NameAddr(_clean_display(user.name), f"sip:{user.extension}@{tenant.sip_domain}")
        caller = CallerId(None, user.extension, hidden=False)
        call = _Call(facts, tenant, carriers, "internal", caller, from_, media=media)
        return _follow(call, internal)

    number = _dialled_number(dialled, tenant.country)
    if number is None:
        if _is_extension_shaped(dialled):
            return Reject(404, "Extension not found")
        if re.fullmatch(r"\+?[0-9]*", dialled):
            return Reject(484, "Address Incomplete")
        return Reject(404, "Not Found")
    blocked = _blocked_destination(number, tenant, user.outbound)
    if blocked is not None:
        return blocked
    if identity is None:
        return Reject(403, "Forbidden: no number to call out with (user or tenant main number)")
    hidden = hide_this_call or user.hide_caller_id
    if facts.failed:
        return RelayFailure()
    brake = _spend_brake(facts, tenant, None, number)
    if isinstance(brake, Reject):
        return brake
    route = _to_carriers("outbound", number, identity, hidden, tenant, carriers)
    return replace(route, budget=brake) if isinstance(route, Route) else route


def _mailbox_access(
    facts: CallFacts,
    tenant: TenantRouting,
    user: UserRouting,
    carriers: Carriers,
    media: str | None,
    *,
    mailbox: str | None = None,
) -> RoutePlan:
    """``*1233``: the caller's own mailbox (the extension is the authenticated caller's);
    ``*1233*EXT#``: mailbox EXT of the caller's own tenant, which its PIN opens like any
    (a shared mailbox: a user without phones, such as a company voicemail 999). Never
    another tenant's. Nothing follows a failure: the caller hears it."""
    if facts.failed:
        return RelayFailure()
    from_ = NameAddr(_clean_display(user.name), f"sip:{user.extension}@{tenant.sip_domain}")
    caller = CallerId(None, user.extension, hidden=False)
    call = _Call(facts, tenant, carriers, "internal", caller, from_, media=media)
    target = mailbox or user.extension
    step = _media_step(call, f"{MAILBOX_ACCESS_PREFIX}{target}", "voicemail")
    return step.route if isinstance(step, _Step) else step


def _extension(tenant: TenantRouting, dialled: str) -> Destination | None:
    """What an extension of the tenant names: a user, a hunt group, a menu, a queue or an
    announcement."""
    if dialled in tenant.users:
        return ToUser(dialled)
    if dialled in tenant.groups:
        return ToGroup(dialled)
    if dialled in tenant.menus:
        return ToMenu(dialled)
    if dialled in tenant.queues:
        return ToQueue(dialled)
    if dialled in tenant.announcements:
        return ToAnnouncement(dialled)
    return None


def _from_media(
    facts: CallFacts, tenant: TenantRouting, carriers: Carriers, media: str | None
) -> RoutePlan:
    """The media application leaving a menu: ``ivr-<menu>-<key>`` or ``-default`` goes
    where the menu says; digits are an extension the caller dialled in the menu. The
    caller is the one the media application was sent (From, and PAI for the number)."""
    dialled = unquote(facts.dialled).strip()
    choice = ivr.parse_request_user(dialled)
    queue_call = queues.parse_request_user(dialled)
    dest: Destination | None
    if isinstance(queue_call, queues.AgentOffer):
        return _agent_offer(facts, tenant, carriers, media, queue_call)
    if isinstance(queue_call, queues.QueueFailover):
        queue = tenant.queues.get(queue_call.queue)
        if queue is None:
            return Reject(404, "Number not in use")
        if queue.failover is None:
            return Reject(404, "Not Found: the queue has no failover destination")
        dest = queue.failover
    elif choice is not None:
        menu = tenant.menus.get(choice[0])
        if menu is None:
            return Reject(404, "Number not in use")
        key = choice[1]
        dest = menu.default if key == ivr.DEFAULT else menu.keys.get(key)
        if dest is None:
            return Reject(404, "Not Found: nothing set for this menu key")
    else:
        dest = _extension(tenant, dialled)
        if dest is None:
            return Reject(404, "Extension not found")
    caller = _media_caller(facts, tenant)
    if caller.hidden:
        from_ = NameAddr(ANONYMOUS_DISPLAY, ANONYMOUS_URI)
    else:
        from_ = NameAddr(
            _clean_display(facts.from_display), f"sip:{caller.shown}@{tenant.sip_domain}"
        )
    # A colleague who dialled the menu is still a colleague: inbound blocks are for
    # callers from outside.
    kind: Literal["internal", "inbound"] = (
        "internal" if caller.number is None and facts.from_user in tenant.users else "inbound"
    )
    call = _Call(facts, tenant, carriers, kind, caller, from_, media=media)
    return _follow(call, dest)


def _agent_offer(
    facts: CallFacts,
    tenant: TenantRouting,
    carriers: Carriers,
    media: str | None,
    offer: queues.AgentOffer,
) -> RoutePlan:
    """The media application offering a queue's caller to one agent: that user's phones
    ring, for a little longer than the queue's ring time (the media application cancels
    first), and nothing else happens when they do not answer: no forwards, no mailbox;
    the queue makes its next offer. An agent in do-not-disturb is busy."""
    queue = tenant.queues.get(offer.queue)
    if queue is None:
        return Reject(404, "Number not in use")
    user = tenant.users.get(offer.agent)
    if offer.agent not in queue.agents or user is None:
        return Reject(404, "Not Found: not an agent of this queue")
    if user.dnd:
        return Reject(486, "Busy Here: do not disturb")
    caller = _media_caller(facts, tenant)
    if caller.hidden:
        shown = NameAddr(ANONYMOUS_DISPLAY, ANONYMOUS_URI)
    else:
        shown = NameAddr(
            _clean_display(f"{queue.name}: {facts.from_display or caller.shown}")
            if queue.name
            else _clean_display(facts.from_display),
            f"sip:{caller.shown}@{tenant.sip_domain}",
        )
    kind: Literal["internal", "inbound"] = (
        "internal" if caller.number is None and facts.from_user in tenant.users else "inbound"
    )
    if facts.failed:
        return RelayFailure()  # the one step there is failed: the queue makes its next offer
    call = _Call(facts, tenant, carriers, kind, caller, shown, media=media)
    ring_ms = (queue.ring_s + AGENT_RING_MARGIN_S) * 1000
    return Route(kind, (_user_branch(call, user, shown, ring_ms),), caller)


AGENT_RING_MARGIN_S = 5
"""Kamailio's ring time for an agent over the queue's: the media application's CANCEL
at the queue's ring time is what ends an offer, this is only the backstop."""


def _media_caller(facts: CallFacts, tenant: TenantRouting) -> CallerId:
    """The caller as the media application passes it on: the number in PAI (provd put
    it there on the way in), what the callee is shown in From."""
    if _asks_privacy(facts.privacy) or facts.from_user in ("", "anonymous"):
        return CallerId(None, "anonymous", hidden=True)
    number = _e164_or_none(unquote(facts.pai_user), tenant.country) if facts.pai_user else None
    if number is not None and number.startswith("+"):
        shown = number if tenant.display_form == "e164" else None
        return CallerId(
            number, shown or numbers.national_form(number, tenant.country), hidden=False
        )
    return CallerId(None, _clean_display(unquote(facts.from_user)), hidden=False)


def _from_trunk(
    facts: CallFacts,
    tenant: TenantRouting,
    trunk: TrunkRouting,
    address: str,
    carriers: Carriers,
) -> RoutePlan:
    """A customer's PBX calling out. The number may be dialled in any notation of the
    tenant's country (the trunk's own format is one of them) and leaves in E.164; the
    caller ID is the PBX's P-Asserted-Identity, only ever one of the trunk's numbers."""
    if not trunks.allows(trunk.networks, address):
        return Reject(403, "Forbidden: address not allowed for this trunk")
    if facts.failed:
        return RelayFailure()
    channels = Channels(f"{tenant.slug}/{trunk.name}", trunk.channels)
    dialled = unquote(facts.dialled).strip()
    identity = _trunk_caller_id(facts, tenant, trunk)
    if numbers.is_emergency(dialled, tenant.country):
        code = phonenumbers.country_code_for_region(tenant.country)
        emergency = identity if isinstance(identity, str) else _owned(tenant, trunk.main_number)
        route = _to_carriers("emergency", f"+{code}{dialled}", emergency, False, tenant, carriers)
        return replace(route, channels=channels) if isinstance(route, Route) else route
    number = _dialled_number(dialled, tenant.country)
    if number is None:
        if re.fullmatch(r"\+?[0-9]*", dialled):
            return Reject(484, "Address Incomplete")
        return Reject(404, "Not Found")
    blocked = _blocked_destination(number, tenant, trunk.outbound)
    if blocked is not None:
        return blocked
    if isinstance(identity, Reject):
        return identity
    brake = _spend_brake(facts, tenant, trunk, number)
    if isinstance(brake, Reject):
        return brake
    route = _to_carriers(
        "outbound", number, identity, _asks_privacy(facts.privacy), tenant, carriers
    )
    return replace(route, channels=channels, budget=brake) if isinstance(route, Route) else route


def _trunk_caller_id(facts: CallFacts, tenant: TenantRouting, trunk: TrunkRouting) -> str | Reject:
    claimed = unquote(facts.pai_user) if facts.pai_user else ""
    number = _e164_or_none(claimed, tenant.country) if claimed else None
    if number is not None and number in trunk.caller_ids and number in tenant.numbers:
        return number
    if trunk.caller_id_policy == "refuse":
        if number is None:
            return Reject(403, "Forbidden: no caller ID (P-Asserted-Identity) from the trunk")
        return Reject(403, "Forbidden: caller ID not allowed on this trunk")
    main = _owned(tenant, trunk.main_number)
    if main is None:
        return Reject(403, "Forbidden: the trunk has no main number to call out with")
    return main


BLOCKED_REASON_PREFIX = "Forbidden: destination blocked: "
"""The SIP reason of a call the outbound policy refuses, followed by the verdict's
reason (``premium``, ``not in whitelist``...): stable text that call records read."""


def _blocked_destination(
    number: str, tenant: TenantRouting, own: outbound_policy.Policy
) -> Reject | None:
    """403 when the tenant's policy or the caller's own (user, trunk) refuses ``number``
    (E.164, not an emergency number: those are routed before this is asked)."""
    verdict = outbound_policy.verdict(number, tenant.country, tenant.outbound, own)
    if isinstance(verdict, outbound_policy.Blocked):
        return Reject(403, BLOCKED_REASON_PREFIX + verdict.reason)
    return None


def _spend_brake(
    facts: CallFacts, tenant: TenantRouting, trunk: TrunkRouting | None, number: str
) -> Reject | Budget | None:
    """403 once a spend or call limit of the tenant (or the calling trunk) is reached;
    else the call's budget, None when it cannot be priced (no rate: nothing to cut by).
    Emergency numbers are routed before this is asked."""
    zone = limits.zone_of(tenant.timezone)
    levels = [limits.Standing("tenant", tenant.limits, tenant.usage)]
    if trunk is not None:
        levels.append(limits.Standing(f"trunk:{trunk.name}", trunk.limits, trunk.usage))
    refusal = limits.verdict(levels, facts.at, zone)
    if refusal is not None:
        return Reject(403, refusal.reason)
    left = limits.remaining(levels, facts.at, zone)
    if left is None or tenant.rates is None:
        return None
    rate = tenant.rates.rate_for(tenant.slug, number, destination_type(number, tenant.country))
    if rate is None or rate.price_per_minute <= 0:
        return None  # cnxcc needs a price per second to count down by
    increment = rate.increment or rating.PER_SECOND
    return Budget(
        key=tenant.slug if trunk is None else f"{tenant.slug}/{trunk.name}",
        remaining=left,
        connect=rate.setup_fee,
        per_second=rate.price_per_minute / 60,
        initial_pulse=increment.first,
        final_pulse=increment.then,
    )


def _owned(tenant: TenantRouting, number: str | None) -> str | None:
    return number if number is not None and number in tenant.numbers else None


def caller_number(tenant: TenantRouting, user: UserRouting) -> str | None:
    """The number a user's outside calls assert: its own first, else the tenant's main
    number; only ever one the tenant owns."""
    for number in user.numbers:
        if number in tenant.numbers:
            return number
    if tenant.main_number is not None and tenant.main_number in tenant.numbers:
        return tenant.main_number
    return None


# -- steps: what rings now, and what follows when it fails ---------------------------


@dataclass(frozen=True)
class _Call:
    """What every step of one call shares."""

    facts: CallFacts
    tenant: TenantRouting
    carriers: Carriers
    kind: Literal["internal", "inbound"]
    caller: CallerId
    from_: NameAddr
    """The From the callee's phone shows (a group's name goes in front of its display)."""
    diverted_by: UserRouting | None = None
    """The first user whose forwarding sent the call on: its number is the caller ID
    (and the Diversion) toward a carrier."""
    reason: str = ""
    called: str | None = None
    """The tenant's number an inbound call came in on."""
    media: str | None = None
    """The media application's ``host:port`` (None: menus are unavailable)."""


@dataclass(frozen=True)
class _Step:
    route: Route
    then: Callable[[Failure], _Next]


@dataclass(frozen=True)
class _Goto:
    """Continue at ``destination``; ``by``/``reason`` when a user's forwarding sends it."""

    destination: Destination | None
    by: UserRouting | None = None
    reason: str = ""


@dataclass(frozen=True)
class _Resume:
    """Continue with a step computed from the depth of forwards followed so far."""

    resume: Callable[[int], _Resolved]


_Next = _Goto | _Resume | Reject | RelayFailure
_Resolved = _Step | Reject | RelayFailure


def _follow(call: _Call, first: Destination) -> RoutePlan:
    """Resolve ``first`` to a step, then replay each failure into the step after it."""
    depth = 0
    resolved = _resolve(call, first, depth=depth)
    for failure in call.facts.failed:
        if not isinstance(resolved, _Step):
            return RelayFailure()
        nxt = resolved.then(failure)
        if isinstance(nxt, _Resume):
            resolved = nxt.resume(depth)
            continue
        if not isinstance(nxt, _Goto):
            return nxt
        if nxt.destination is None:
            return RelayFailure()
        depth += 1
        if nxt.by is not None:
            call = _diverted(call, nxt.by, nxt.reason)
        resolved = _resolve(call, nxt.destination, depth=depth)
    if isinstance(resolved, _Step):
        return resolved.route
    return resolved


def _diverted(call: _Call, user: UserRouting, reason: str) -> _Call:
    if call.diverted_by is not None:
        return call  # the first diversion is the one the far end is told about
    return replace(call, diverted_by=user, reason=reason)


def _resolve(
    call: _Call, dest: Destination, *, depth: int, seen: frozenset[Destination] = frozenset()
) -> _Resolved:
    """The step that rings ``dest``. Forwards that apply before anything rings (always,
    do-not-disturb) are followed here; every forward or overflow counts toward
    :data:`MAX_FORWARDS`, and coming back to a destination already passed is a loop."""
    if depth > MAX_FORWARDS or dest in seen:
        return Reject(482, "Loop Detected: forwarding goes round")
    seen = seen | {dest}
    tenant = call.tenant
    if isinstance(dest, ToExternal):
        return _external_step(call, dest.number, ring_ms=PSTN_RING_TIMEOUT_MS)
    if isinstance(dest, ToScheduled):
        route = tenant.routes.get(dest.name)
        schedule = tenant.schedules.get(route.schedule) if route is not None else None
        if route is None or schedule is None:
            return Reject(404, "Number not in use")
        state = schedule.state_at(call.facts.at)
        chosen = {"open": route.open, "closed": route.closed, "holiday": route.holiday}[state]
        if state == "holiday" and chosen is None:
            chosen = route.closed
        if chosen is None:
            return Reject(480, f"Temporarily Unavailable: {state}")
        return _resolve(call, chosen, depth=depth + 1, seen=seen)
    if isinstance(dest, ToGroup):
        group = tenant.groups.get(dest.extension)
        if group is None:
            return Reject(404, "Number not in use")
        return _group_step(call, group, _group_members(call, group), 0, depth, seen)
    if isinstance(dest, ToTrunk):
        trunk = tenant.trunks.get(dest.name)
        if trunk is None:
            return Reject(404, "Number not in use")
        return _trunk_step(call, trunk, 0, depth, seen)
    if isinstance(dest, ToMenu):
        if dest.extension not in tenant.menus:
            return Reject(404, "Number not in use")
        return _media_step(call, f"{ivr.SERVICE_PREFIX}{dest.extension}", "ivr")
    if isinstance(dest, ToVoicemail):
        if dest.extension not in tenant.users:
            return Reject(404, "Number not in use")
        return _media_step(call, f"{VOICEMAIL_PREFIX}{dest.extension}", "voicemail")
    if isinstance(dest, ToQueue):
        if dest.extension not in tenant.queues:
            return Reject(404, "Number not in use")
        return _media_step(call, queues.request_user(dest.extension), "queue")
    if isinstance(dest, ToAnnouncement):
        if dest.extension not in tenant.announcements:
            return Reject(404, "Number not in use")
        return _media_step(call, f"{ANNOUNCEMENT_PREFIX}{dest.extension}", "announcement")
    if isinstance(dest, ToUser):
        user = tenant.users.get(dest.extension)
        if user is None:
            return Reject(404, "Number not in use")
        if call.kind == "inbound" and _blocked(tenant, user.blocks, call.caller, call.facts.at):
            return Reject(603, "Declined: the caller is blocked")
        fwd = user.forwarding
        if fwd.always is not None:
            diverted = _diverted(call, user, "unconditional")
            return _resolve(diverted, fwd.always, depth=depth + 1, seen=seen)
        if user.dnd:
            if fwd.busy is not None:
                diverted = _diverted(call, user, "user-busy")
                return _resolve(diverted, fwd.busy, depth=depth + 1, seen=seen)
            return Reject(486, "Busy Here: do not disturb")
        ring_ms = fwd.no_answer_after_s * 1000 if fwd.no_answer else tenant.ring_timeout_ms
        branch = _user_branch(call, user, call.from_, ring_ms)
        return _Step(Route(call.kind, (branch,), call.caller, more=True), _user_failure(user))
    assert_never(dest)


def _media_step(call: _Call, service: str, kind: MediaKind) -> _Resolved:
    """The media application answers: ``service`` (the Request-URI user) says what it
    plays, a menu (``ivr-<menu>``), a queue, a mailbox taking a message
    (``vm-<extension>``), a user's access to their own (``vmbox-<extension>``) or an
    announcement (``ann-<extension>``); ``kind`` is the target's. To names the tenant
    (its SIP domain); PAI keeps the caller's number, which the shown From may lack (a
    national form); Diversion says who sent the call on, and why. Whatever a menu does
    next is a new call back through Kamailio."""
    tenant = call.tenant
    if call.media is None:
        return Reject(503, "Service Unavailable: no media service")
    caller = call.caller
    add: tuple[tuple[str, str], ...] = ()
    if not caller.hidden and caller.number is not None:
        add = (("P-Asserted-Identity", f"<sip:{caller.number}@{tenant.sip_domain}>"),)
    if call.diverted_by is not None:
        by = call.diverted_by.extension
        reason = call.reason or "unknown"
        add += (("Diversion", f"<sip:{by}@{tenant.sip_domain}>;reason={reason}"),)
    branch = Branch(
        target=MediaTarget(kind, f"sip:{service}@{call.media}", f"sip:{call.media}"),
        headers=HeaderEdits(
            add=add, from_=call.from_, to=NameAddr("", f"sip:{service}@{tenant.sip_domain}")
        ),
        setup_timeout_ms=SETUP_TIMEOUT_MS,
        ring_timeout_ms=SETUP_TIMEOUT_MS,
        on_failure=GiveUp(),
    )
    return _Step(Route(call.kind, (branch,), caller), lambda _failure: RelayFailure())


def _blocked(
    tenant: TenantRouting, blocks: tuple[Block, ...], caller: CallerId, at: datetime
) -> bool:
    for block in blocks:
        if not block.matches(caller):
            continue
        if block.when is None:
            return True
        schedule = tenant.schedules.get(block.when[0])
        if schedule is not None and schedule.state_at(at) == block.when[1]:
            return True
    return False


def _user_failure(user: UserRouting) -> Callable[[Failure], _Next]:
    fwd = user.forwarding

    def then(failure: Failure) -> _Next:
        if failure.unregistered:
            if fwd.unreachable is not None:
                return _Goto(fwd.unreachable, user, "unavailable")
            return Reject(480, "Temporarily Unavailable")
        if failure.status in BUSY_STATUSES and fwd.busy is not None:
            return _Goto(fwd.busy, user, "user-busy")
        no_answer = failure.timeout or failure.status in NO_ANSWER_STATUSES
        if no_answer and fwd.no_answer is not None:
            return _Goto(fwd.no_answer, user, "no-answer")
        return RelayFailure()

    return then


def _group_members(call: _Call, group: GroupRouting) -> tuple[str, ...]:
    """Who to ring, in this call's order. Users on do-not-disturb or no longer there are
    skipped; a total wait shorter than one ring per member rings fewer members."""
    users = call.tenant.users
    members = [m for m in group.members if m.startswith("+") or (m in users and not users[m].dnd)]
    if group.policy == "circular" and group.last_answered in members:
        i = members.index(group.last_answered) + 1
        members = members[i:] + members[:i]
    elif group.policy == "longest_idle":
        never = datetime.min.replace(tzinfo=UTC)
        members.sort(key=lambda m: group.idle_since.get(m, never))  # stable
    if group.policy != "simultaneous" and group.total_wait_s > 0:
        members = members[: max(1, group.total_wait_s // group.ring_s)]
    return tuple(members)


def _group_step(
    call: _Call,
    group: GroupRouting,
    members: tuple[str, ...],
    index: int,
    depth: int,
    seen: frozenset[Destination],
) -> _Resolved:
    """Ring ``members[index]`` (or all members at once, simultaneous), then the next,
    then the overflow."""

    def overflow() -> _Resolved:
        if group.overflow is None:
            return Reject(480, "Temporarily Unavailable: nobody in the group answered")
        return _resolve(call, group.overflow, depth=depth + 1, seen=seen)

    display = _clean_display(f"{group.name}: {call.from_.display or call.caller.shown}")
    from_ = NameAddr(display, call.from_.uri)
    users = call.tenant.users

    if group.policy == "simultaneous":
        ring_ms = (group.total_wait_s or group.ring_s) * 1000
        branches = tuple(
            _user_branch(call, users[m], from_, ring_ms) for m in members if m in users
        )
        if not branches:
            return overflow()
        route = Route(
            call.kind, branches, call.caller, mode="parallel", more=True, group=group.extension
        )
        return _Step(route, lambda _f: _Resume(lambda _d: overflow()))

    if index >= len(members):
        return overflow()
    member = members[index]

    def next_member(_failure: Failure) -> _Next:
        return _Resume(lambda _d: _group_step(call, group, members, index + 1, depth, seen))

    if member.startswith("+"):
        step = _external_step(call, member, ring_ms=group.ring_s * 1000, from_=from_)
        if not isinstance(step, _Step):
            return _group_step(call, group, members, index + 1, depth, seen)
        route = step.route
    else:
        route = Route(
            call.kind, (_user_branch(call, users[member], from_, group.ring_s * 1000),), call.caller
        )
    route = replace(route, more=True, group=group.extension, member=member)
    return _Step(route, next_member)


TRUNK_FAILOVER_STATUSES = frozenset({408, 480, 500, 502, 503, 504})
"""A trunk's PBX that answers with one of these (or not at all) is not there: the next
account, then the failover. Busy or declined is the PBX's answer for the call."""


def _trunk_step(
    call: _Call, trunk: TrunkRouting, index: int, depth: int, seen: frozenset[Destination]
) -> _Resolved:
    """Ring the trunk's PBX through account ``index`` (primary, secondary, then its
    static address), and on no answer the next one, then the trunk's failover."""
    tenant = call.tenant
    targets: list[Target] = [
        AorTarget(account, f"sip:{account}@{tenant.sip_domain}") for account in trunk.accounts
    ]
    called = call.called or ""
    dialled = trunks.format_number(called, trunk.number_format, tenant.country) if called else ""
    if trunk.address is not None:
        targets.append(
            PbxTarget(trunk.name, f"sip:{dialled}@{trunk.address}", f"sip:{trunk.address}")
        )
    if index >= len(targets):
        if trunk.failover is None:
            return Reject(480, "Temporarily Unavailable: the trunk did not answer")
        return _resolve(call, trunk.failover, depth=depth + 1, seen=seen)

    caller = call.caller
    if caller.hidden or caller.number is None:
        from_ = NameAddr(ANONYMOUS_DISPLAY, ANONYMOUS_URI)
        add: tuple[tuple[str, str], ...] = ()
    else:
        shown = trunks.format_number(caller.number, trunk.number_format, tenant.country)
        uri = f"sip:{shown}@{tenant.sip_domain}"
        from_ = NameAddr(call.from_.display, uri)
        add = (("P-Asserted-Identity", f"<{uri}>"),)
    branch = Branch(
        target=targets[index],
        headers=HeaderEdits(
            add=add, from_=from_, to=NameAddr("", f"sip:{dialled}@{tenant.sip_domain}")
        ),
        setup_timeout_ms=SETUP_TIMEOUT_MS,
        ring_timeout_ms=trunk.ring_s * 1000,
        on_failure=GiveUp(),
        request_user=dialled if isinstance(targets[index], AorTarget) else None,
    )
    route = Route(
        call.kind,
        (branch,),
        caller,
        more=True,
        channels=Channels(f"{tenant.slug}/{trunk.name}", trunk.channels),
    )

    def then(failure: Failure) -> _Next:
        if failure.unregistered or failure.timeout or failure.status in TRUNK_FAILOVER_STATUSES:
            return _Resume(lambda _d: _trunk_step(call, trunk, index + 1, depth, seen))
        return RelayFailure()

    return _Step(route, then)


def _external_step(
    call: _Call, number: str, *, ring_ms: int, from_: NameAddr | None = None
) -> _Resolved:
    """An internal or inbound call sent out again: a forward, a group's outside member
    or overflow, a number plan's outside destination. The caller ID toward the carrier
    is one the tenant owns (the forwarding user's, else the number called, else the
    main number); the original caller's number goes in From where there is one, and
    Diversion names who forwarded."""
    tenant = call.tenant
    by = call.diverted_by
    # A forward is held to the forwarding user's own policy too: forwarding must not
    # reach what the user may not dial.
    blocked = _blocked_destination(
        number, tenant, by.outbound if by is not None else outbound_policy.DEFAULT
    )
    if blocked is not None:
        return blocked
    # A forward out spends the tenant's money too, but runs without a budget: its
    # dialog may already exist (a failure_route's step), which cnxcc cannot join.
    brake = _spend_brake(call.facts, tenant, None, number)
    if isinstance(brake, Reject):
        return brake
    identity = caller_number(tenant, by) if by is not None else None
    if identity is None and call.called in tenant.numbers:
        identity = call.called  # the number the caller dialled: the tenant's own
    if identity is None and tenant.main_number in tenant.numbers:
        identity = tenant.main_number
    if identity is None:
        return Reject(403, "Forbidden: no number to forward out with (user or main number)")
    route = _to_carriers("outbound", number, identity, False, tenant, call.carriers, ring_ms)
    if not isinstance(route, Route):
        return route
    extra: list[tuple[str, str]] = []
    if by is not None:
        diverter = caller_number(tenant, by) or f"{by.extension}"
        extra.append(
            ("Diversion", f"<sip:{diverter}@{tenant.sip_domain}>;reason={call.reason or 'unknown'}")
        )
    shown_from = (
        NameAddr(
            _clean_display(call.from_.display), f"sip:{call.caller.number}@{tenant.sip_domain}"
        )
        if call.caller.number is not None and not call.caller.hidden
        else None
    )
    branches = tuple(
        replace(
            b,
            headers=replace(
                b.headers,
                add=b.headers.add + tuple(extra),
                from_=shown_from or b.headers.from_,
            ),
        )
        for b in route.branches
    )
    return _Step(replace(route, branches=branches, more=False), lambda _f: RelayFailure())


def _to_carriers(
    kind: Literal["outbound", "emergency"],
    number: str,
    identity: str | None,
    hidden: bool,
    tenant: TenantRouting,
    carriers: Carriers,
    ring_ms: int = PSTN_RING_TIMEOUT_MS,
) -> Route | Reject:
    ordered = carriers.in_order()
    if not ordered:
        return Reject(503, "No carrier available")
    add: list[tuple[str, str]] = []
    if identity is not None:
        add.append(("P-Asserted-Identity", f"<sip:{identity}@{tenant.sip_domain}>"))
    if identity is None or hidden:
        from_ = NameAddr(ANONYMOUS_DISPLAY, ANONYMOUS_URI)
    else:
        from_ = NameAddr("", f"sip:{identity}@{tenant.sip_domain}")
    if hidden:
        add.append(("Privacy", "id"))
    branches = []
    for i, carrier in enumerate(ordered):
        uri = f"sip:{number}@{carrier.domain or carrier.address}"
        on_failure: OnFailure = (
            NextBranch(carrier.failover_on) if i < len(ordered) - 1 else GiveUp()
        )
        branches.append(
            Branch(
                target=CarrierTarget(carrier.name, uri, _dst_uri(carrier)),
                headers=HeaderEdits(add=tuple(add), from_=from_, to=NameAddr("", uri)),
                setup_timeout_ms=carrier.setup_timeout_ms,
                ring_timeout_ms=ring_ms,
                on_failure=on_failure,
            )
        )
    caller = CallerId(identity, "anonymous" if hidden else (identity or "anonymous"), hidden)
    return Route(kind, tuple(branches), caller)


def _user_branch(call: _Call, user: UserRouting, from_: NameAddr, ring_ms: int) -> Branch:
    tenant = call.tenant
    add: tuple[tuple[str, str], ...] = ()
    if call.diverted_by is not None:
        by = call.diverted_by
        add = (
            (
                "Diversion",
                f"<sip:{by.extension}@{tenant.sip_domain}>;reason={call.reason or 'unknown'}",
            ),
        )
    return Branch(
        target=AorTarget(user.extension, f"sip:{user.extension}@{tenant.sip_domain}"),
        headers=HeaderEdits(add=add, from_=from_),
        setup_timeout_ms=SETUP_TIMEOUT_MS,
        ring_timeout_ms=ring_ms,
        on_failure=GiveUp(),
    )


def _dst_uri(carrier: Carrier) -> str:
    suffix = "" if carrier.transport == "udp" else f";transport={carrier.transport}"
    return f"sip:{carrier.address}{suffix}"


def _dialled_number(dialled: str, country: str) -> str | None:
    """E.164 for what a user dialled, or None.

    A number of the tenant's own country must be valid (in a range its plan assigns:
    ``020123`` has a possible length but is incomplete); another country's only needs
    a possible length, as our copy of a far plan may lag its regulator and the carrier
    knows better.
    """
    try:
        return numbers.parse_number(dialled, country, "dialled")
    except InvalidInput:
        pass
    number = _e164_or_none(dialled, country)
    if (
        number is None
        or phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) == country
    ):
        return None
    return number


def _e164_or_none(text: str, country: str) -> str | None:
    try:
        number = numbers.parse_number(text, country, "number", require_valid=False)
    except InvalidInput:
        return None
    return number if _E164_SHAPE.fullmatch(number) else None


def _is_extension_shaped(text: str) -> bool:
    try:
        check_extension(text)
    except InvalidInput:
        return False
    return text.strip() == text


def _asks_privacy(privacy: str | None) -> bool:
    if not privacy:
        return False
    tokens = {t.strip().lower() for t in re.split(r"[;,]", privacy)}
    return bool(tokens & PRIVACY_HIDING)


def _clean_display(name: str) -> str:
    """A display name safe to put between quotes: printable, no quote or backslash."""
    cleaned = "".join(c for c in name if c.isprintable() and c not in '"\\')
    return cleaned.strip()[:MAX_DISPLAY_NAME]


def _status_matches(pattern: str, status: int) -> bool:
    text = str(status)
    return len(text) == 3 and all(p in ("x", s) for p, s in zip(pattern, text, strict=True))


# ---- the document Kamailio consumes ----------------------------------------------


def status_regex(patterns: tuple[str, ...]) -> str:
    """``("408", "5xx")`` as t_check_status() wants it: ``408|5[0-9][0-9]``."""
    return "|".join(p.replace("x", "[0-9]") for p in patterns)


def plan_to_json(plan: RoutePlan) -> dict[str, object]:
    """The plan as the JSON document described in this module's docstring."""
    if isinstance(plan, Reject):
        return {"version": "1.0", "action": "reject", "code": plan.code, "reason": plan.reason}
    if isinstance(plan, RelayFailure):
        return {"version": "1.0", "action": "relay"}
    if isinstance(plan, Service):
        raise ValueError("a service code is carried out by provd, never sent to Kamailio")
    doc: dict[str, object] = {
        "version": "1.0",
        "action": "route",
        "kind": plan.kind,
        "routing": plan.mode,
        "target": _target_kind(plan.branches[0].target),
        "caller_id": {
            "number": plan.caller_id.number,
            "shown": plan.caller_id.shown,
            "hidden": plan.caller_id.hidden,
        },
        "routes": [_branch_json(b) for b in plan.branches],
        "more": int(plan.more),
    }
    if plan.group is not None:
        doc["group"] = plan.group
    if plan.member is not None:
        doc["member"] = plan.member
    if plan.channels is not None:
        doc["channels_key"] = plan.channels.key
        doc["channels_limit"] = plan.channels.limit
    if plan.budget is not None:
        # Flat, as strings: the cfg hands them to cnxcc_set_max_credit as they are.
        budget = plan.budget
        doc["credit_key"] = budget.key
        doc["credit_max"] = _amount(budget.remaining)
        doc["credit_connect"] = _amount(budget.connect)
        doc["credit_per_second"] = _amount(budget.per_second)
        doc["credit_initial_pulse"] = str(budget.initial_pulse)
        doc["credit_final_pulse"] = str(budget.final_pulse)
    users = {b.request_user for b in plan.branches}
    if users != {None}:
        if len(users) > 1:
            raise ValueError("the branches of a plan must share their Request-URI user")
        doc["ruri_user"] = plan.branches[0].request_user
    if plan.mode == "serial":
        doc.update(_failover_keys(plan.branches))
    else:
        doc.update(_parallel_keys(plan.branches))
    return doc


def _amount(value: Decimal) -> str:
    # cnxcc reads a double: plain notation, enough places for a per-second price.
    return f"{value.quantize(Decimal('0.000001')):f}"


def _parallel_keys(branches: tuple[Branch, ...]) -> dict[str, object]:
    """rtjson applies per-route headers and timers to serial routes only: a parallel
    plan's branches share theirs, given flat for the cfg to apply to every branch."""
    first = branches[0]
    same = all(
        b.headers == first.headers
        and b.setup_timeout_ms == first.setup_timeout_ms
        and b.ring_timeout_ms == first.ring_timeout_ms
        for b in branches
    )
    if not same:
        raise ValueError("the branches of a parallel plan must share headers and timers")
    keys: dict[str, object] = {
        "fr_timer": first.setup_timeout_ms,
        "fr_inv_timer": first.ring_timeout_ms,
    }
    if first.headers.from_ is not None:
        keys["from_display"] = _quoted(first.headers.from_.display)
        keys["from_uri"] = first.headers.from_.uri
    if first.headers.add:
        keys["extra"] = "".join(f"{n}: {v}\r\n" for n, v in first.headers.add)
    return keys


def _failover_keys(branches: tuple[Branch, ...]) -> dict[str, object]:
    """``next_status``/``next_timeout``: when a failed branch moves on to the next.

    Kamailio's json module reads top-level keys only, so the per-route ``on_failure``
    is summarised here. Every branch but the last must then move on by one rule; a
    plan that needs per-branch rules (none today) is refused rather than run wrongly.
    """
    rules = {b.on_failure for b in branches[:-1]}
    if not rules:
        return {}
    if len(rules) > 1 or not isinstance(branches[0].on_failure, NextBranch):
        raise ValueError("every branch but the last must move on by the same rule")
    [rule] = rules
    assert isinstance(rule, NextBranch)
    return {"next_status": status_regex(rule.statuses), "next_timeout": int(rule.on_timeout)}


def _target_kind(target: Target) -> str:
    if isinstance(target, CarrierTarget):
        return "carrier"
    if isinstance(target, AorTarget):
        return "aor"
    if isinstance(target, PbxTarget):
        return "pbx"
    if isinstance(target, MediaTarget):
        return "media"
    assert_never(target)


def _branch_json(branch: Branch) -> dict[str, object]:
    target = branch.target
    out: dict[str, object] = {"uri": target.uri, "target": _target_kind(target)}
    if isinstance(target, CarrierTarget):
        out.update(dst_uri=target.dst_uri, carrier=target.carrier)
    elif isinstance(target, AorTarget):
        out.update(extension=target.extension)
    elif isinstance(target, PbxTarget):
        out.update(dst_uri=target.dst_uri, trunk=target.trunk)
    elif isinstance(target, MediaTarget):
        out.update(dst_uri=target.dst_uri, service=target.service)
    else:
        assert_never(target)
    headers: dict[str, object] = {}
    if branch.headers.from_ is not None:
        headers["from"] = _name_addr_json(branch.headers.from_)
    if branch.headers.to is not None:
        headers["to"] = _name_addr_json(branch.headers.to)
    if branch.headers.add:
        headers["extra"] = "".join(f"{n}: {v}\r\n" for n, v in branch.headers.add)
    out["headers"] = headers
    out["remove_headers"] = list(branch.headers.remove)
    out["fr_timer"] = branch.setup_timeout_ms
    out["fr_inv_timer"] = branch.ring_timeout_ms
    on_failure = branch.on_failure
    if isinstance(on_failure, NextBranch):
        out["on_failure"] = {
            "action": "next",
            "status": status_regex(on_failure.statuses),
            "timeout": on_failure.on_timeout,
        }
    elif isinstance(on_failure, GiveUp):
        out["on_failure"] = {"action": "stop"}
    else:
        assert_never(on_failure)
    return out


def _name_addr_json(value: NameAddr) -> dict[str, str]:
    return {"display": _quoted(value.display), "uri": value.uri}


def _quoted(display: str) -> str:
    """A display name as Kamailio's uac module puts it in a header: as given, so quoted
    here (a name such as ``Sales: Jan`` is not a token and must be a quoted string)."""
    return f'"{display}"' if display else ""
