"""provd on a real PostgreSQL: migrations, inventory and an authenticated phone fetch."""

from __future__ import annotations

from pathlib import Path

from provd.db.connection import database, upgrade_schema
from provd.db.models import Device
from provd.security.secretbox import SecretBox
from provd.services import devices
from provd.services.directory import tenants, users
from provd.services.platform import Platform
from provd.services.provisioning import PhoneRequest
from provd.web.server import build_provisioner
from tests.conftest import TEST_ACTOR, TEST_SETTINGS
from tests.digest_client import authorization, parse_challenge
from tests.pg import create_database

UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37"


async def test_provisioning_on_postgresql(tmp_path: Path, postgres_server: str) -> None:
    url = create_database(postgres_server, "provd_core")
    await upgrade_schema(url)
    await upgrade_schema(url)
    async with database(url):
        p = Platform(tmp_path, TEST_SETTINGS, SecretBox.load_or_create(tmp_path))
        await tenants.add_tenant(p, TEST_ACTOR, "default")
        await users.add_user(p, TEST_ACTOR, "default", "201", "Front Desk")
        _, cred = await devices.add_device(
            p, TEST_ACTOR, "0015654aa937", "yealink-t46g", users=["201"]
        )

        provisioner = build_provisioner(p)
        first = await provisioner.serve(
            PhoneRequest("0015654aa937.cfg", "GET", "/0015654aa937.cfg", "192.0.2.7", UA)
        )
        assert first.status == 401
        challenge = parse_challenge(dict(first.headers)["WWW-Authenticate"])
        header = authorization(challenge, cred.username, cred.password, "GET", "/0015654aa937.cfg")
        reply = await provisioner.serve(
            PhoneRequest("0015654aa937.cfg", "GET", "/0015654aa937.cfg", "192.0.2.7", UA, header)
        )
        assert reply.status == 200
        assert b"account.1.user_name = 201" in reply.body
        device = await Device.get(mac="0015654aa937")
        assert device.sealed_at is not None and device.last_fetch_ip == "192.0.2.7"
