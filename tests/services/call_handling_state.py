"""Everything the call-handling services write, to prove a refusal wrote nothing."""

from __future__ import annotations

from typing import Any

from provd.db.models import (
    AuditEntry,
    HuntGroup,
    HuntGroupMember,
    IncomingBlock,
    PhoneNumber,
    Schedule,
    ScheduledRoute,
    User,
)


async def written() -> dict[str, Any]:
    """Every row of the call-handling tables (and the users' and numbers' call-handling
    columns), and how many audit rows there are."""
    return {
        "audit": await AuditEntry.all().count(),
        "groups": await HuntGroup.all().order_by("id").values(),
        "members": await HuntGroupMember.all().order_by("id").values(),
        "schedules": await Schedule.all().order_by("id").values(),
        "routes": await ScheduledRoute.all().order_by("id").values(),
        "blocks": await IncomingBlock.all().order_by("id").values(),
        "users": await User.all()
        .order_by("id")
        .values(
            "id",
            "extension",
            "forward_always",
            "forward_busy",
            "forward_no_answer",
            "forward_unreachable",
            "forward_no_answer_seconds",
            "dnd",
        ),
        "numbers": await PhoneNumber.all()
        .order_by("id")
        .values("e164", "assigned_user_id", "assigned_group_id", "assigned_route_id"),
    }
