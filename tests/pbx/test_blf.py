"""BLF (WITH_BLF): a phone's key subscribed to another extension sees its calls.

A second, short-lived PBX with the presence modules on, on its own addresses.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.pbx.supervisor import PbxSupervisor
from provd.security.secretbox import SecretBox
from tests.pbx.conftest import _tenant, add_user, call_row, ip, pbx_settings, reg_row
from tests.pbx.sippctl import run_sipp, sipp

PROXY_IP = ip(61)
CALLER = (ip(62), 5061)
CALLEE = (ip(63), 5070)
WATCHER = (ip(64), 5090)
DOMAIN = "blf.test"


async def test_blf_watcher_sees_dialog_states(tmp_path: Path) -> None:
    db_url = db_url_for(tmp_path)
    await upgrade_schema(db_url)
    box = SecretBox.load_or_create(tmp_path)
    async with database(db_url):
        tenant = await _tenant(box, "blf", DOMAIN)
        caller = await add_user(box, tenant, "2001", "2001")
        callee = await add_user(box, tenant, "2000", "2000")
        watcher = await add_user(box, tenant, "2002", "2002")
    settings = pbx_settings(
        tmp_path,
        sip_address=PROXY_IP,
        rpc_address=PROXY_IP,
        rtpengine_ng_address=PROXY_IP,
        media_address=ip(70),
        with_blf=True,
    )
    proxy = f"{PROXY_IP}:5060"
    async with PbxSupervisor(settings, domains=[DOMAIN]) as pbx:
        async with database(db_url):
            await pbx.control.sync_subscribers(box)
        reg = await run_sipp(
            "register.xml", tmp_path, remote=proxy, local=CALLEE, rows=[reg_row(callee, CALLEE)]
        )
        assert reg.rc == 0, reg.messages
        watch_row = [watcher.extension, DOMAIN, watcher.auth(), callee.extension]
        async with sipp(
            "blf_watch.xml", tmp_path, remote=proxy, local=WATCHER, rows=[watch_row], timeout_s=15
        ) as watch:
            await asyncio.sleep(0.5)  # subscribed, initial NOTIFY taken
            async with sipp(
                "uas_call.xml", tmp_path, local=CALLEE, media=(CALLEE[0], 18000)
            ) as uas:
                await asyncio.sleep(0.3)
                call = await run_sipp(
                    "uac_call.xml",
                    tmp_path,
                    remote=proxy,
                    local=CALLER,
                    media=(CALLER[0], 16000),
                    rows=[call_row(caller, callee.extension, DOMAIN)],
                )
                assert (await uas.finish()).rc == 0
            assert call.rc == 0, call.messages
            watched = await watch.finish()
    assert watched.rc == 0, watched.messages
    notifies = watched.received("NOTIFY ")
    states = [re.findall(r"<state>(\w+)</state>", n) for n in notifies]
    assert states == [[], ["early"], ["confirmed"], ["terminated"]], states
    for n in notifies[1:]:
        assert f'entity="sip:2000@{DOMAIN}"' in n
