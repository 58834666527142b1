"""The published OpenAPI document against the real answers of every route.

Each call below goes through a client that looks up the documented answer for the
route and status, and validates the body against its schema (answers are exact:
an undocumented field fails). The last check is that every documented route was
called, so a route added without a call here fails too.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from PIL import Image
from tortoise import Tortoise

from provd.db.models import Tenant
from provd.domain.errors import InvalidInput
from provd.domain.mac import parse_mac
from provd.services import pbx as pbx_service
from provd.services import voicemail
from provd.services.access import tokens
from provd.services.discovery import Sighting, Source, record_sighting
from provd.services.rollouts import Options
from provd.web import openapi
from provd.web.api import PREFIX
from provd.web.contract import parse
from provd.web.schemas.devices import DeviceIn
from provd.web.schemas.rollouts import RolloutIn
from tests.conftest import TEST_ACTOR
from tests.firmware.images import T46G, image_bytes
from tests.services.menus.audio import tone_wav
from tests.services.voicemail.spool import spool_message
from tests.web.conftest import Served

MAC = "0015654aa937"
SPARE = "0015654aa938"
SEEN = "0015654aa939"
VERSION = "28.83.0.120"


class Checked:
    """An API client whose every answer must match the published document."""

    def __init__(self, session: aiohttp.ClientSession, doc: dict[str, Any]) -> None:
        self.session = session
        self.doc = doc
        self.called: set[tuple[str, str]] = set()

    def validate(
        self, template: str, method: str, status: int, media: str, body: bytes, prefix: str = PREFIX
    ) -> Any:
        op = self.doc["paths"][prefix + template][method.lower()]
        assert str(status) in op["responses"], (method, template, status, body[:300])
        reply = op["responses"][str(status)]
        if "content" not in reply:
            assert body == b"", (method, template, status)
            return None
        assert media in reply["content"], (method, template, status, media)
        if media.startswith("audio/"):
            return body
        if media != "application/json":
            return body.decode()
        value = json.loads(body)
        schema = {**reply["content"][media]["schema"], "components": self.doc["components"]}
        errors = sorted(Draft202012Validator(schema).iter_errors(value), key=str)
        assert not errors, (method, template, status, [e.message for e in errors], value)
        return value

    async def call(
        self,
        method: str,
        template: str,
        expect: int,
        args: dict[str, str] | None = None,
        *,
        prefix: str = PREFIX,
        **kw: Any,
    ) -> Any:
        """``prefix=""``: an operations endpoint, outside the API's prefix."""
        async with self.session.request(
            method, prefix + template.format(**(args or {})), **kw
        ) as r:
            body = await r.read()
            status, media = r.status, r.content_type
        assert status == expect, (method, template, status, body[:500])
        value = self.validate(template, method, status, media, body, prefix)
        self.called.add((prefix + template, method.lower()))
        return value


@pytest.fixture
async def checked(served: Served) -> AsyncIterator[Checked]:
    token = await tokens.create_token(TEST_ACTOR, "tests")
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(
        base_url=served.base, connector=connector, headers={"Authorization": f"Bearer {token}"}
    ) as s:
        async with s.get(f"{PREFIX}/openapi.json") as r:
            assert r.status == 200
            doc = await r.json()
        Draft202012Validator.check_schema({"components": doc["components"]})
        yield Checked(s, doc)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (64, 64), 255).save(out, format="PNG")
    return out.getvalue()


def _sound_form(name: str, data: bytes) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("name", name)
    # A stream: aiohttp warns about a large body given as bytes.
    form.add_field("file", io.BytesIO(data), filename=f"{name}.wav", content_type="audio/wav")
    return form


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_every_route_answers_as_documented(served: Served, checked: Checked) -> None:
    c = checked
    # Tenants, users, devices.
    await c.call("POST", "/tenants", 201, json={"slug": "acme"})
    await c.call("POST", "/tenants", 400, json={"slug": "acme2", "colour": "red"})
    await c.call("GET", "/tenants", 200)
    await c.call("PATCH", "/tenants/{slug}", 200, {"slug": "acme"}, json={"vlan_lan": "100"})
    await c.call("PATCH", "/tenants/{slug}", 404, {"slug": "ghost"}, json={"lldp": "on"})
    user = {"tenant": "acme", "extension": "201", "name": "Front Desk"}
    await c.call("POST", "/users", 201, json=user)
    await c.call("POST", "/users", 400, json={"extension": 201, "name": "X"})
    await c.call("GET", "/users", 200, params={"tenant": "acme"})
    the_user = {"tenant": "acme", "extension": "201"}
    await c.call("GET", "/users/{tenant}/{extension}", 200, the_user)
    hidden = await c.call(
        "PATCH", "/users/{tenant}/{extension}", 200, the_user, json={"hide_caller_id": True}
    )
    assert hidden["hide_caller_id"] is True
    await c.call("PATCH", "/users/{tenant}/{extension}", 400, the_user, json={})
    await c.call(
        "PATCH", "/users/{tenant}/{extension}", 404, {**the_user, "extension": "299"}, json={}
    )
    device = {"mac": MAC, "model": T46G, "tenant": "acme", "users": ["201"]}
    created = await c.call("POST", "/devices", 201, json=device)
    assert created["lldp"] == "inherit" and "expansion_modules" in created
    await c.call("POST", "/devices", 409, json=device)
    await c.call("GET", "/devices", 200)
    await c.call("GET", "/devices/{mac}", 200, {"mac": MAC})
    await c.call("GET", "/devices/{mac}", 404, {"mac": SPARE})
    await c.call("PATCH", "/devices/{mac}", 200, {"mac": MAC}, json={"lldp": "off"})
    await c.call("POST", "/devices/{mac}/reset", 200, {"mac": MAC})
    await c.call("GET", "/audit", 200, params={"limit": "5"})

    # Key layouts.
    scope = {"tenant": "acme", "model": T46G}
    await c.call(
        "POST", "/layouts/keys", 200, params=scope, json={"key": "line:3", "function": "dnd"}
    )
    layout = await c.call("GET", "/layouts", 200, params=scope)
    await c.call("GET", "/layouts", 200, params={"device": MAC})
    await c.call("PUT", "/layouts", 200, params=scope, json=layout)
    page = {"module": 1, "page": 1, "description": "Sales"}
    await c.call("POST", "/layouts/pages", 200, params=scope, json=page)
    await c.call("POST", "/layouts/pages", 400, params=scope, json={**page, "page": "1"})
    await c.call("DELETE", "/layouts/keys", 200, params=scope)

    # Firmware.
    upload = {"model": T46G, "version": VERSION, "filename": f"T46-{VERSION}.rom"}
    raw = {"Content-Type": "application/octet-stream"}
    data = image_bytes(VERSION)
    image = await c.call("POST", "/firmware", 201, params=upload, data=data, headers=raw)
    await c.call("POST", "/firmware", 200, params=upload, data=_chunks(data), headers=raw)
    sha = {"sha256": image["sha256"]}
    await c.call("POST", "/firmware/{sha256}/tested", 200, sha)
    await c.call("POST", "/firmware/{sha256}/tested", 200, sha, json={"tested": True})
    await c.call("GET", "/firmware", 200)
    await c.call("PUT", "/firmware/pins", 200, json={"model": T46G, "version": VERSION})
    await c.call("GET", "/devices/{mac}/firmware", 200, {"mac": MAC})

    # Rollouts.
    started = await c.call("POST", "/rollouts", 201, json={"devices": [MAC]})
    await c.call("POST", "/rollouts", 400, json={"devices": [MAC], "batch": "10"})
    rollout = {"id": str(started["id"])}
    await c.call("GET", "/rollouts", 200)
    await c.call("GET", "/rollouts/{id}", 200, rollout)
    await c.call("POST", "/rollouts/{id}/pause", 200, rollout)
    await c.call("POST", "/rollouts/{id}/resume", 200, rollout)
    await c.call("POST", "/rollouts/{id}/cancel", 200, rollout)
    stream = await c.call("GET", "/rollouts/{id}/events", 200, rollout)
    assert "event: snapshot" in stream and "event: end" in stream
    await c.call("DELETE", "/firmware/pins", 204, params={"model": T46G})

    # The PBX routes, with no PBX running.
    await c.call("GET", "/registrations", 503)
    await c.call("GET", "/devices/{mac}/registration", 503, {"mac": MAC})
    await c.call("POST", "/devices/{mac}/resync", 503, {"mac": MAC})
    await c.call("POST", "/devices/{mac}/reboot", 503, {"mac": MAC})

    # What installers call.
    await c.call("GET", "/installer/users", 200, params={"tenant": "acme", "q": "2"})
    await c.call("GET", "/installer/models", 200)
    claim = {"mac": SPARE, "model": T46G, "extension": None, "tenant": "acme"}
    await c.call("POST", "/claims", 201, json=claim)
    await c.call("GET", "/claims/status", 200, params=[("mac", SPARE), ("mac", SEEN)])
    form = aiohttp.FormData()
    form.add_field("image", _png(), filename="label.png", content_type="image/png")
    await c.call("POST", "/labels/decode", 200, data=form)
    await record_sighting(Sighting(parse_mac(SEEN), Source.PNP, ip="127.0.0.1", model="T46G"))
    await c.call("GET", "/discovered", 200)
    await c.call("DELETE", "/discovered/{mac}", 204, {"mac": SEEN})

    # CSV import and export.
    csv = {"Content-Type": "text/csv"}
    header = "mac,model,tenant,extension,lines,vlan_lan,vlan_pc,expansion_modules,name\r\n"
    good = header + f"{SEEN},{T46G},acme,,,,,0,Desk\r\n"
    await c.call("POST", "/devices/import", 200, params={"dry_run": "1"}, data=good, headers=csv)
    bad = header + f"00:15:65,{T46G},acme,,,,,0,Desk\r\n"
    await c.call("POST", "/devices/import", 400, data=bad, headers=csv)
    await c.call("GET", "/devices/export", 200, params={"tenant": "acme"})

    # Numbers and carriers.
    block = {"first": "020 123 4500", "count": 10, "tenant": "acme"}
    await c.call("POST", "/number-blocks", 201, json=block)
    await c.call("POST", "/number-blocks", 409, json={"first": "+31201234505", "tenant": "acme"})
    await c.call("POST", "/number-blocks", 400, json={**block, "first": "+31201234505"})
    number = {"number": "+31201234501"}
    await c.call("POST", "/numbers/{number}/assign", 200, number, json={"user": "201"})
    await c.call("POST", "/numbers/{number}/assign", 409, number, json={"user": "201"})
    await c.call("GET", "/numbers", 200, params={"tenant": "acme", "unused": "false"})
    await c.call("DELETE", "/number-blocks/{first}", 400, {"first": "+31201234500"})
    await c.call("POST", "/numbers/{number}/release", 200, number)
    await c.call("POST", "/numbers/{number}/release", 404, {"number": "+31209999999"})
    numbering = {"country": "NL", "number_display": "e164", "main_number": "020 123 4502"}
    acme = {"slug": "acme"}
    shown = await c.call("PATCH", "/tenants/{slug}", 200, acme, json=numbering)
    assert shown["main_number"] == "+31201234502"
    await c.call("PATCH", "/tenants/{slug}", 400, acme, json={"main_number": "+31209999999"})
    await c.call("PATCH", "/tenants/{slug}", 200, acme, json={"main_number": "none"})
    # Trunks: passwords in the answers to creating one and regenerating one only.
    pbx = {"tenant": "acme", "name": "pbx"}
    new_trunk = {**pbx, "channels": 2, "allow_ips": ["192.0.2.10"], "failover": "user:201",
                 "numbers": [{"number": "+31201234503", "caller_id": False}]}  # fmt: skip
    made = await c.call("POST", "/trunks", 201, json=new_trunk)
    assert [a["role"] for a in made["new_passwords"]] == ["primary", "secondary"]
    await c.call("POST", "/trunks", 409, json=new_trunk)
    await c.call("POST", "/trunks", 400, json={**new_trunk, "name": "x", "allow_ips": []})
    await c.call("GET", "/trunks", 200, params={"tenant": "acme"})
    await c.call("GET", "/trunks/{tenant}/{name}", 200, pbx)
    await c.call("GET", "/trunks/{tenant}/{name}", 404, {**pbx, "name": "nope"})
    await c.call("PATCH", "/trunks/{tenant}/{name}", 200, pbx, json={"channels": 3})
    await c.call("PATCH", "/trunks/{tenant}/{name}", 400, pbx, json={"format": "x"})
    on_trunk = "/trunks/{tenant}/{name}/numbers"
    await c.call("POST", on_trunk, 200, pbx, json={"number": "0201234504", "caller_id": False})
    await c.call("POST", on_trunk, 404, pbx, json={"number": "+31209999999"})
    await c.call("DELETE", on_trunk + "/{number}", 200, {**pbx, "number": "+31201234504"})
    await c.call("DELETE", on_trunk + "/{number}", 400, {**pbx, "number": "+31201234505"})
    password = "/trunks/{tenant}/{name}/password"
    await c.call("POST", password, 200, pbx, json={"account": "secondary"})
    await c.call("POST", password, 400, pbx, json={"account": "third"})
    # Outbound policies: the tenant's, a user's, a trunk's.
    policy = {"block": ["premium"], "allow_presets": ["benelux"], "allow_prefixes": ["+44"]}
    await c.call("GET", "/outbound/{tenant}", 200, {"tenant": "acme"})
    await c.call("PATCH", "/outbound/{tenant}", 200, {"tenant": "acme"}, json=policy)
    await c.call("PATCH", "/outbound/{tenant}", 400, {"tenant": "acme"}, json={"block": ["x"]})
    await c.call("GET", "/outbound/{tenant}/users/{extension}", 200, the_user)
    await c.call("PATCH", "/outbound/{tenant}/users/{extension}", 200, the_user, json=policy)
    await c.call("GET", "/outbound/{tenant}/trunks/{name}", 200, pbx)
    await c.call("PATCH", "/outbound/{tenant}/trunks/{name}", 200, pbx, json=policy)
    await c.call("PATCH", "/outbound/{tenant}/trunks/{name}", 404, {**pbx, "name": "nope"},
                 json=policy)  # fmt: skip
    # Spend and call limits: the tenant's, a trunk's; the alerts.
    acme = {"tenant": "acme"}
    await c.call("GET", "/limits/{tenant}", 200, acme)
    await c.call("PATCH", "/limits/{tenant}", 200, acme, json={"hour": 5, "calls_day": "20"})
    await c.call("PATCH", "/limits/{tenant}", 400, acme, json={"hour": "-1"})
    await c.call("PATCH", "/limits/{tenant}", 400, acme, json={"month": 5})
    await c.call("GET", "/limits/{tenant}/trunks/{name}", 200, pbx)
    await c.call("PATCH", "/limits/{tenant}/trunks/{name}", 200, pbx, json={"week": None})
    await c.call("PATCH", "/limits/{tenant}/trunks/{name}", 404, {**pbx, "name": "nope"},
                 json={"hour": 1})  # fmt: skip
    await c.call("GET", "/limits/{tenant}/alerts", 200, acme)
    await c.call("DELETE", "/trunks/{tenant}/{name}", 204, pbx)
    await c.call("DELETE", "/trunks/{tenant}/{name}", 404, pbx)
    await c.call("DELETE", "/number-blocks/{first}", 204, {"first": "+31201234500"})
    carrier = {"name": "upstream", "host": "127.0.0.1:5070", "username": "u", "password": "P-1"}
    await c.call("POST", "/carriers", 201, json={**carrier, "inbound_from": ["127.0.0.0/8"]})
    await c.call("POST", "/carriers", 409, json=carrier)
    await c.call("POST", "/carriers", 400, json={**carrier, "name": "x", "inbound_from": "nope"})
    await c.call("GET", "/carriers", 200)
    await c.call("DELETE", "/carriers/{name}", 204, {"name": "upstream"})

    # Call handling: groups, forwarding, schedules, routes, blocks.
    await c.call("POST", "/users", 201, json={**user, "extension": "202", "name": "Back"})
    group = {"tenant": "acme", "extension": "600"}
    sales = {"tenant": "acme", "extension": "600", "name": "Sales", "policy": "fixed"}
    await c.call("POST", "/groups", 201, json={**sales, "overflow": "user:202"})
    await c.call("POST", "/groups", 409, json=sales)
    await c.call("POST", "/groups", 400, json={**sales, "extension": "601", "ring_seconds": 1})
    await c.call("GET", "/groups", 200, params={"tenant": "acme"})
    await c.call("GET", "/groups/{tenant}/{extension}", 200, group)
    await c.call("GET", "/groups/{tenant}/{extension}", 404, {**group, "extension": "699"})
    await c.call("PATCH", "/groups/{tenant}/{extension}", 200, group, json={"policy": "circular"})
    await c.call("PATCH", "/groups/{tenant}/{extension}", 400, group, json={})
    members = "/groups/{tenant}/{extension}/members"
    await c.call("POST", members, 200, group, json={"user": "201"})
    await c.call("POST", members, 200, group, json={"external": "0612345678", "position": 1})
    await c.call("POST", members, 409, group, json={"user": "201"})
    await c.call("DELETE", members, 200, group, params={"position": "1"})
    await c.call("DELETE", members, 400, group, params={"user": "202"})
    forwarding = "/users/{tenant}/{extension}/forwarding"
    await c.call("PATCH", forwarding, 200, the_user, json={"busy": "group:600", "always": "none"})
    await c.call("PATCH", forwarding, 400, the_user, json={"busy": "user:201"})
    await c.call("GET", forwarding, 200, the_user)
    await c.call("PUT", "/users/{tenant}/{extension}/dnd", 200, the_user, json={"dnd": True})
    await c.call("PUT", "/users/{tenant}/{extension}/dnd", 400, the_user, json={"dnd": "on"})
    office = {"tenant": "acme", "name": "Office"}
    week = {**office, "rules": ["mon-fri 08:00-17:00"], "holidays": ["2026-12-25"]}
    await c.call("POST", "/schedules", 201, json=week)
    await c.call("POST", "/schedules", 400, json={**office, "name": "X", "rules": ["mon 9-5"]})
    await c.call("GET", "/schedules", 200)
    await c.call("GET", "/schedules/{tenant}/{name}", 200, office)
    await c.call("PATCH", "/schedules/{tenant}/{name}", 200, office, json={"holidays": []})
    switch = "/schedules/{tenant}/{name}/night-switch"
    on = await c.call("PUT", switch, 200, office, json={"state": "on", "until": "2099-01-01 08:00"})
    assert on["state"] == "closed" and on["until"] is not None
    await c.call("PUT", switch, 400, office, json={"state": "maybe"})
    main = {"tenant": "acme", "name": "Main"}
    plan = {**main, "schedule": "Office", "open": "group:600", "closed": "external:0612345678"}
    await c.call("POST", "/routes", 201, json=plan)
    await c.call("POST", "/routes", 409, json=plan)
    await c.call("GET", "/routes", 200, params={"tenant": "acme"})
    await c.call("GET", "/routes/{tenant}/{name}", 200, main)
    await c.call("PATCH", "/routes/{tenant}/{name}", 200, main, json={"holiday": "user:201"})
    await c.call(
        "PATCH", "/routes/{tenant}/{name}", 404, {**main, "name": "Nope"}, json={"open": "none"}
    )
    block = await c.call("POST", "/blocks", 201, json={"tenant": "acme", "anonymous": True,
                                                        "when": "Office:closed"})  # fmt: skip
    await c.call("POST", "/blocks", 400, json={"tenant": "acme", "prefix": "+3"})
    await c.call("GET", "/blocks", 200, params={"tenant": "acme"})
    await c.call("DELETE", "/schedules/{tenant}/{name}", 400, office)
    await c.call("DELETE", "/blocks/{id}", 200, {"id": str(block["id"])})
    await c.call("DELETE", "/blocks/{id}", 404, {"id": str(block["id"])})
    await c.call("DELETE", "/routes/{tenant}/{name}", 204, main)
    await c.call("DELETE", "/schedules/{tenant}/{name}", 204, office)
    await c.call("DELETE", "/groups/{tenant}/{extension}", 400, group)
    await c.call("PATCH", forwarding, 200, the_user, json={"clear": ["all"]})

    # IVR menus and their sounds.
    acme = {"tenant": "acme"}
    sounds_path = "/tenants/{tenant}/sounds"
    welcome = {**acme, "name": "welcome"}
    await c.call("POST", sounds_path, 201, acme, data=_sound_form("welcome", tone_wav()))
    await c.call("POST", sounds_path, 400, acme, data=_sound_form("noise", b"not audio"))
    await c.call("POST", sounds_path, 409, acme, data=_sound_form("welcome", tone_wav()))
    await c.call("POST", sounds_path, 413, acme, data=_sound_form("big", b"\0" * (21 << 20)))
    await c.call("GET", sounds_path, 200, acme)
    await c.call("GET", sounds_path + "/{name}", 200, welcome)
    await c.call("GET", sounds_path + "/{name}", 404, {**acme, "name": "nothing"})
    wav = await c.call("GET", sounds_path + "/{name}/audio", 200, welcome)
    assert wav[:4] == b"RIFF"
    menus_path = "/tenants/{tenant}/menus"
    menu = {**acme, "extension": "700"}
    keys = {"1": "user:201", "0": "repeat"}
    main = {"extension": "700", "name": "Main", "greeting": "welcome", "default": "group:600"}
    main_keys = {**main, "keys": keys}
    await c.call("POST", menus_path, 201, acme, json=main_keys)
    await c.call("POST", menus_path, 409, acme, json=main_keys)
    await c.call(
        "POST", menus_path, 400, acme, json={**main, "extension": "701", "keys": {"A": "x"}}
    )
    await c.call("GET", menus_path, 200, acme)
    await c.call("GET", menus_path + "/{extension}", 200, menu)
    await c.call("GET", menus_path + "/{extension}", 404, {**menu, "extension": "799"})
    put = {"name": "Main", "greeting": "welcome", "keys": {"2": "submenu:700"}}
    await c.call("PUT", menus_path + "/{extension}", 200, menu, json=put)
    await c.call("PUT", menus_path + "/{extension}", 400, menu, json={**put, "dial_length": 9})
    # Announcements play a sound: the same one, while they exist.
    ann_path = "/tenants/{tenant}/announcements"
    ann = {**acme, "extension": "800"}
    closed = {"extension": "800", "name": "Closed", "sound": "welcome", "plays": 2}
    await c.call("POST", ann_path, 201, acme, json=closed)
    await c.call("POST", ann_path, 409, acme, json=closed)
    await c.call("POST", ann_path, 400, acme, json={**closed, "extension": "801", "plays": 9})
    await c.call("GET", ann_path, 200, acme)
    await c.call("GET", ann_path + "/{extension}", 200, ann)
    await c.call("GET", ann_path + "/{extension}", 404, {**ann, "extension": "899"})
    await c.call(
        "PUT", ann_path + "/{extension}", 200, ann, json={"name": "Shut", "sound": "welcome"}
    )
    await c.call("PUT", ann_path + "/{extension}", 404, {**ann, "extension": "899"},
                 json={"name": "Shut", "sound": "welcome"})  # fmt: skip
    await c.call("DELETE", ann_path + "/{extension}", 204, ann)
    moh_path = "/tenants/{tenant}/moh"
    await c.call("GET", moh_path, 200, acme)
    await c.call("PUT", moh_path, 200, acme, json={"sounds": ["welcome"]})
    await c.call("PUT", moh_path, 400, acme, json={"sounds": []})
    await c.call("DELETE", moh_path, 200, acme)
    await c.call("DELETE", sounds_path + "/{name}", 400, welcome)
    await c.call("DELETE", menus_path + "/{extension}", 204, menu)
    await c.call("DELETE", sounds_path + "/{name}", 204, welcome)

    # Call queues, their agents and figures.
    queues_path = "/tenants/{tenant}/queues"
    queue = {**acme, "extension": "800"}
    agent = {**queue, "agent": "201"}
    support = {"extension": "800", "name": "Support", "failover": "user:201", "agents": ["201"]}
    await c.call("POST", queues_path, 201, acme, json=support)
    await c.call("POST", queues_path, 409, acme, json=support)
    await c.call(
        "POST", queues_path, 400, acme, json={**support, "extension": "801", "ring_seconds": 1}
    )
    await c.call("GET", queues_path, 200, acme)
    await c.call("GET", queues_path + "/{extension}", 200, queue)
    await c.call("GET", queues_path + "/{extension}", 404, {**queue, "extension": "899"})
    await c.call("PUT", queues_path + "/{extension}", 200, queue, json={"name": "Support"})
    await c.call(
        "PUT", queues_path + "/{extension}", 400, queue, json={"name": "S", "strategy": "x"}
    )
    await c.call("GET", queues_path + "/{extension}/agents", 200, queue)
    await c.call("POST", queues_path + "/{extension}/agents", 409, queue, json={"agent": "201"})
    await c.call("PUT", queues_path + "/{extension}/agents", 200, queue, json={"agents": ["201"]})
    await c.call("POST", queues_path + "/{extension}/agents/{agent}/login", 200, agent)
    await c.call("POST", queues_path + "/{extension}/agents/{agent}/logout", 200, agent)
    await c.call("GET", queues_path + "/{extension}/stats", 200, queue, params={"period": "7d"})
    await c.call("GET", queues_path + "/{extension}/stats", 400, queue, params={"period": "x"})
    await c.call("DELETE", queues_path + "/{extension}/agents/{agent}", 204, agent)
    await c.call("POST", queues_path + "/{extension}/agents", 201, queue, json={"agent": "201"})
    await c.call("DELETE", queues_path + "/{extension}", 204, queue)

    # Voicemail: a message left for 201, collected from the media application's spool.
    media = served.platform.data_dir / "pbx" / "media"
    spool_message(media, (await Tenant.get(slug="acme")).sip_domain, "201")
    [filed] = await voicemail.ingest(media, served.platform.data_dir)
    vm_path = "/tenants/{tenant}/voicemail"
    message = {**acme, "id": str(filed.message.id)}
    await c.call("GET", vm_path, 200, acme, params={"user": "201"})
    await c.call("GET", vm_path, 404, acme, params={"user": "299"})
    wav = await c.call("GET", vm_path + "/{id}/audio", 200, message)
    assert wav[:4] == b"RIFF"
    await c.call("POST", vm_path + "/{id}/heard", 200, message)
    await c.call("POST", vm_path + "/{id}/heard", 404, {**acme, "id": "0"})
    await c.call("DELETE", vm_path + "/{id}", 204, message)
    await c.call("GET", vm_path + "/{id}/audio", 404, message)
    # 201's mailbox: the PIN (write-only) and the greeting.
    box_path = "/users/{tenant}/{extension}/voicemail"
    box = {"tenant": "acme", "extension": "201"}
    await c.call("GET", box_path, 200, box)
    await c.call("PUT", box_path + "/pin", 200, box, json={"voicemail_pin": "4711"})
    await c.call("PUT", box_path + "/pin", 400, box, json={"voicemail_pin": "0000"})
    await c.call("DELETE", box_path + "/pin", 200, box)
    await c.call("PUT", box_path + "/greeting", 404, box, json={"greeting": "nothing"})
    await c.call("PUT", box_path + "/greeting", 200, box, json={"greeting": None})
    await c.call("DELETE", "/groups/{tenant}/{extension}", 204, group)

    await c.call("DELETE", "/devices/{mac}", 204, {"mac": MAC})
    await c.call(
        "DELETE", "/users/{tenant}/{extension}", 204, {"tenant": "acme", "extension": "201"}
    )

    # Rates: the platform's table, then acme's overrides.
    csv_body = {"Content-Type": "text/csv"}
    await c.call("GET", "/rates", 200)
    await c.call("POST", "/rates/import", 200, data="match,price_per_minute\nmobile,0.1\n",
                 headers=csv_body)  # fmt: skip
    await c.call("POST", "/rates/import", 400, data="match,price_per_minute\nmobile,-1\n",
                 headers=csv_body)  # fmt: skip
    await c.call("POST", "/rates/import", 413, data=io.BytesIO(b"x" * (1024 * 1024 + 1)),
                 headers=csv_body)  # fmt: skip
    await c.call("POST", "/rates/import", 200, params={"tenant": "acme", "dry_run": "1"},
                 data="match,price_per_minute\n", headers=csv_body)  # fmt: skip
    await c.call("GET", "/rates", 200, params={"tenant": "acme"})
    await c.call("GET", "/rates/export", 200, params={"tenant": "acme"})

    # Call records of acme (none yet): the list, totals and CSV, and one refusal.
    await c.call("GET", "/calls", 200, params={"tenant": "acme", "month": "previous"})
    await c.call("GET", "/calls", 400, params={"tenant": "acme", "cost": ">>1"})
    await c.call("GET", "/calls/totals", 200, params={"tenant": "acme"})
    await c.call("GET", "/calls/export", 200, params={"tenant": "acme"})

    # The operations endpoints, outside /api/v1.
    assert (await c.call("GET", "/healthz", 200, prefix=""))["status"] == "ok"
    assert (await c.call("GET", "/readyz", 200, prefix=""))["not_ready"] == []
    assert "provd_http_requests_total" in await c.call("GET", "/metrics", 200, prefix="")

    documented = {(path, method) for path, ops in c.doc["paths"].items() for method in ops}
    assert documented - c.called == set()


async def test_401_is_documented(served: Served, checked: Checked) -> None:
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with (
        aiohttp.ClientSession(base_url=served.base, connector=connector) as s,
        s.get(f"{PREFIX}/devices") as r,
    ):
        checked.validate("/devices", "GET", r.status, r.content_type, await r.read())
        assert r.status == 401


async def test_operations_endpoints_are_documented_as_they_answer(
    served: Served, checked: Checked
) -> None:
    """/readyz's 503 and /metrics' refusals; health checks need no credentials."""
    doc = checked.doc
    for path in ("/healthz", "/readyz"):
        assert doc["paths"][path]["get"]["security"] == []
    assert "security" not in doc["paths"]["/metrics"]["get"]  # the document's: a bearer token
    connector = aiohttp.TCPConnector(ssl=served.client_ssl())
    async with aiohttp.ClientSession(base_url=served.base, connector=connector) as s:
        async with s.get("/metrics") as r:
            checked.validate("/metrics", "GET", r.status, r.content_type, await r.read(), "")
            assert r.status == 401
        await Tortoise.close_connections()
        async with s.get("/readyz") as r:
            body = await r.read()
            ready = checked.validate("/readyz", "GET", r.status, r.content_type, body, "")
            assert r.status == 503 and ready["not_ready"] == ["database"]


def test_pbx_answers_match_the_document() -> None:
    """The PBX's 200 answers need a running Kamailio (tests/pbx); their views are
    checked here against the same schemas."""
    doc = openapi.document()
    ok = doc["paths"][f"{PREFIX}/devices/{{mac}}/registration"]["get"]["responses"]["200"]
    schema = {**ok["content"]["application/json"]["schema"], "components": doc["components"]}
    line = pbx_service.LineRegistration(1, "201", "201@acme.test", None)
    for view in (
        pbx_service.registration_view(MAC, [line]),
        pbx_service.registration_view(MAC, None),
    ):
        Draft202012Validator(schema).validate(view)


def test_the_document_is_the_models_schema() -> None:
    """The schemas published are those of the models that validate the requests."""

    doc = openapi.document()
    schemas = doc["components"]["schemas"]
    assert schemas["DeviceIn"]["additionalProperties"] is False
    assert set(schemas["DeviceIn"]["properties"]) == set(DeviceIn.model_fields)
    defaults = {k: v.get("default") for k, v in schemas["RolloutIn"]["properties"].items()}
    assert defaults["batch"] == Options().batch and defaults["timeout"] == Options().timeout_s
    assert set(RolloutIn.model_fields) == set(schemas["RolloutIn"]["properties"])
    for name in ("expansion_modules", "vlan_lan", "vlan_pc", "lldp"):
        assert name in schemas["Device"]["required"]
    for name in ("vlan_lan", "vlan_pc", "lldp", "sip_proxy", "pickup_code"):
        assert name in schemas["Tenant"]["required"]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"mac": MAC, "model": T46G, "colour": "red"}, "colour", "is not a known field"),
        ({"model": T46G}, "mac", "is required"),
        ({"mac": None, "model": T46G}, "mac", "is required"),
        ({"mac": 15, "model": T46G}, "mac", "must be a string"),
        ({"mac": MAC, "model": T46G, "users": "201"}, "users", "must be a list of extensions"),
        ({"mac": MAC, "model": T46G, "users": [201]}, "users", "must be a list of extensions"),
    ],
)
def test_a_refused_body_names_the_field(body: dict[str, Any], field: str, message: str) -> None:

    with pytest.raises(InvalidInput) as refused:
        parse(DeviceIn, body)
    assert refused.value.field == field and refused.value.message.startswith(message)
