"""The production path: provd and Kamailio on one PostgreSQL database, usrloc write-through."""

from __future__ import annotations

from pathlib import Path

from provd.db.connection import database, upgrade_schema
from provd.db.models import User
from provd.pbx.database import PostgresKamailioDb
from provd.pbx.settings import DbEngine, PbxSettings
from provd.pbx.subscribers import tenant_domains
from provd.pbx.supervisor import PbxSupervisor
from provd.security.secretbox import SecretBox
from tests.pbx.conftest import _tenant, add_user, ip
from tests.pbx.sippctl import run_sipp
from tests.pg import create_database

PROXY_IP = ip(41)
PHONE = (ip(42), 5080)


async def test_pbx_on_postgresql(tmp_path: Path, postgres_server: str) -> None:
    url = create_database(postgres_server, "provd_pbx")
    await upgrade_schema(url)
    box = SecretBox.load_or_create(tmp_path)
    async with database(url):
        tenant = await _tenant(box, "pgco", "pg.test")
        account = await add_user(box, tenant, "4000", "pg-4000")
        domains = await tenant_domains()
    settings = PbxSettings.for_provd(
        tmp_path,
        url,
        sip_address=PROXY_IP,
        rpc_address=PROXY_IP,
        rtpengine_ng_address=PROXY_IP,
        media_address=ip(50),
        children=2,
    )
    assert settings.engine is DbEngine.POSTGRES and settings.usrloc_db_mode == 1
    async with PbxSupervisor(settings, domains=domains) as pbx:
        control = pbx.control
        assert isinstance(control.db, PostgresKamailioDb)
        async with database(url):
            report = await control.sync_subscribers(box)
        assert report.written == 1
        row = [account.extension, account.domain, account.auth(), "600", f"{PHONE[0]}:{PHONE[1]}"]
        reg = await run_sipp(
            "register.xml", tmp_path, remote=f"{PROXY_IP}:5060", local=PHONE, rows=[row]
        )
        assert reg.rc == 0, reg.messages
        assert (await control.registration(account.aor)).registered
        # Write-through: the binding is in PostgreSQL at once, not after a timer.
        pool = await control.db._get_pool()
        rows = await pool.fetch("SELECT username, domain, user_agent FROM location")
        assert [tuple(r) for r in rows] == [("4000", "pg.test", "Yealink SIP-T46G 28.83.0.120")]

        # A password change reaches Kamailio with the next sync: the old one stops working.
        async with database(url):
            user = await User.get(sip_username="pg-4000")
            user.sip_password_enc = box.seal("N3w-Password_1")
            await user.save()
            changed = await control.sync_subscribers(box)
        assert (changed.written, changed.deleted) == (1, 0)
        old = await run_sipp(
            "register_refused.xml", tmp_path, remote=f"{PROXY_IP}:5060", local=PHONE, rows=[row]
        )
        assert old.status_codes() == [401, 401]
        row[2] = "[authentication username=pg-4000 password=N3w-Password_1]"
        new = await run_sipp(
            "register.xml", tmp_path, remote=f"{PROXY_IP}:5060", local=PHONE, rows=[row]
        )
        assert new.rc == 0, new.messages
