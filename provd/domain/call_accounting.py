"""What a call's record says about it, decided with its route plan.

Kamailio writes the call records itself (the acc module: ``acc_cdrs`` for answered
calls, ``acc`` for the others), but it knows the call only as SIP: which tenant it
belongs to, what kind of call it is and who was called are provd's knowledge. So
each plan step's answer carries them as flat ``acc_*`` keys (the json module reads
top-level keys only); the cfg keeps them in the transaction (AVPs, for the ``acc``
row) and in the dialog (dialog variables, for the CDR written when it ends).

A step planned later (a forward, a group's overflow) replaces the keys: the record
describes the call as it was last routed, which is also what it costs.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from urllib.parse import unquote

from provd.domain import numbers
from provd.domain.call_types import CallType, destination_type
from provd.domain.errors import InvalidInput
from provd.domain.routing import (
    AorTarget,
    CarrierTarget,
    FromCarrier,
    FromTrunk,
    FromUser,
    PbxTarget,
    Reject,
    Route,
    RoutePlan,
    Source,
    TenantRouting,
)
from provd.domain.tenancy import check_extension

MAX_VALUE = 64
"""Kamailio's extra columns are VARCHAR(64): a longer value is cut, never refused."""
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")
_URI_USER = re.compile(r"^sips?:([^@;>]+)@")


@dataclass(frozen=True)
class CallAccount:
    """One call as its record describes it. Empty strings for what does not apply."""

    tenant: str
    call_type: str
    caller: str
    callee: str
    dialled: str
    number: str
    """The tenant's own number the call used: the caller ID shown outside on an
    outbound call, the number dialled on an inbound one; else the user's extension."""
    user: str
    trunk: str
    group: str
    reason: str
    """Why provd refused the call (the plan's reject reason); empty when it did not."""

    def plan_keys(self) -> dict[str, str]:
        """The ``acc_*`` keys of the plan document."""
        return {f"acc_{name}": _clean(value) for name, value in asdict(self).items()}


def account(
    source: Source,
    tenant: TenantRouting | None,
    dialled: str,
    plan: RoutePlan,
    *,
    caller_hint: str = "",
) -> CallAccount | None:
    """The record's facts for ``plan``; None for a call no tenant owns (nobody's call,
    an unknown number) or a service code, which leave no record.

    ``caller_hint`` is the caller's number as the call arrived (PAI, else From): the
    caller of a call from outside.
    """
    if tenant is None or not isinstance(plan, Route | Reject):
        return None
    dialled = unquote(dialled)
    user = source.extension if isinstance(source, FromUser) else ""
    trunk = source.trunk if isinstance(source, FromTrunk) else ""
    if isinstance(source, FromUser):
        caller = source.extension
    elif isinstance(source, FromTrunk) and isinstance(plan, Route) and plan.caller_id.number:
        # The trunk's caller ID as provd checked (or replaced) it, not what the PBX sent.
        caller = plan.caller_id.number
    else:
        caller = _e164(caller_hint, tenant.country) or caller_hint
    if isinstance(plan, Reject):
        call_type = _dialled_type(source, dialled, tenant.country)
        callee = _e164(dialled, tenant.country) or dialled
        number = callee if call_type is CallType.INBOUND else user
        return CallAccount(
            tenant.slug, call_type.value, caller, callee, dialled, number, user, trunk, "",
            plan.reason,
        )  # fmt: skip
    first = plan.branches[0].target
    if plan.channels is not None and not trunk:
        # A step to a customer's PBX: its target is the trunk's account (an AoR) or its
        # address; the channel key ("<tenant>/<trunk>") names the trunk either way.
        trunk = plan.channels.key.partition("/")[2]
    elif isinstance(first, AorTarget) and not user:
        user = first.extension
    if isinstance(first, PbxTarget) and not trunk:
        trunk = first.trunk
    shown = plan.caller_id.number
    if plan.kind == "internal":
        callee = first.extension if isinstance(first, AorTarget) else dialled
        call_type, number = CallType.INTERNAL, user
    elif plan.kind == "inbound":
        callee = _e164(dialled, tenant.country) or dialled
        call_type, number = CallType.INBOUND, callee
    else:
        callee = _uri_user(first.uri) if isinstance(first, CarrierTarget) else dialled
        if plan.kind == "emergency":
            call_type = CallType.EMERGENCY
        else:
            call_type = _outbound_type(callee, tenant.country)
        number = shown or user
    return CallAccount(
        tenant.slug, call_type.value, caller, callee, dialled, number, user, trunk,
        plan.group or "", "",
    )  # fmt: skip


def _dialled_type(source: Source, dialled: str, country: str) -> CallType:
    """A refused call's type, from what was dialled (no plan says where it would go)."""
    if isinstance(source, FromCarrier):
        return CallType.INBOUND
    if numbers.is_emergency(dialled, country):
        return CallType.EMERGENCY
    try:
        check_extension(dialled)
    except InvalidInput:
        pass
    else:
        return CallType.INTERNAL
    e164 = _e164(dialled.removeprefix("#31#"), country)
    return CallType.FIXED if e164 is None else destination_type(e164, country)


def _outbound_type(callee: str, country: str) -> CallType:
    e164 = _e164(callee, country)
    return CallType.FIXED if e164 is None else destination_type(e164, country)


def _e164(text: str, country: str) -> str | None:
    try:
        return numbers.parse_number(text, country, "number", require_valid=False)
    except InvalidInput:
        return None


def _uri_user(uri: str) -> str:
    found = _URI_USER.match(uri)
    return unquote(found.group(1)) if found else ""


def _clean(value: str) -> str:
    return _UNPRINTABLE.sub("", value)[:MAX_VALUE]
