"""Voicemail's whole chain through real Kamailio, rtpengine and provd's media
application: a carrier's caller rings a user whose phone (sipp) does not answer; the
user's no-answer forward sends the call to their mailbox, where sipp plays its
recording after the beep; provd's collector files the message, e-mails the copy with
the WAV to a local SMTP sink and lights the phone's lamp (message-summary NOTIFY,
Messages-Waiting: yes)."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from provd.db.models import VoicemailMessage
from provd.domain.routing import Forwarding, ToUser, ToVoicemail
from provd.media.spool import SPOOL_DIR
from provd.pbx.media_app import media_dir
from provd.services import voicemail
from provd.services.limits.mail import Smtp
from provd.services.platform import Platform
from provd.services.voicemail import Ingested
from provd.services.voicemail.collector import VoicemailCollector
from provd.settings import Settings
from tests.conftest import TEST_ACTOR
from tests.pbx.conftest import PbxEnv, acme_called_from, ip, reg_row, unregister
from tests.pbx.sippctl import run_sipp, sipp
from tests.smtp_sink import smtp_sink

pytestmark = pytest.mark.asyncio(loop_scope="session")

CARRIER_UAC = (ip(150), 5062)
PHONE = (ip(151), 5090)
DID = "+31201234595"
EXTENSION = "2002"
ADDRESS = "desk-2002@example.test"


async def test_an_unanswered_call_leaves_a_message_emailed_and_lit(pbx: PbxEnv) -> None:
    media = media_dir(pbx.supervisor.settings)
    shutil.rmtree(media / SPOOL_DIR, ignore_errors=True)
    loaded = pbx.routing.table.tenant_for_domain("acme.test")
    assert loaded is not None
    user = replace(
        loaded.users[EXTENSION],
        forwarding=Forwarding(no_answer=ToVoicemail(EXTENSION), no_answer_after_s=2),
    )
    users = {**loaded.users, EXTENSION: user}
    registered = await run_sipp(
        "register.xml", pbx.work, remote=pbx.proxy, local=PHONE,
        rows=[reg_row(pbx.accounts[EXTENSION], PHONE)],
    )  # fmt: skip
    assert registered.rc == 0, registered.messages
    async with pbx.orm():
        await voicemail.set_email(
            Platform(pbx.data_dir, Settings(), pbx.box), TEST_ACTOR, "acme", EXTENSION, ADDRESS
        )
        before = await VoicemailMessage.filter(user__extension=EXTENSION).count()
    try:
        with acme_called_from(pbx, CARRIER_UAC[0], users=users, numbers={DID: ToUser(EXTENSION)}):
            # The phone rings and is cancelled when the user's 2 s are up.
            async with sipp("uas_cancel.xml", pbx.work, local=PHONE, timeout_s=20) as phone:
                carrier = await run_sipp(
                    "carrier_voicemail.xml",
                    pbx.work,
                    remote=pbx.proxy,
                    local=CARRIER_UAC,
                    media=(CARRIER_UAC[0], 19660),
                    rows=[["0201234595", "0612345678", "Jan Jansen", "X-Test: chain", "6000"]],
                    timeout_s=20,
                )
                rang = await phone.finish()
        assert carrier.rc == 0, carrier.messages
        assert rang.rc == 0, rang.messages
        assert len(rang.received("CANCEL ")) == 1

        with smtp_sink() as (port, inbox):
            async with (
                pbx.orm(),
                sipp("uas_notify.xml", pbx.work, local=PHONE, timeout_s=20) as lamp,
            ):
                collector = VoicemailCollector(
                    media,
                    pbx.data_dir,
                    control=pbx.supervisor.control,
                    smtp=Smtp("127.0.0.1", port, "provd@pbx.test"),
                    retention_days=30,
                )
                filed: list[Ingested] = []
                async with asyncio.timeout(15):
                    while not filed:
                        filed = await collector.collect()
                        await asyncio.sleep(0.2)
                lit = await lamp.finish()
                [message] = [f.message for f in filed]
                assert await VoicemailMessage.filter(user__extension=EXTENSION).count() == (
                    before + 1
                )
            mails = list(inbox)
    finally:
        await unregister(pbx, (EXTENSION,))
        async with pbx.orm():
            await voicemail.set_email(
                Platform(pbx.data_dir, Settings(), pbx.box), TEST_ACTOR, "acme", EXTENSION, None
            )
    # The forward's reason came along: the message says the user did not answer.
    assert message.reason == "no-answer"
    assert message.caller == "0612345678"
    assert message.duration_ms >= 2000, message.duration_ms
    assert message.received_at <= datetime.now(UTC)
    [mail] = mails
    assert mail["To"] == ADDRESS
    [attached] = [part for part in mail.walk() if part.get_filename()]
    assert attached.get_content_type() == "audio/wav"
    wav = attached.get_payload(decode=True)
    assert isinstance(wav, bytes) and wav[:4] == b"RIFF"
    assert wav == (pbx.data_dir / message.path).read_bytes()
    assert lit.rc == 0, lit.output
    [notify] = lit.received("NOTIFY ")
    assert "Event: message-summary" in notify
    assert "Messages-Waiting: yes" in notify
