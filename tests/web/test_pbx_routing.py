"""The route listener Kamailio asks: its credentials, its form and its answer."""

from __future__ import annotations

import base64
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from provd.domain.routing import (
    Carrier,
    Carriers,
    GroupRouting,
    TenantRouting,
    ToUser,
    UserRouting,
)
from provd.domain.routing_table import RoutingTable
from provd.services.routing import LiveTable
from provd.web.pbx_routing import ROUTE_PATH, make_routing_app, parse_request

TOKEN = "t0ken-for-tests"
ACME = TenantRouting(
    slug="acme",
    sip_domain="acme.test",
    users={"2000": UserRouting("2000", name="Alice", numbers=("+31201234501",))},
    numbers={"+31201234501": ToUser("2000")},
)
TABLE = RoutingTable(
    [ACME],
    Carriers((Carrier("carrier-a", "192.0.2.1:5060"),)),
    {"carrier-a": [ipaddress.ip_network("192.0.2.1/32")]},
)

ClientFactory = Callable[[Any], Awaitable[TestClient[Any, Any]]]


def hexed(text: str) -> str:
    return text.encode().hex()


def form(**values: str) -> dict[str, str]:
    """What the cfg posts: src and si in clear, the rest hex-encoded."""
    out = {"src": values.pop("src", "user"), "si": values.pop("si", "10.0.0.5")}
    for name in ("domain", "ext", "ru", "fu", "fn", "pai", "privacy"):
        out[name] = hexed(values.pop(name, ""))
    assert not values
    return out


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
async def client(aiohttp_client: ClientFactory) -> TestClient[Any, Any]:
    live = LiveTable()
    live.table = TABLE
    return await aiohttp_client(make_routing_app(live, TOKEN))


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("kamailio", "wrong"),
        basic("someone", TOKEN),
        {"Authorization": f"Bearer {TOKEN}"},
        {"Authorization": "Basic not-base64!"},
    ],
)
async def test_without_the_token_nothing_is_answered(
    client: TestClient[Any, Any], headers: dict[str, str]
) -> None:
    resp = await client.post(ROUTE_PATH, data=form(domain="acme.test", ext="2000"), headers=headers)
    assert resp.status == 401
    assert "routes" not in await resp.text()


async def test_a_user_call_out_gets_an_rtjson_plan(client: TestClient[Any, Any]) -> None:
    resp = await client.post(
        ROUTE_PATH,
        data=form(domain="acme.test", ext="2000", ru="0612345678", fu="2000", fn='Alice "A"'),
        headers=basic("kamailio", TOKEN),
    )
    assert resp.status == 200
    text = await resp.text()
    assert "\n" not in text  # http_client keeps one line
    doc = json.loads(text)
    assert doc["action"] == "route" and doc["target"] == "carrier"
    assert doc["routes"][0]["uri"] == "sip:+31612345678@192.0.2.1:5060"
    assert (
        "P-Asserted-Identity: <sip:+31201234501@acme.test>" in doc["routes"][0]["headers"]["extra"]
    )


async def test_a_carrier_is_known_by_the_packets_source_not_by_what_it_says(
    client: TestClient[Any, Any],
) -> None:
    headers = basic("kamailio", TOKEN)
    ok = await client.post(
        ROUTE_PATH, data=form(src="peer", si="192.0.2.1", ru="0201234501"), headers=headers
    )
    assert (await ok.json())["target"] == "aor"
    forged = await client.post(
        ROUTE_PATH,
        data=form(src="peer", si="203.0.113.5", ru="0201234501", fu="carrier-a"),
        headers=headers,
    )
    assert await forged.json() == {
        "version": "1.0",
        "action": "reject",
        "code": 403,
        "reason": "Forbidden: calls from outside come only through a carrier",
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"src": "admin", "si": "10.0.0.5"},
        {"src": "user", "si": "10.0.0.5", "ru": "zz"},
        {"src": "user", "si": "10.0.0.5", "domain": "6"},  # odd length
    ],
)
async def test_a_malformed_question_gets_400(
    client: TestClient[Any, Any], bad: dict[str, str]
) -> None:
    resp = await client.post(ROUTE_PATH, data=bad, headers=basic("kamailio", TOKEN))
    assert resp.status == 400


async def test_a_body_beyond_the_limit_is_refused(client: TestClient[Any, Any]) -> None:
    big = form(domain="acme.test", ext="2000", fn="x" * 10_000)
    resp = await client.post(ROUTE_PATH, data=big, headers=basic("kamailio", TOKEN))
    assert resp.status == 413


def test_header_text_cannot_change_the_forms_shape() -> None:
    # The cfg hex-encodes: &, = and + in a display name arrive as written.
    request = parse_request(form(fn="A&src=peer+B=", privacy="id; critical", pai="+3120"))
    assert request.source == "user"
    assert request.from_display == "A&src=peer+B="
    assert request.privacy == "id; critical"
    assert request.pai_user == "+3120"
    empty = parse_request(form())
    assert empty.pai_user is None and empty.privacy is None


def test_the_history_of_failed_steps_is_read_strictly() -> None:
    from provd.domain.routing import Failure
    from provd.web.pbx_routing import parse_history

    assert parse_history("") == ()
    assert parse_history(",486,408t,480u") == (
        Failure(486),
        Failure(408, timeout=True),
        Failure(480, unregistered=True),
    )
    for bad in ("abc", "486x", "48", "700", ",".join(["486"] * 17)):
        with pytest.raises(web.HTTPBadRequest) as refused:
            parse_history(bad)
        assert refused.value.text is not None and refused.value.text.startswith("h:")


GROUPED = RoutingTable(
    [
        TenantRouting(
            slug="acme",
            sip_domain="acme.test",
            users={e: UserRouting(e) for e in ("2001", "2002", "2003")},
            groups={"600": GroupRouting("600", "Sales", "circular", ("2001", "2002", "2003"))},
        )
    ]
)


async def test_an_answering_member_moves_a_circular_group_on(
    aiohttp_client: ClientFactory,
) -> None:
    live = LiveTable()
    live.table = GROUPED
    client = await aiohttp_client(make_routing_app(live, TOKEN))
    auth = basic("kamailio", TOKEN)
    call = form(domain="acme.test", ext="2001", ru="600")

    async def first_member() -> str:
        resp = await client.post(ROUTE_PATH, data=call, headers=auth)
        return str((await resp.json())["member"])

    assert await first_member() == "2001"
    answered = {"domain": hexed("acme.test"), "group": "600", "member": hexed("2002")}
    resp = await client.post("/answered", data=answered, headers=auth)
    assert resp.status == 204
    assert await first_member() == "2003"
    # Unknown group or member: nothing recorded; no token: nothing at all.
    unknown = {**answered, "member": hexed("2999")}
    assert (await client.post("/answered", data=unknown, headers=auth)).status == 404
    other = {**answered, "member": hexed("2003")}
    assert (await client.post("/answered", data=other)).status == 401
    assert (
        await client.post("/answered", data={**answered, "group": "x"}, headers=auth)
    ).status == 400
    assert await first_member() == "2003"
    # It outlives a refresh of the table (observed state is kept apart from data).
    live.table = GROUPED
    assert await first_member() == "2003"
