"""`provd serve --pbx` as a newcomer runs it: two provisioned users register and call
through Kamailio and rtpengine; status, resync and reboot from the CLI and the API.

A real serve process with its own loopback addresses; the SIP credentials come from
the configuration each phone fetches (curl --digest), not from the database. Tests
run in file order on one server.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.pbx.conftest import Account, call_row, ip, reg_row
from tests.pbx.sippctl import run_sipp, sipp
from tests.procs import free_port, matching, provd_json, serve_pbx_args
from tests.services.queues.spool import spool_queue_call
from tests.services.voicemail.spool import spool_message

pytestmark = pytest.mark.slow

PROXY = ip(161)
MEDIA = ip(170)
PHONE_A = (ip(162), 5061)
PHONE_B = (ip(163), 5070)
PHONE_C = (ip(164), 5072)
MAC_A, MAC_B = "001565a00001", "001565a00002"
SIPP_UA = "Yealink SIP-T46G 28.83.0.120"
T46G_UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:a0:00:01"
_TIMEOUT_S = 30.0


def _provd_text(data_dir: Path, *args: str) -> str:
    argv = [sys.executable, "-m", "provd", "--data-dir", str(data_dir), *args]
    return subprocess.run(
        argv, check=True, capture_output=True, text=True, timeout=_TIMEOUT_S
    ).stdout


def _pbx_pids(data_dir: Path) -> list[int]:
    """Kamailio (its config lives in the data dir) and rtpengine (our ng address)."""
    return matching(str(data_dir), f"--listen-ng={PROXY}:", programs=("kamailio", "rtpengine"))


@dataclass
class Served:
    data_dir: Path
    https: int
    token: str
    log: Path
    work: Path
    credentials: dict[str, dict[str, str]]
    """Per MAC, the provisioning URL, username and password ``device add`` printed."""
    accounts: dict[str, Account] = field(default_factory=dict)
    """Per extension, the SIP account as the phone's configuration carries it."""

    async def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "provd", "--data-dir", str(self.data_dir), *args]
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), _TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        assert proc.returncode is not None
        return subprocess.CompletedProcess(argv, proc.returncode, out.decode(), err.decode())

    async def cli_json(self, *args: str) -> Any:
        done = await self.cli(*args, "--json")
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    def fetch_config(self, mac: str, username: str, password: str) -> dict[str, str]:
        """The phone's own .cfg as it fetches it, as ``key = value`` pairs."""
        done = subprocess.run(
            [
                "curl",
                "-sS",
                "--fail",
                "--digest",
                "-u",
                f"{username}:{password}",
                "-A",
                T46G_UA,
                "--cacert",
                str(self.data_dir / "ca.pem"),
                f"https://127.0.0.1:{self.https}/{mac}.cfg",
            ],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=True,
        )
        pairs = (line.split(" = ", 1) for line in done.stdout.splitlines() if " = " in line)
        return {k: v for k, v in pairs}

    async def api(self, method: str, path: str) -> tuple[int, Any]:
        ssl_ctx = ssl.create_default_context(cafile=str(self.data_dir / "ca.pem"))
        async with (
            aiohttp.ClientSession(
                base_url=f"https://127.0.0.1:{self.https}",
                connector=aiohttp.TCPConnector(ssl=ssl_ctx),
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=aiohttp.ClientTimeout(total=_TIMEOUT_S),
            ) as s,
            s.request(method, "/api/v1" + path) as r,
        ):
            return r.status, await r.json()

    def account(self, ext: str) -> Account:
        """The SIP account of 201 or 202 as its phone's configuration carries it (fetched
        once): every test can run alone, or on its own xdist worker."""
        if ext not in self.accounts:
            mac = {"201": MAC_A, "202": MAC_B}[ext]
            prov = self.credentials[mac]
            cfg = self.fetch_config(mac, prov["username"], prov["password"])
            self.accounts[ext] = Account(
                extension=ext,
                domain=cfg["account.1.sip_server.1.address"],
                username=cfg["account.1.auth_name"],
                password=cfg["account.1.password"],
            )
        return self.accounts[ext]

    async def both_registered(self) -> None:
        """Both phones registered (again, if a test before unregistered one)."""
        assert await self.register(self.account("201"), PHONE_A) == 0
        assert await self.register(self.account("202"), PHONE_B) == 0

    async def register(self, account: Account, where: tuple[str, int], expires: int = 600) -> int:
        row = reg_row(account, where, expires=expires)
        done = await run_sipp(
            "register.xml", self.work, remote=f"{PROXY}:5060", local=where, rows=[row]
        )
        return done.rc


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("serve-pbx")
    data_dir = tmp / "data"
    https = free_port()
    init = provd_json(data_dir, "init", "--public-host", "127.0.0.1", "--https-port", str(https))
    for ext, name in (("201", "Front Desk"), ("202", "Back Office")):
        provd_json(data_dir, "user", "add", "--extension", ext, "--name", name)
    creds = {}
    for mac, ext in ((MAC_A, "201"), (MAC_B, "202")):
        added = provd_json(
            data_dir, "device", "add", "--mac", mac, "--model", "yealink-t46g", "--user", ext
        )
        creds[mac] = added["provisioning"]
    log = tmp / "serve.log"
    argv = [
        sys.executable,
        "-m",
        "provd",
        "--data-dir",
        str(data_dir),
        "serve",
        "--bind",
        "127.0.0.1",
        *serve_pbx_args(PROXY, MEDIA),
    ]
    with log.open("w") as log_file:
        proc = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + _TIMEOUT_S
            while "phones register at" not in log.read_text():
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "serve --pbx not up:\n" + log.read_text()
                time.sleep(0.1)
            yield Served(data_dir, https, str(init["api_token"]), log, tmp, creds)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                rc = proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            left = _pbx_pids(data_dir)
            for pid in left:
                os.kill(pid, signal.SIGKILL)
    assert rc == 0, log.read_text()
    assert left == [], "serve left PBX processes behind"


def test_phones_are_provisioned_with_the_pbx_and_their_credentials(served: Served) -> None:
    for mac, ext in ((MAC_A, "201"), (MAC_B, "202")):
        prov = served.credentials[mac]
        cfg = served.fetch_config(mac, prov["username"], prov["password"])
        # No SIP proxy was configured: phones are sent to the PBX serve runs.
        assert cfg["account.1.outbound_proxy.1.address"] == PROXY
        assert cfg["account.1.outbound_proxy.1.port"] == "5060"
        assert cfg["account.1.user_name"] == ext
        # The admin's preview shows what the phone got.
        preview = _provd_text(served.data_dir, "device", "config", mac, f"{mac}.cfg")
        assert f"account.1.outbound_proxy.1.address = {PROXY}\n" in preview
        assert served.account(ext).password == cfg["account.1.password"]


async def test_provisioned_users_register_and_call_through_rtpengine(served: Served) -> None:
    a, b = served.account("201"), served.account("202")
    assert await served.register(a, PHONE_A) == 0
    assert await served.register(b, PHONE_B) == 0
    wrong = Account(a.extension, a.domain, a.username, a.password + "x")
    assert await served.register(wrong, PHONE_C) != 0

    async with sipp("uas_call.xml", served.work, local=PHONE_B, media=(PHONE_B[0], 18000)) as uas:
        await asyncio.sleep(0.3)
        caller = await run_sipp(
            "uac_call.xml",
            served.work,
            remote=f"{PROXY}:5060",
            local=PHONE_A,
            media=(PHONE_A[0], 16000),
            rows=[call_row(a, "202", a.domain)],
        )
        callee = await uas.finish()
    assert caller.rc == 0, caller.messages
    assert callee.rc == 0, callee.messages
    [invite] = callee.received("INVITE ")
    assert re.search(rf"^c=IN IP4 {re.escape(MEDIA)}$", invite, re.M), invite
    [answer] = [m for m in caller.received("SIP/2.0 200 OK") if "CSeq: 2 INVITE" in m]
    assert re.search(rf"^c=IN IP4 {re.escape(MEDIA)}$", answer, re.M), answer
    assert callee.received("BYE ")


async def test_device_list_and_api_show_registrations(served: Served) -> None:
    await served.both_registered()
    rows = {r["mac"]: r for r in await served.cli_json("device", "list")}
    for mac, phone in ((MAC_A, PHONE_A), (MAC_B, PHONE_B)):
        assert rows[mac]["registered"] is True
        [line] = rows[mac]["registration"]
        assert line["user_agent"] == SIPP_UA
        assert line["wan_address"] == line["lan_address"] == f"{phone[0]}:{phone[1]}"
        assert line["expires_at"]
    text = (await served.cli("device", "list")).stdout
    assert "REGISTERED" in text.splitlines()[0]
    assert re.search(rf"^{MAC_A} .* yes ", text, re.M), text

    shown = (await served.cli("device", "show", MAC_A)).stdout
    assert f"user agent:  {SIPP_UA}" in shown
    status, body = await served.api("GET", "/registrations")
    assert status == 200
    assert {r["mac"]: r["registered"] for r in body} == {MAC_A: True, MAC_B: True}
    status, body = await served.api("GET", f"/devices/{MAC_B}/registration")
    assert status == 200 and body["registration"][0]["user_agent"] == SIPP_UA


async def test_resync_by_cli_and_reboot_by_api_reach_the_phones(served: Served) -> None:
    await served.both_registered()
    async with sipp("uas_notify.xml", served.work, local=PHONE_A) as phone:
        await asyncio.sleep(0.3)
        done = await served.cli("device", "resync", MAC_A)
        received = await phone.finish()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "line 1 (201@default.provd.internal): sent (phone answered 200)" in done.stdout
    [notify] = received.received("NOTIFY ")
    assert "Event: check-sync;reboot=false" in notify

    async with sipp("uas_notify.xml", served.work, local=PHONE_B) as phone:
        await asyncio.sleep(0.3)
        status, body = await served.api("POST", f"/devices/{MAC_B}/reboot")
        received = await phone.finish()
    assert status == 200, body
    assert body["lines"][0]["text"] == "sent (phone answered 200)"
    [notify] = received.received("NOTIFY ")
    assert "Event: check-sync;reboot=true" in notify

    status, audit = await served.api("GET", "/audit?limit=5")
    actions = {(r["action"], r["object_key"], r["actor"].split(":")[0]) for r in audit}
    assert {("device.resync", MAC_A, "cli"), ("device.reboot", MAC_B, "api")} <= actions


async def test_unregistered_phone_shows_and_cannot_be_resynced(served: Served) -> None:
    await served.both_registered()
    assert await served.register(served.account("201"), PHONE_A, expires=0) == 0
    rows = {r["mac"]: r for r in await served.cli_json("device", "list")}
    assert rows[MAC_A]["registered"] is False, json.dumps(rows[MAC_A]["registration"])
    assert rows[MAC_A]["registration"][0]["contact"] is None
    assert rows[MAC_B]["registered"] is True

    done = await served.cli("device", "resync", MAC_A)
    assert done.returncode == 1
    assert "line 1 (201@default.provd.internal): not registered" in done.stdout
    assert MAC_A in done.stderr
    status, body = await served.api("POST", f"/devices/{MAC_A}/resync")
    assert status == 409
    assert body["error"]["mac"] == MAC_A
    assert body["error"]["lines"][0]["outcome"] == "not_registered"


async def test_user_added_by_the_cli_while_serving_can_register(served: Served) -> None:
    added = await served.cli_json("user", "add", "--extension", "203", "--name", "Late")
    account = Account("203", added["sip_domain"], added["sip_username"], added["sip_password"])
    started = time.monotonic()
    while await served.register(account, PHONE_C) != 0:
        assert time.monotonic() - started < 5, "the new user never reached Kamailio"
        await asyncio.sleep(0.2)
    print(f"user added by the CLI registered after {time.monotonic() - started:.1f} s")

    removed = await served.cli("user", "remove", "203")
    assert removed.returncode == 0, removed.stderr
    started = time.monotonic()
    while await served.register(account, PHONE_C) == 0:
        assert time.monotonic() - started < 5, "the removed user can still register"
        await asyncio.sleep(0.2)


CARRIER_GW = (ip(165), 5060)
CARRIER_UAC = (ip(165), 5062)


async def test_numbers_and_a_carrier_set_by_the_cli_route_calls_in_and_out(served: Served) -> None:
    """The issue's scenario from the CLI alone: a block, a number for 201, a carrier;
    serve notices (its audit watcher rebuilds the routing table) and calls flow."""
    assert await served.cli_json("number", "add", "020 123 4500", "--count", "10")
    assert await served.cli_json("number", "assign", "0201234501", "--user", "201")
    host = f"{CARRIER_GW[0]}:{CARRIER_GW[1]}"
    assert await served.cli_json("carrier", "add", "upstream", "--host", host)
    a = served.account("201")
    assert await served.register(a, PHONE_A) == 0  # an earlier test unregistered it

    # In: the carrier calls 0201234501 and 201's phone rings.
    started = time.monotonic()
    while True:
        async with sipp(
            "uas_call.xml", served.work, local=PHONE_A, media=(PHONE_A[0], 18000), timeout_s=4
        ) as phone:
            await asyncio.sleep(0.3)
            carrier = await run_sipp(
                "carrier_call.xml",
                served.work,
                remote=f"{PROXY}:5060",
                local=CARRIER_UAC,
                media=(CARRIER_UAC[0], 16100),
                rows=[["0201234501", "0612345678", "Jan", "X-Test: 1"]],
                timeout_s=4,
            )
            answered = await phone.finish()
        if carrier.rc == 0:
            break
        # Until serve's watcher has seen the changes (within a second or two) the
        # carrier is nobody (403) or the number not in use (404).
        assert re.search(
            r"SIP/2\.0 (403 Forbidden: calls from outside|404 Number not in use)",
            carrier.messages,
        ), carrier.messages
        assert time.monotonic() - started < 10, "the number never reached routing"
    assert answered.rc == 0, answered.messages
    [invite] = answered.received("INVITE ")
    assert re.search(r"^From: .*<sip:0612345678@", invite, re.M), invite

    # Out: 201 dials 0201234567; the carrier gets +31201234567 with 201's number in PAI.
    # The gateway also answers serve's carrier probe (OPTIONS, each a sipp call of its
    # own): it stays up for more calls than this one and is stopped when it is done.
    async with sipp(
        "uas_gateway.xml",
        served.work,
        local=CARRIER_GW,
        media=(CARRIER_GW[0], 16200),
        calls=1000,
        timeout_s=10,
    ) as gateway:
        await asyncio.sleep(0.3)
        caller = await run_sipp(
            "uac_call.xml",
            served.work,
            remote=f"{PROXY}:5060",
            local=PHONE_A,
            media=(PHONE_A[0], 16000),
            rows=[call_row(a, "0201234567", a.domain)],
        )
        gateway.proc.kill()
        gw = await gateway.finish()
    assert caller.rc == 0, caller.messages
    [out] = gw.received("INVITE ")
    assert out.split()[1] == f"sip:+31201234567@{host}"
    assert re.search(r"^P-Asserted-Identity: <sip:\+31201234501@", out, re.M), out

    # The carrier answered calls; its OPTIONS state is in the list (probe every 30 s).
    [listed] = await served.cli_json("carrier", "list")
    assert listed["name"] == "upstream"


def test_bad_pbx_address_is_refused_before_anything_starts(served: Served) -> None:
    from click.testing import CliRunner

    from provd.cli import cli

    args = ["--data-dir", str(served.data_dir), "serve", "--pbx", "--sip-address", "10.0.0.300"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert "sip_address: '10.0.0.300' is not an IP address" in result.output
    # The running serve's record of its PBX is untouched.
    assert (served.data_dir / "pbx" / "runtime.json").exists()


async def test_a_menu_made_with_the_cli_answers_a_number_and_puts_the_caller_through(
    served: Served,
) -> None:
    """The admin's path: a sound (any format ffmpeg reads), a menu with key 1 to 201 and
    202 as its default, a number on it; serve writes the media application's menus and
    a carrier's caller who presses 1 reaches 201's phone."""
    greeting = served.work / "welcome-44k.wav"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "sine=frequency=800:duration=1", "-ar", "44100", "-ac", "2", str(greeting)],
        check=True, timeout=_TIMEOUT_S,
    )  # fmt: skip
    if not await served.cli_json("number", "list"):
        assert await served.cli_json("number", "add", "020 123 4500", "--count", "10")
    if not await served.cli_json("carrier", "list"):
        host = f"{CARRIER_GW[0]}:{CARRIER_GW[1]}"
        assert await served.cli_json("carrier", "add", "upstream", "--host", host)
    assert await served.cli_json("sounds", "add", "default", "welcome", str(greeting))
    added = await served.cli_json(
        "menus", "add", "default", "700", "--name", "Main", "--greeting", "welcome",
        "--key", "1=user:201", "--default", "user:202", "--timeout", "1", "--attempts", "1",
    )  # fmt: skip
    assert added
    assert await served.cli_json("number", "assign", "0201234502", "--menu", "700")
    # serve writes the menus for the media application (its audit watcher, each second).
    menus = served.data_dir / "pbx" / "media" / "menus.json"
    started = time.monotonic()
    while '"700"' not in (menus.read_text() if menus.exists() else ""):
        assert time.monotonic() - started < 10, "serve never wrote the menu"
        await asyncio.sleep(0.2)
    a = served.account("201")
    assert await served.register(a, PHONE_A) == 0

    started = time.monotonic()
    while True:
        async with sipp(
            "uas_call.xml", served.work, local=PHONE_A, media=(PHONE_A[0], 18010), timeout_s=12
        ) as phone:
            carrier = await run_sipp(
                "carrier_ivr_key.xml",
                served.work,
                remote=f"{PROXY}:5060",
                local=CARRIER_UAC,
                media=(CARRIER_UAC[0], 16110),
                rows=[["0201234502", "0612345678", "Jan", "X-Test: ivr", "3000"]],
                timeout_s=12,
            )
            if carrier.rc != 0:
                phone.proc.kill()  # nothing will ring it this time
            answered = await phone.finish()
        if carrier.rc == 0:
            break
        # Until the watcher has rebuilt the routing table the number is not in use.
        assert "SIP/2.0 404 Number not in use" in carrier.messages, carrier.messages
        assert time.monotonic() - started < 10, "the number never reached the menu"
    assert answered.rc == 0, answered.messages
    [invite] = answered.received("INVITE ")
    assert re.search(r"^From: .*<sip:0612345678@", invite, re.M), invite


async def test_an_announcement_and_music_on_hold_made_with_the_cli(served: Served) -> None:
    """An announcement played twice on a number, and the tenant's music on hold: the CLI
    writes the music's file at once, serve writes the media application's
    announcements.json, and a carrier's caller to the number is answered and gets the
    media application's BYE."""
    closed = served.work / "closed-44k.wav"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "sine=frequency=600:duration=0.5", "-ar", "44100", str(closed)],
        check=True, timeout=_TIMEOUT_S,
    )  # fmt: skip
    if not await served.cli_json("number", "list"):
        assert await served.cli_json("number", "add", "020 123 4500", "--count", "10")
    if not await served.cli_json("carrier", "list"):
        host = f"{CARRIER_GW[0]}:{CARRIER_GW[1]}"
        assert await served.cli_json("carrier", "add", "upstream", "--host", host)
    assert await served.cli_json("sounds", "add", "default", "closed", str(closed))
    assert await served.cli_json(
        "announcements", "add", "default", "820", "--name", "Closed", "--sound", "closed",
        "--plays", "2",
    )  # fmt: skip
    assert await served.cli_json("number", "assign", "0201234507", "--announcement", "820")
    music = await served.cli_json("moh", "set", "--sound", "closed", "--sound", "closed")
    assert music["sounds"] == ["closed", "closed"]
    assert (served.data_dir / "pbx" / "media" / "moh" / "tenants" / "default.wav").is_file()
    written = served.data_dir / "pbx" / "media" / "announcements.json"
    try:
        started = time.monotonic()
        while '"820"' not in (written.read_text() if written.exists() else ""):
            assert time.monotonic() - started < 10, "serve never wrote the announcement"
            await asyncio.sleep(0.2)

        started = time.monotonic()
        while True:
            carrier = await run_sipp(
                "carrier_announcement.xml",
                served.work,
                remote=f"{PROXY}:5060",
                local=CARRIER_UAC,
                media=(CARRIER_UAC[0], 16120),
                rows=[["0201234507", "0612345678", "Jan"]],
                timeout_s=12,
            )
            if carrier.rc == 0:
                break
            # Until the watcher has rebuilt the routing table the number is not in use.
            assert "SIP/2.0 404 Number not in use" in carrier.messages, carrier.messages
            assert time.monotonic() - started < 10, "the number never reached the announcement"
        assert len(carrier.received("BYE ")) == 1, carrier.messages
    finally:
        # The module's other tests use the same tenant: nothing of this one stays.
        assert await served.cli_json("moh", "clear")
        assert await served.cli_json("number", "release", "0201234507")
        assert await served.cli_json("announcements", "remove", "default", "820")
    assert not (served.data_dir / "pbx" / "media" / "moh" / "tenants" / "default.wav").exists()


async def test_serve_collects_voicemail_and_lights_the_phones_lamp(served: Served) -> None:
    """serve writes every user's mailbox for the media application, files a message the
    media application spooled for 202 and sends 202's phone a message-summary NOTIFY."""
    domain = (await served.cli_json("tenant", "show", "default"))["sip_domain"]
    mailboxes = served.data_dir / "pbx" / "media" / "mailboxes.json"
    started = time.monotonic()
    while '"202"' not in (mailboxes.read_text() if mailboxes.exists() else ""):
        assert time.monotonic() - started < 10, "serve never wrote the mailboxes"
        await asyncio.sleep(0.2)
    assert json.loads(mailboxes.read_text())["tenants"][domain]["202"] == {
        "greeting": None,
        "max_seconds": 120,
        "pin": None,
        "messages": [],
    }
    b = served.account("202")
    assert await served.register(b, PHONE_C) == 0
    try:
        async with sipp("uas_notify.xml", served.work, local=PHONE_C, timeout_s=12) as phone:
            await asyncio.sleep(0.3)
            spool_message(served.data_dir / "pbx" / "media", domain, "202")
            received = await phone.finish()
        assert received.rc == 0, received.output
        [notify] = received.received("NOTIFY ")
        assert "Event: message-summary" in notify and "Voice-Message: 1/0 (0/0)" in notify
        [message] = await served.cli_json("voicemail", "list", "default", "202")
        assert (message["caller_name"], message["heard"]) == ("Jan Jansen", False)
        assert list((served.data_dir / "pbx" / "media" / "voicemail" / "new").iterdir()) == []
        # The media application is told at once, for 202's next call to the mailbox.
        listed = json.loads(mailboxes.read_text())["tenants"][domain]["202"]["messages"]
        assert [(m["id"], m["heard"]) for m in listed] == [(message["id"], False)]
    finally:
        assert await served.register(b, PHONE_C, expires=0) == 0


async def test_a_caller_forwarded_to_voicemail_leaves_a_message_and_the_lamp_lights(
    served: Served,
) -> None:
    """The whole chain: 202 forwards every call to its mailbox (set with the CLI; a
    phone an earlier test registered for 202 may be gone, so not "unreachable"); a
    carrier's caller (sipp playing its A-law recording) leaves a message with the media
    application; serve files it and 202's phone, once registered, gets the NOTIFY."""
    if not await served.cli_json("number", "list"):
        assert await served.cli_json("number", "add", "020 123 4500", "--count", "10")
    if not await served.cli_json("carrier", "list"):
        host = f"{CARRIER_GW[0]}:{CARRIER_GW[1]}"
        assert await served.cli_json("carrier", "add", "upstream", "--host", host)
    assert await served.cli_json("number", "assign", "0201234503", "--user", "202")
    assert await served.cli_json("user", "forward", "202", "--always", "voicemail:202")
    before = len(await served.cli_json("voicemail", "list", "default", "202"))

    started = time.monotonic()
    while True:
        carrier = await run_sipp(
            "carrier_voicemail.xml",
            served.work,
            remote=f"{PROXY}:5060",
            local=CARRIER_UAC,
            media=(CARRIER_UAC[0], 16120),
            rows=[["0201234503", "0612345678", "Jan", "X-Test: vm", "3000"]],
            timeout_s=12,
        )
        if carrier.rc == 0:
            break
        # Until serve's watcher has rebuilt the routing table: the old plan for 202.
        assert time.monotonic() - started < 15, carrier.messages
        await asyncio.sleep(0.5)

    started = time.monotonic()
    while len(messages := await served.cli_json("voicemail", "list", "default", "202")) == before:
        assert time.monotonic() - started < 10, "serve never filed the message"
        await asyncio.sleep(0.3)
    newest = max(messages, key=lambda m: m["id"])
    assert newest["caller"] == "0612345678"
    assert newest["caller_number"] == "+31612345678"
    assert newest["duration_ms"] >= 1000, newest
    assert newest["heard"] is False

    # Marking it heard sends 202's phone the counts: the lamp's state as provd keeps it.
    b = served.account("202")
    assert await served.register(b, PHONE_C) == 0
    try:
        async with sipp("uas_notify.xml", served.work, local=PHONE_C, timeout_s=12) as phone:
            await asyncio.sleep(0.3)
            assert await served.cli_json("voicemail", "heard", "default", str(newest["id"]))
            received = await phone.finish()
        assert received.rc == 0, received.output
        [notify] = received.received("NOTIFY ")
        assert "Event: message-summary" in notify
        unheard = sum(1 for m in messages if not m["heard"]) - 1
        assert f"Voice-Message: {unheard}/" in notify, notify
    finally:
        assert await served.register(b, PHONE_C, expires=0) == 0
        assert await served.cli_json("user", "forward", "202", "--clear", "all")


async def test_a_queue_made_with_the_cli_reaches_the_media_application_and_star_904_logs_out(
    served: Served,
) -> None:
    """serve writes queues.json with the logged-in agents, files a caller's record the
    media application spooled, and an agent dialling *904 is logged out: the phone
    hears why, and queues.json has no agent any more."""
    domain = (await served.cli_json("tenant", "show", "default"))["sip_domain"]
    assert await served.cli_json("queues", "add", "default", "800", "--name", "Support",
                                 "--agent", "201", "--strategy", "fewest_calls")  # fmt: skip
    assert (await served.cli_json("queues", "login", "default", "201"))["changed"] == ["800"]
    media = served.data_dir / "pbx" / "media"
    queues_json = media / "queues.json"
    started = time.monotonic()
    while '"201"' not in (queues_json.read_text() if queues_json.exists() else ""):
        assert time.monotonic() - started < 10, "serve never wrote the queue's agent"
        await asyncio.sleep(0.2)
    queue = json.loads(queues_json.read_text())["tenants"][domain]["800"]
    assert (queue["tenant"], queue["strategy"]) == ("default", "fewest_calls")
    assert [a["extension"] for a in queue["agents"]] == ["201"]

    spool_queue_call(media, domain, "800", agent="201", talk_s=42.0)
    started = time.monotonic()
    while (await served.cli_json("queues", "stats", "default", "800"))["answered"] < 1:
        assert time.monotonic() - started < 10, "serve never filed the caller's record"
        await asyncio.sleep(0.3)
    assert list((media / "queue" / "calls").iterdir()) == []

    a = served.account("201")
    logged_out = await run_sipp(
        "call_rejected.xml",
        served.work,
        remote=f"{PROXY}:5060",
        local=(PHONE_A[0], 5064),
        rows=[call_row(a, "*904", a.domain)],
    )
    assert "SIP/2.0 480 Done: logged out of queue 800" in logged_out.messages, logged_out.messages
    # Written by the code's own call, not by the next poll: already there.
    assert json.loads(queues_json.read_text())["tenants"][domain]["800"]["agents"] == []
    assert await served.cli_json("queues", "remove", "default", "800")


async def test_the_main_number_a_day_menu_to_the_sales_queue_and_after_hours_to_voicemail(
    served: Served,
) -> None:
    """The hosted-PBX evening, all made with the CLI: the main number follows the office
    schedule; by day a menu ("1 for sales, 2 for support") whose key 1 is the Sales
    queue, which 201 joined with *903 from the phone and answers; after hours (the night
    switch) a closed message whose default is 202's mailbox, where the caller leaves a
    message serve files."""
    if not await served.cli_json("number", "list"):
        assert await served.cli_json("number", "add", "020 123 4500", "--count", "10")
    if not await served.cli_json("carrier", "list"):
        host = f"{CARRIER_GW[0]}:{CARRIER_GW[1]}"
        assert await served.cli_json("carrier", "add", "upstream", "--host", host)
    for name, hz in (("day-menu", 600), ("closed-message", 900)):
        wav = served.work / f"{name}.wav"
        subprocess.run(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
             "-i", f"sine=frequency={hz}:duration=1", str(wav)],
            check=True, timeout=_TIMEOUT_S,
        )  # fmt: skip
        assert await served.cli_json("sounds", "add", "default", name, str(wav))
    cli = served.cli_json
    assert await cli(
        "queues", "add", "default", "810", "--name", "Sales", "--strategy", "ring_all",
        "--agent", "201", "--ring", "10", "--max-wait", "60", "--failover", "voicemail:202",
    )  # fmt: skip
    assert await cli(
        "menus", "add", "default", "710", "--name", "Day", "--greeting", "day-menu",
        "--key", "1=queue:810", "--key", "2=user:202", "--default", "user:202",
        "--timeout", "1", "--attempts", "1",
    )  # fmt: skip
    assert await cli(
        "menus", "add", "default", "711", "--name", "Closed", "--greeting", "closed-message",
        "--default", "voicemail:202", "--timeout", "1", "--attempts", "1",
    )  # fmt: skip
    assert await cli("schedule", "add", "Office", "--rule", "mon-fri 08:00-17:00")
    assert await cli("route", "add", "Main", "--schedule", "Office", "--open", "menu:710",
                     "--closed", "menu:711")  # fmt: skip
    assert await cli("number", "assign", "0201234506", "--route", "Main")
    assert await cli("nightswitch", "Office", "off")  # open, whatever the time of the run

    a = served.account("201")
    assert await served.register(a, PHONE_A) == 0
    domain = (await cli("tenant", "show", "default"))["sip_domain"]
    queues_json = served.data_dir / "pbx" / "media" / "queues.json"
    try:
        joined = await run_sipp(
            "call_rejected.xml",
            served.work,
            remote=f"{PROXY}:5060",
            local=(PHONE_A[0], 5064),
            rows=[call_row(a, "*903", a.domain)],
        )
        assert re.search(r"SIP/2\.0 480 Done: .*810", joined.messages), joined.messages
        agents = json.loads(queues_json.read_text())["tenants"][domain]["810"]["agents"]
        assert [agent["extension"] for agent in agents] == ["201"]

        # By day: the menu, key 1, the Sales queue, 201's phone rings and answers.
        started = time.monotonic()
        while True:
            async with sipp(
                "uas_call.xml", served.work, local=PHONE_A, media=(PHONE_A[0], 18020),
                timeout_s=15,
            ) as phone:  # fmt: skip
                carrier = await run_sipp(
                    "carrier_ivr_key.xml",
                    served.work,
                    remote=f"{PROXY}:5060",
                    local=CARRIER_UAC,
                    media=(CARRIER_UAC[0], 16130),
                    rows=[["0201234506", "0612345678", "Jan", "X-Test: day", "5000"]],
                    timeout_s=15,
                )
                if carrier.rc != 0:
                    phone.proc.kill()
                answered = await phone.finish()
            if carrier.rc == 0:
                break
            # Until serve's watcher has rebuilt the routing table the number is not in use.
            assert "SIP/2.0 404 Number not in use" in carrier.messages, carrier.messages
            assert time.monotonic() - started < 10, "the number never reached the menu"
        assert answered.rc == 0, answered.messages
        [invite] = answered.received("INVITE ")
        assert re.search(r'^From: "Sales: Jan" <sip:0612345678@', invite, re.M), invite
        started = time.monotonic()
        while (await cli("queues", "stats", "default", "810"))["answered"] < 1:
            assert time.monotonic() - started < 10, "serve never filed the queue's caller"
            await asyncio.sleep(0.3)

        # After hours: the closed message, then 202's mailbox takes the message.
        assert await cli("nightswitch", "Office", "on")
        await asyncio.sleep(2)  # serve's watcher rebuilds the routing table each second
        before = len(await cli("voicemail", "list", "default", "202"))
        carrier = await run_sipp(
            "carrier_voicemail.xml",
            served.work,
            remote=f"{PROXY}:5060",
            local=CARRIER_UAC,
            media=(CARRIER_UAC[0], 16140),
            rows=[["0201234506", "0612345678", "Jan", "X-Test: night", "7000"]],
            timeout_s=15,
        )
        assert carrier.rc == 0, carrier.messages
        started = time.monotonic()
        while len(messages := await cli("voicemail", "list", "default", "202")) == before:
            assert time.monotonic() - started < 10, "no message was filed after hours"
            await asyncio.sleep(0.3)
        newest = max(messages, key=lambda m: m["id"])
        assert newest["caller"] == "0612345678"
        assert newest["duration_ms"] >= 1000, newest
    finally:
        await run_sipp(
            "call_rejected.xml",
            served.work,
            remote=f"{PROXY}:5060",
            local=(PHONE_A[0], 5064),
            rows=[call_row(a, "*904", a.domain)],
        )
        assert await served.register(a, PHONE_A, expires=0) == 0
        assert await cli("nightswitch", "Office", "auto")
