"""A user's mailbox as a destination: written voicemail:EXT, stored by the user's id,
shown as written, routed as ToVoicemail, and holding its user against removal."""

from __future__ import annotations

import pytest

from provd.db.models import User
from provd.domain.errors import InvalidInput, NotFound
from provd.domain.routing import MediaTarget, Route, ToVoicemail
from provd.domain.routing_table import CallRequest
from provd.services import groups
from provd.services.destinations import Names, describe, resolve_destination
from provd.services.directory import forwarding, tenants, users
from provd.services.platform import Platform
from provd.services.routing import load_table
from tests.conftest import TEST_ACTOR as A
from tests.services.routing.test_load_call_handling import MONDAY_10H

MEDIA = "127.0.0.1:5090"


async def _resolve(host: str) -> list[str]:
    return ["192.0.2.1"]


@pytest.fixture
async def office(platform: Platform) -> Platform:
    for ext, name in (("201", "Reception"), ("202", "Sales")):
        await users.add_user(platform, A, "default", ext, name)
    return platform


async def test_voicemail_resolves_to_the_users_id_and_shows_as_written(office: Platform) -> None:
    tenant = await tenants.get_tenant("default")
    user = await User.get(extension="201")
    stored = await resolve_destination(tenant, " Voicemail:201 ", field="busy")
    assert stored == {"kind": "voicemail", "user_id": user.id}
    view = (await Names.of(tenant)).view(stored)
    assert view == {"kind": "voicemail", "key": "201", "name": "Reception", "text": "voicemail:201"}
    assert describe(view) == "voicemail 201 (Reception)"
    with pytest.raises(NotFound):
        await resolve_destination(tenant, "voicemail:299", field="busy")
    with pytest.raises(InvalidInput):
        await resolve_destination(tenant, "voicemail:", field="busy")


async def test_a_forward_to_a_mailbox_routes_to_the_media_application(office: Platform) -> None:
    await forwarding.set_forwarding(office, A, "default", "201", busy="voicemail:201")
    await groups.add_group(office, A, "default", "600", "Sales", "fixed")
    await groups.update_group(office, A, "default", "600", overflow="voicemail:202")
    table = await load_table(_resolve, media=MEDIA)
    tenant = await tenants.get_tenant("default")
    routing = table.tenant_for_domain(tenant.sip_domain)
    assert routing is not None
    assert routing.users["201"].forwarding.busy == ToVoicemail("201")
    assert routing.groups["600"].overflow == ToVoicemail("202")
    await forwarding.set_forwarding(office, A, "default", "202", always="voicemail:202")
    table = await load_table(_resolve, media=MEDIA)
    plan = table.plan(
        CallRequest("user", "192.0.2.9", "202", domain=tenant.sip_domain, extension="201"),
        MONDAY_10H,
    )
    assert isinstance(plan, Route), plan
    [branch] = plan.branches
    assert isinstance(branch.target, MediaTarget)
    assert branch.target.uri == f"sip:vm-202@{MEDIA}"


async def test_removing_a_user_whose_mailbox_is_named_is_refused(office: Platform) -> None:
    await forwarding.set_forwarding(office, A, "default", "202", no_answer="voicemail:201")
    with pytest.raises(InvalidInput, match="user 202's forwarding"):
        await users.remove_user(office, A, "default", "201")
    assert await User.filter(extension="201").exists()
    await forwarding.set_forwarding(office, A, "default", "202", clear=["no_answer"])
    await users.remove_user(office, A, "default", "201")
    assert not await User.filter(extension="201").exists()
