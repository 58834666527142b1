"""Call queues over the API: a tenant admin manages only their own tenant's (another's
answers as a missing one), agents are added, ordered, logged in and out and removed,
the figures come with the callers waiting now, and refusals name the field and write
nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from provd.db.models import AuditEntry, Queue, QueueAgent, Tenant
from provd.media import queue_files
from provd.services import queues
from provd.services.platform import Platform
from provd.services.queues.collector import collect
from tests.conftest import TEST_ACTOR
from tests.services.queues.spool import spool_queue_call
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served


async def _state() -> dict[str, Any]:
    return {
        "audit": await AuditEntry.all().count(),
        "queues": await Queue.all().order_by("id").values(),
        "agents": await QueueAgent.all().order_by("id").values(),
    }


async def test_a_tenant_admin_manages_queues_agents_and_logins_of_their_tenant_only(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        await queues.add_queue(platform, TEST_ACTOR, "globex", "800", "Theirs", agents=["201"])
        queue = await call(
            c.acme, "POST", "/tenants/acme/queues", 201,
            json={"extension": "800", "name": "Support", "strategy": "fewest_calls",
                  "failover": "voicemail:201", "agents": ["201"]},
        )  # fmt: skip
        assert queue["failover"]["text"] == "voicemail:201"
        assert [a["extension"] for a in queue["agents"]] == ["201"]
        put = await call(
            c.acme, "PUT", "/tenants/acme/queues/800", 200,
            json={"name": "Support", "ring_seconds": 20, "announce_position": True},
        )  # fmt: skip
        assert (put["failover"], put["strategy"], put["ring_seconds"]) == (None, "ring_all", 20)
        agents = await call(
            c.acme, "POST", "/tenants/acme/queues/800/agents", 201,
            json={"agent": "202", "position": 1},
        )  # fmt: skip
        assert [a["extension"] for a in agents] == ["202", "201"]
        agents = await call(
            c.acme, "PUT", "/tenants/acme/queues/800/agents", 200, json={"agents": ["201", "202"]}
        )
        assert [a["position"] for a in agents] == [1, 2]
        login = await call(c.acme, "POST", "/tenants/acme/queues/800/agents/202/login", 200)
        assert login == {"agent": "202", "logged_in": True, "changed": ["800"], "unchanged": []}
        [_, second] = await call(c.acme, "GET", "/tenants/acme/queues/800/agents", 200)
        assert second["logged_in"] and second["logged_in_at"]
        await call(
            c.admin, "POST", "/number-blocks", 201, json={"first": "+31201234500", "tenant": "acme"}
        )
        number = await call(
            c.acme, "POST", "/numbers/+31201234500/assign", 200, json={"queue": "800"}
        )
        assert number["use"] == {"kind": "queue", "key": "800", "name": "Support"}

        domain = (await Tenant.get(slug="acme")).sip_domain
        media = platform.data_dir / "pbx" / "media"
        spool_queue_call(media, domain, "800", agent="202", at=datetime.now(UTC))
        await collect(media)
        queue_files.write_live(
            media, datetime.now(UTC),
            {domain: {"800": queue_files.LiveQueue(waiting=2, longest_wait_s=12.0)}},
        )  # fmt: skip
        figures = await call(c.acme, "GET", "/tenants/acme/queues/800/stats?period=7d", 200)
        assert (figures["answered"], figures["waiting"], figures["period"]) == (1, 2, "7d")
        assert figures["agents"][1] == {
            "extension": "202", "name": "acme back", "answered": 1, "talk_s": 30.0,
        }  # fmt: skip

        before = await _state()
        for method, path in (
            ("GET", "/tenants/globex/queues"),
            ("POST", "/tenants/globex/queues"),
            ("GET", "/tenants/globex/queues/800"),
            ("PUT", "/tenants/globex/queues/800"),
            ("DELETE", "/tenants/globex/queues/800"),
            ("GET", "/tenants/globex/queues/800/agents"),
            ("POST", "/tenants/globex/queues/800/agents"),
            ("PUT", "/tenants/globex/queues/800/agents"),
            ("DELETE", "/tenants/globex/queues/800/agents/201"),
            ("POST", "/tenants/globex/queues/800/agents/201/login"),
            ("POST", "/tenants/globex/queues/800/agents/201/logout"),
            ("GET", "/tenants/globex/queues/800/stats"),
        ):
            kw: dict[str, Any] = {}
            if method == "POST" and path.endswith("/queues"):
                kw["json"] = {"extension": "801", "name": "X"}
            elif method == "POST" and path.endswith("/agents"):
                kw["json"] = {"agent": "202"}
            elif method == "PUT" and path.endswith("/agents"):
                kw["json"] = {"agents": ["201"]}
            elif method == "PUT":
                kw["json"] = {"name": "X"}
            message = await refused(c.acme, method, path, 404, "tenant", **kw)
            assert "globex" in message
        await refused(c.acme, "DELETE", "/tenants/acme/queues/800", 400, "extension")
        assert await _state() == before
        await call(c.acme, "POST", "/tenants/acme/queues/800/agents/202/logout", 200)
        await call(c.acme, "DELETE", "/tenants/acme/queues/800/agents/202", 204)
        await call(c.acme, "POST", "/numbers/+31201234500/release", 200)
        await call(c.acme, "DELETE", "/tenants/acme/queues/800", 204)
        assert [q["tenant"] for q in await call(c.admin, "GET", "/tenants/globex/queues", 200)] == [
            "globex"
        ]


_QUEUE = {"extension": "801", "name": "X"}
_REFUSED: list[tuple[str, str, dict[str, Any], int, str]] = [
    ("POST", "/tenants/acme/queues", {"json": _QUEUE | {"extension": "201"}}, 409, "extension"),
    ("POST", "/tenants/acme/queues", {"json": _QUEUE | {"strategy": "loud"}}, 400, "strategy"),
    ("POST", "/tenants/acme/queues", {"json": _QUEUE | {"ring_seconds": "5"}}, 400,
     "ring_seconds"),
    ("POST", "/tenants/acme/queues", {"json": _QUEUE | {"max_wait_seconds": 9}}, 400,
     "max_wait_seconds"),
    ("POST", "/tenants/acme/queues", {"json": _QUEUE | {"failover": "user:299"}}, 404,
     "failover"),
    ("POST", "/tenants/acme/queues", {"json": _QUEUE | {"moh": "gone"}}, 404, "moh"),
    ("POST", "/tenants/acme/queues", {"json": _QUEUE | {"agents": ["201", "201"]}}, 400,
     "agents"),
    ("POST", "/tenants/acme/queues", {"json": _QUEUE | {"colour": "red"}}, 400, "colour"),
    ("PUT", "/tenants/acme/queues/800", {"json": {"name": "X", "failover": "queue:800"}}, 400,
     "failover"),
    ("GET", "/tenants/acme/queues/899", {}, 404, "extension"),
    ("POST", "/tenants/acme/queues/800/agents", {"json": {"agent": "201"}}, 409, "agent"),
    ("POST", "/tenants/acme/queues/800/agents", {"json": {"agent": "299"}}, 404, "agent"),
    ("PUT", "/tenants/acme/queues/800/agents", {"json": {"agents": []}}, 400, "agents"),
    ("DELETE", "/tenants/acme/queues/800/agents/202", {}, 404, "agent"),
    ("POST", "/tenants/acme/queues/800/agents/202/login", {}, 409, "queue"),
    ("GET", "/tenants/acme/queues/800/stats?period=forever", {}, 400, "period"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "kw", "status", "field"), _REFUSED)
async def test_refusals_name_the_field_and_write_nothing(
    served: Served,
    platform: Platform,
    method: str,
    path: str,
    kw: dict[str, Any],
    status: int,
    field: str,
) -> None:
    async with clients(served, platform) as c:
        await queues.add_queue(platform, TEST_ACTOR, "acme", "800", "Support", agents=["201"])
        before = await _state()
        await refused(c.acme, method, path, status, field, **kw)
        assert await _state() == before
