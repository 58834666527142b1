"""The console's queues page: a tenant's queues listed with what is happening now (from
the media application's queue-live.json) and today's figures; add, edit and remove a
queue, add, order, log in and out and remove its agents through the forms, each
audited; refusals shown by field with nothing written; the figures for today and seven
days, per agent; queues offered as destinations and as a number's assignment; a tenant
admin works in their own tenant only."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from provd.db.models import AuditEntry, PhoneNumber, Queue, QueueAgent, Tenant
from provd.media import queue_files
from provd.services import queues
from provd.services.platform import Platform
from provd.services.queues.collector import collect
from tests.conftest import TEST_ACTOR
from tests.services.queues.spool import spool_queue_call
from tests.web.console.conftest import ACME_BLOCK, Console
from tests.web.console.test_groups import fact, text
from tests.web.console.test_numbers import field_error, flashes


def cards(page: str) -> dict[str, str]:
    """Each queue's card by extension."""
    return dict(
        re.findall(r'<section class="card queue"[^>]*data-queue="(\d+)"(.*?)</section>', page, re.S)
    )


def listed(page: str) -> dict[str, list[str]]:
    """The list's rows by extension: name, strategy, waiting, longest, logged in,
    answered today, failover."""
    table = re.search(r'<table class="queues" id="queues-list">(.*?)</table>', page, re.S)
    if table is None:
        return {}
    out = {}
    for ext, row in re.findall(r'<tr data-queue="(\d+)">(.*?)</tr>', table.group(1), re.S):
        out[ext] = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[1:]]
    return out


def agents_of(card: str) -> list[str]:
    table = re.search(r'<table class="agents"[^>]*>(.*?)</table>', card, re.S)
    if table is None:
        return []
    return [
        " ".join(text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[:3])
        for row in re.findall(r"<tr data-agent=\"\d+\">(.*?)</tr>", table.group(1), re.S)
    ]


def figures(card: str, period: str) -> list[str]:
    row = re.search(rf'<tr data-period="{period}">(.*?)</tr>', card, re.S)
    assert row, period
    return [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def form(**changes: str) -> dict[str, str]:
    """The add form as a browser posts it."""
    return {
        "extension": "800",
        "agent": "",
        "name": "Support",
        "strategy": "ring_all",
        "ring_seconds": "15",
        "max_wait_seconds": "300",
        "moh": "",
        "intro": "",
        "periodic": "",
        "periodic_seconds": "40",
        "failover_kind": "none",
        "failover_key": "",
    } | changes


async def snapshot() -> list[object]:
    return [
        await AuditEntry.all().count(),
        await Queue.all().order_by("id").values(),
        await QueueAgent.all().order_by("id").values(),
        await PhoneNumber.all().order_by("id").values(),
    ]


async def test_add_edit_agents_figures_and_remove_through_the_forms(
    alice: Console, platform: Platform
) -> None:
    status, page = await alice.post(
        "/console/queues/acme",
        form(agent="201", strategy="longest_idle", failover_kind="voicemail", failover_key="201"),
    )
    assert status == 200 and "Queue 800 added." in flashes(page)
    assert listed(page) == {
        "800": ["Support", "longest_idle", "0", "—", "0 of 1", "0", "voicemail 201 (Front Desk)"]
    }
    entry = await AuditEntry.filter(action="queue.add").order_by("-id").first()
    assert entry is not None and entry.actor == "web:alice" and entry.object_key == "acme/800"

    _, page = await alice.post("/console/queues/acme/800/agents", {"agent": "202", "position": "1"})
    assert "Agents of queue 800 saved." in flashes(page)
    assert agents_of(cards(page)["800"]) == [
        "1 202 Back Office logged out",
        "2 201 Front Desk logged out",
    ]
    _, page = await alice.post("/console/queues/acme/800/agents", {"order": "201, 202"})
    _, page = await alice.post("/console/queues/acme/800/agents/202/login")
    assert "Agent 202 of queue 800 logged in." in flashes(page)
    assert await AuditEntry.filter(action="queue.login", actor="web:alice").exists()

    # What the media application says is happening, and a caller it answered.
    domain = (await Tenant.get(slug="acme")).sip_domain
    media = platform.data_dir / "pbx" / "media"
    spool_queue_call(media, domain, "800", agent="202", at=datetime.now(UTC), wait_s=8)
    spool_queue_call(media, domain, "800", at=datetime.now(UTC), wait_s=20)
    await collect(media)
    queue_files.write_live(
        media,
        datetime.now(UTC),
        {domain: {"800": queue_files.LiveQueue(3, 42.5, {"202": "talking"})}},
    )
    _, page = await alice.get("/console/queues?tenant=acme")
    assert listed(page)["800"][2:6] == ["3", "42.5 s", "1 of 2", "1"]
    card = cards(page)["800"]
    assert fact(card, "waiting") == "3 (longest 42.5 s)"
    assert agents_of(card) == [
        "1 201 Front Desk logged out",
        "2 202 Back Office logged in on a queue call",
    ]
    assert figures(card, "today") == ["1", "1", "0", "14.0 s", "20.0 s"]
    assert figures(card, "7d") == ["1", "1", "0", "14.0 s", "20.0 s"]
    row = re.search(
        r'<tr data-agent="202">(.*?)</tr>', card.split('class="agent-figures"')[1], re.S
    )
    assert row and text(row.group(1)) == "202 Back Office 1 30.0 s 1 30.0 s"

    edit = form(strategy="fewest_calls", failover_kind="group", failover_key="", ring_seconds="20")
    del edit["extension"], edit["agent"]
    before = await snapshot()
    _, page = await alice.post("/console/queues/acme/800", edit)
    assert field_error(page, "q800-failover-error")  # a group with no extension
    assert '<details class="edit" open>' in page
    assert await snapshot() == before
    edit |= {"failover_kind": "none"}
    _, page = await alice.post("/console/queues/acme/800", edit)
    assert "Queue 800 saved." in flashes(page)
    assert fact(cards(page)["800"], "failover") == "none"
    audited = await AuditEntry.all().count()
    _, page = await alice.post("/console/queues/acme/800", edit)
    assert "Nothing changed." in flashes(page)
    assert await AuditEntry.all().count() == audited

    # Queues are destinations and numbers' assignments elsewhere in the console.
    _, groups_page = await alice.get("/console/groups?tenant=acme")
    assert '<option value="queue">queue</option>' in groups_page
    assert '<option value="800">queue Support</option>' in groups_page
    _, numbers_page = await alice.get("/console/numbers?tenant=acme")
    assert '<option value="queue:800">queue 800 Support</option>' in numbers_page
    _, page = await alice.post(f"/console/numbers/{ACME_BLOCK}/assign", {"target": "queue:800"})
    row = re.search(rf'<tr data-number="\{ACME_BLOCK}">(.*?)</tr>', page, re.S)
    assert row and "in use by queue 800 (Support)" in text(row.group(1))

    before = await snapshot()
    _, page = await alice.post("/console/queues/acme/800/remove")
    assert any("Queue 800 was kept" in f and ACME_BLOCK in f for f in flashes(page))
    assert await snapshot() == before
    await alice.post(f"/console/numbers/{ACME_BLOCK}/release")
    _, page = await alice.post("/console/queues/acme/800/agents/201/remove")
    assert "Agent 201 of queue 800 removed." in flashes(page)
    _, page = await alice.post("/console/queues/acme/800/remove")
    assert "Queue 800 removed." in flashes(page)
    assert cards(page) == {}


async def test_refusals_name_the_field_and_write_nothing(alice: Console) -> None:
    before = await snapshot()
    for change, error_id, message in (
        ({"extension": "201"}, "a-e-extension", "201"),
        ({"name": ""}, "a-e-name", "must not be empty"),
        ({"strategy": "loudest"}, "a-e-strategy", "is not a strategy"),
        ({"ring_seconds": "x"}, "a-e-ring_seconds", "is not a whole number"),
        ({"ring_seconds": "2"}, "a-e-ring_seconds", "outside 5-120"),
        ({"max_wait_seconds": "9999"}, "a-e-max_wait_seconds", "outside 10-3600"),
        ({"moh": "nosuch"}, "a-e-moh", "not found"),
        ({"agent": "299"}, "a-e-agents", "not found"),
        ({"failover_kind": "user", "failover_key": "299"}, "a-failover-error", "not found"),
    ):
        status, page = await alice.post("/console/queues/acme", form(**change))
        assert status == 200, change
        assert message in field_error(page, error_id), (change, field_error(page, error_id))
        assert any(f.startswith("The queue was not added") for f in flashes(page)), change
    assert await snapshot() == before
    await alice.post("/console/queues/acme", form(agent="201"))
    before = await snapshot()
    for posted, error_id, message in (
        ({"agent": "201"}, "q800-e-agent", "already an agent"),
        ({"agent": "202", "position": "9"}, "q800-e-position", "is not from 1 to 2"),
        ({"order": "202"}, "q800-e-agents", "not an agent"),
        ({}, "q800-e-agent", "pick a user"),
    ):
        _, page = await alice.post("/console/queues/acme/800/agents", posted)
        assert message in field_error(page, error_id), (posted, field_error(page, error_id))
    _, page = await alice.post("/console/queues/acme/800/agents/202/login")
    assert "not an agent of queue 800" in field_error(page, "q800-e-agents")
    assert await snapshot() == before


async def test_a_tenant_admin_works_in_their_own_tenant_only(
    tara: Console, platform: Platform
) -> None:
    await queues.add_queue(platform, TEST_ACTOR, "globex", "800", "Globex Line", agents=["301"])
    status, page = await tara.get("/console/queues?tenant=globex")
    assert status == 200 and listed(page) == {} and "Globex" not in page
    before = await snapshot()
    for path, posted in (
        ("/console/queues/globex", form()),
        ("/console/queues/globex/800", {"name": "Taken over"}),
        ("/console/queues/globex/800/remove", {}),
        ("/console/queues/globex/800/agents", {"agent": "301"}),
        ("/console/queues/globex/800/agents/301/login", {}),
        ("/console/queues/globex/800/agents/301/logout", {}),
        ("/console/queues/globex/800/agents/301/remove", {}),
    ):
        other_status, other = await tara.post(path, posted)
        missing_status, missing = await tara.post(path.replace("globex", "nosuch"), posted)
        assert other_status == missing_status == 404, path
        assert other.replace("globex", "T") == missing.replace("nosuch", "T")
    assert await snapshot() == before
    _, page = await tara.post("/console/queues/acme", form())
    assert "Queue 800 added." in flashes(page)
