"""Voicemail lamps through real Kamailio: a message collected from the spool lights the
registered phone's lamp (message-summary NOTIFY with the counts), and marking it
heard puts the lamp out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from provd.db.connection import database
from provd.pbx.notify import CheckSyncOutcome
from provd.services import voicemail
from provd.services.platform import Platform
from provd.services.voicemail.collector import VoicemailCollector
from tests.conftest import TEST_SETTINGS
from tests.pbx.conftest import ACME, PbxEnv, ip, reg_row
from tests.pbx.sippctl import run_sipp, sipp
from tests.services.voicemail.spool import spool_message

pytestmark = pytest.mark.asyncio(loop_scope="session")

PHONE = (ip(150), 5078)


async def test_a_new_message_lights_the_phones_lamp_and_heard_puts_it_out(
    pbx: PbxEnv, tmp_path: Path
) -> None:
    account = pbx.accounts["2002"]
    registered = await run_sipp(
        "register.xml", pbx.work, remote=pbx.proxy, local=PHONE, rows=[reg_row(account, PHONE)]
    )
    assert registered.rc == 0, registered.messages
    media = tmp_path / "media"
    control = pbx.supervisor.control
    async with database(pbx.db_url):
        spool_message(media, ACME, "2002")
        collector = VoicemailCollector(
            media, tmp_path, control=control, smtp=None, retention_days=30
        )
        async with sipp("uas_notify.xml", pbx.work, local=PHONE, calls=2) as phone:
            await asyncio.sleep(0.3)
            [filed] = await collector.collect()
            _, user = await voicemail.mark_heard(
                _platform(pbx, tmp_path), voicemail.COLLECTOR, "acme", filed.message.id
            )
            out = await voicemail.notify_waiting(control, user)
            received = await phone.finish()
        assert (out.outcome, out.status) == (CheckSyncOutcome.DELIVERED, 200)
    assert received.rc == 0, received.output
    lit, out_again = received.received(f"NOTIFY sip:2002@{PHONE[0]}:{PHONE[1]}")
    for notify in (lit, out_again):
        assert "Event: message-summary" in notify
        assert "Content-Type: application/simple-message-summary" in notify
        assert f"Message-Account: sip:2002@{ACME}" in notify
        assert "X-Provd-Token" not in notify
    assert "Messages-Waiting: yes" in lit and "Voice-Message: 1/0 (0/0)" in lit
    assert "Messages-Waiting: no" in out_again and "Voice-Message: 0/1 (0/0)" in out_again


def _platform(pbx: PbxEnv, data_dir: Path) -> Platform:
    return Platform(data_dir, TEST_SETTINGS, pbx.box)
