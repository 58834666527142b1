"""BLF (WITH_BLF): a phone's key subscribed to a colleague's extension sees its
calls, and only a colleague's: never another tenant's, never without credentials.

One PBX with the presence modules on, shared by the tests of this module, on
its own addresses. Two tenants: A (``blf.test``) and B (``blf-other.test``);
both have an extension 2002, as real tenants share extension numbers.

Every test that expects nothing to arrive also makes something to arrive: a
legitimate watcher of the same tenant sees the states of a real call while the
refused one listens, so "no NOTIFY" means refused, not idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from provd.db.connection import database, db_url_for, upgrade_schema
from provd.db.models import Queue, QueueAgent, Schedule, Tenant, User
from provd.pbx.supervisor import PbxSupervisor
from provd.security.secretbox import SecretBox
from provd.services.pbx.night_switch import NightSwitchLamps
from provd.services.pbx.queue_lamps import AgentLamps
from tests.pbx.conftest import (
    Account,
    _tenant,
    add_user,
    call_row,
    ip,
    pbx_settings,
    reg_row,
    routing_listener,
)
from tests.pbx.sippctl import SippResult, SippRun, run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="module")

PROXY_IP = ip(61)
MEDIA_IP = ip(70)
DOMAIN = "blf.test"
OTHER_DOMAIN = "blf-other.test"

# test_blf_watcher_sees_dialog_states
CALLER = (ip(62), 5061)
CALLEE = (ip(63), 5070)
WATCHER = (ip(64), 5090)
# test_blf_subscription_to_another_tenant_is_refused
B_CALLER = (ip(65), 5061)
B_CALLEE = (ip(66), 5070)
B_WATCHER = (ip(67), 5090)
A_PROBES = ip(68)
# test_blf_subscribe_without_credentials_is_challenged
NOAUTH_CALLER = (ip(71), 5061)
NOAUTH_CALLEE = (ip(72), 5070)
NOAUTH_WATCHER = (ip(73), 5090)
NOAUTH_PROBES = ip(74)
# test_the_night_switch_lamp_follows_the_switch
LAMP_WATCHER = (ip(77), 5090)
# test_an_agents_lamp_follows_their_queue_login
AGENT_WATCHER = (ip(78), 5090)
# test_blf_state_of_another_tenant_cannot_be_published
PUB_WATCHER = (ip(75), 5090)
PUBLISHER = (ip(76), 5100)

PROBE_TIMEOUT_S = 15.0
"""sipp's -timeout for blf_probe.xml / blf_noauth.xml: they stop by themselves once
no NOTIFY came for 4 s (their recv timeout), well before this."""


@dataclass(frozen=True, slots=True)
class BlfPbx:
    supervisor: PbxSupervisor
    work: Path
    a: dict[str, Account]
    """Tenant A (``blf.test``) by extension."""
    b: dict[str, Account]
    """Tenant B (``blf-other.test``) by extension."""
    db_url: str

    @property
    def proxy(self) -> str:
        return f"{PROXY_IP}:5060"

    def kamailio_log(self, *call_ids: str) -> str:
        """Kamailio's log lines about these calls (log_prefix carries the Call-ID)."""
        log = self.supervisor.settings.pbx_dir / "kamailio.log"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        return "\n".join(line for line in lines if any(c in line for c in call_ids))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def blf(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BlfPbx]:
    data_dir = tmp_path_factory.mktemp("blf-pbx")
    work = tmp_path_factory.mktemp("blf-sipp")
    db_url = db_url_for(data_dir)
    await upgrade_schema(db_url)
    box = SecretBox.load_or_create(data_dir)
    async with database(db_url):
        tenant_a = await _tenant(box, "blf", DOMAIN)
        tenant_b = await _tenant(box, "blf-other", OTHER_DOMAIN)
        a = {
            ext: await add_user(box, tenant_a, ext, ext) for ext in ("2000", "2001", "2002", "2003")
        }
        b = {
            ext: await add_user(box, tenant_b, ext, ext)
            for ext in ("3000", "3001", "3002", "3003", "2002")
        }
    settings = pbx_settings(
        data_dir,
        sip_address=PROXY_IP,
        rpc_address=PROXY_IP,
        rtpengine_ng_address=PROXY_IP,
        media_address=MEDIA_IP,
        with_blf=True,
        log_level=2,  # presence logs each NOTIFY it sends (for failure messages)
    )
    async with (
        routing_listener(settings, db_url),
        PbxSupervisor(settings, domains=[DOMAIN, OTHER_DOMAIN]) as pbx,
    ):
        async with database(db_url):
            await pbx.control.sync_subscribers(box)
        yield BlfPbx(pbx, work, a, b, db_url)


# ---------------------------------------------------------------- helpers


def answers(result: SippResult, method: str) -> list[int]:
    """Status codes of the responses sipp received to its ``method`` requests."""
    codes = []
    for response in result.received("SIP/2.0 "):
        if re.search(rf"^CSeq:\s*\d+ {method}\s*$", response, re.M | re.I):
            codes.append(int(response.split()[1]))
    return codes


def call_ids(result: SippResult) -> list[str]:
    return sorted(set(re.findall(r"^Call-ID:\s*(\S+)", result.messages, re.M | re.I)))


def notify_bodies(result: SippResult) -> list[str]:
    return [n.split("\n\n", 1)[1] if "\n\n" in n else "" for n in result.received("NOTIFY ")]


def dialog_states(result: SippResult) -> list[list[str]]:
    return [re.findall(r"<state>(\w+)</state>", body) for body in notify_bodies(result)]


def probe_row(
    account: Account, *, from_domain: str, request_uri: str, to: str, password: str | None = None
) -> list[str]:
    """blf_probe.xml: the watcher's From domain, R-URI and To are set one by one."""
    return [account.extension, from_domain, account.auth(password), request_uri, to]


async def register(blf: BlfPbx, account: Account, where: tuple[str, int]) -> None:
    reg = await run_sipp(
        "register.xml", blf.work, remote=blf.proxy, local=where, rows=[reg_row(account, where)]
    )
    assert reg.rc == 0, reg.messages


async def ring_answer_hang_up(
    blf: BlfPbx, caller: Account, callee: Account, at: tuple[str, int], to: tuple[str, int]
) -> None:
    """One real call (ringing, answered, hung up after 0.5 s) from ``at`` to ``callee``
    registered at ``to``. Generous sipp timeouts: on a loaded machine (a CI runner
    sharing its cores) the whole call took longer than sipp's default 8 s."""
    async with sipp("uas_call.xml", blf.work, local=to, media=(to[0], 18000), timeout_s=15) as uas:
        await asyncio.sleep(0.3)
        call = await run_sipp(
            "uac_call.xml",
            blf.work,
            remote=blf.proxy,
            local=at,
            media=(at[0], 16000),
            rows=[call_row(caller, callee.extension, callee.domain)],
            timeout_s=15,
        )
        answered = await uas.finish()
        assert answered.rc == 0, answered.messages
    assert call.rc == 0, call.messages


async def still_listening(probes: dict[str, SippRun]) -> None:
    """Every probe must still be running when the legitimate watcher has seen the
    whole call: otherwise "no NOTIFY" proves nothing (a slow machine)."""
    done = [name for name, run in probes.items() if run.proc.returncode is not None]
    assert not done, f"probes stopped listening before the call ended: {done}"


# ------------------------------------------------------------------ tests


async def test_blf_watcher_sees_dialog_states(blf: BlfPbx) -> None:
    """Within a tenant: 2002's key on 2000 sees early, confirmed, terminated of 2001 → 2000."""
    caller, callee, watcher = blf.a["2001"], blf.a["2000"], blf.a["2002"]
    await register(blf, callee, CALLEE)
    watch_row = [watcher.extension, DOMAIN, watcher.auth(), callee.extension]
    async with sipp(
        "blf_watch.xml", blf.work, remote=blf.proxy, local=WATCHER, rows=[watch_row], timeout_s=25
    ) as watch:
        await asyncio.sleep(0.5)  # subscribed, initial NOTIFY taken
        await ring_answer_hang_up(blf, caller, callee, CALLER, CALLEE)
        watched = await watch.finish()
    assert watched.rc == 0, watched.messages
    assert dialog_states(watched) == [[], ["early"], ["confirmed"], ["terminated"]]
    for n in watched.received("NOTIFY ")[1:]:
        assert f'entity="sip:2000@{DOMAIN}"' in n


async def test_blf_subscription_to_another_tenant_is_refused(blf: BlfPbx) -> None:
    """A's 2002 (with A's own, valid credentials) cannot watch B's 3000, however it
    words the SUBSCRIBE, while B's 2002 sees B's call 3001 → 3000."""
    target = blf.b["3000"]
    spy = blf.a["2002"]
    other = f"3000@{OTHER_DOMAIN}"
    refused = {
        # The plain case: B's address in R-URI and To.
        "b-in-ruri-and-to": probe_row(spy, from_domain=DOMAIN, request_uri=other, to=other),
        # B's domain in the R-URI only; the To names the own tenant.
        "b-in-ruri-only": probe_row(
            spy, from_domain=DOMAIN, request_uri=other, to=f"3000@{DOMAIN}"
        ),
        # The proxy's address as R-URI host (as phones often send), B in To.
        "ip-in-ruri": probe_row(spy, from_domain=DOMAIN, request_uri=f"3000@{PROXY_IP}", to=other),
        # Posing as B's 2002 (same extension, same digest username) with A's password.
        "posing-as-b": probe_row(spy, from_domain=OTHER_DOMAIN, request_uri=other, to=other),
    }
    # The R-URI names the own tenant (a subscription to the own domain may be
    # accepted), the To names B: the presentity must be the R-URI, never the To.
    to_only = probe_row(spy, from_domain=DOMAIN, request_uri=f"3000@{DOMAIN}", to=other)
    await register(blf, target, B_CALLEE)
    probes: dict[str, SippRun] = {}
    async with contextlib.AsyncExitStack() as stack:
        for port, (name, row) in enumerate([*refused.items(), ("b-in-to-only", to_only)], 5100):
            probes[name] = await stack.enter_async_context(
                sipp(
                    "blf_probe.xml",
                    blf.work,
                    remote=blf.proxy,
                    local=(A_PROBES, port),
                    rows=[row],
                    timeout_s=PROBE_TIMEOUT_S,
                )
            )
        colleague = blf.b["2002"]
        watch = await stack.enter_async_context(
            sipp(
                "blf_watch.xml",
                blf.work,
                remote=blf.proxy,
                local=B_WATCHER,
                rows=[[colleague.extension, OTHER_DOMAIN, colleague.auth(), target.extension]],
                timeout_s=15,
            )
        )
        await asyncio.sleep(0.5)
        await ring_answer_hang_up(blf, blf.b["3001"], target, B_CALLER, B_CALLEE)
        watched = await watch.finish()
        await still_listening(probes)
        results = {name: await run.finish() for name, run in probes.items()}

    # The positive control: B's state was being published during the probes' watch.
    assert watched.rc == 0, watched.messages
    assert dialog_states(watched) == [[], ["early"], ["confirmed"], ["terminated"]]

    for name, result in results.items():
        log = blf.kamailio_log(*call_ids(result))
        codes = answers(result, "SUBSCRIBE")
        assert result.rc == 0, f"{name}: unexpected message\n{result.messages}"
        assert codes[0] == 407, f"{name}: {codes}"  # always authenticated first
        if name == "b-in-to-only":
            # Not B's presentity: whatever it was told, no word about B's call.
            leaked = [b for b in notify_bodies(result) if OTHER_DOMAIN in b or "<dialog " in b]
            assert not leaked, f"{name}: B's dialog state reached A\n{leaked}\n{log}"
            continue
        assert 200 not in codes, f"{name}: subscription accepted {codes}\n{log}"
        assert result.received("NOTIFY ") == [], f"{name}: got NOTIFYs\n{result.messages}\n{log}"
        if name == "posing-as-b":
            # A's password is not B's 2002's: challenged again, as a wrong password is.
            assert codes == [407, 407], f"{name}: {codes}\n{log}"
        else:
            assert codes == [407, 403], f"{name}: {codes}\n{log}"


async def test_blf_subscribe_without_credentials_is_challenged(blf: BlfPbx) -> None:
    """No credentials (twice, then with a made-up To tag as if in a dialog) or a
    wrong password: never a 200, never a NOTIFY, while 2002 sees 2001 → 2003."""
    target, watcher = blf.a["2003"], blf.a["2002"]
    await register(blf, target, NOAUTH_CALLEE)
    async with contextlib.AsyncExitStack() as stack:
        noauth = await stack.enter_async_context(
            sipp(
                "blf_noauth.xml",
                blf.work,
                remote=blf.proxy,
                local=(NOAUTH_PROBES, 5100),
                rows=[[watcher.extension, DOMAIN, "", target.extension]],
                timeout_s=PROBE_TIMEOUT_S,
            )
        )
        own = f"{target.extension}@{DOMAIN}"
        wrong_password = await stack.enter_async_context(
            sipp(
                "blf_probe.xml",
                blf.work,
                remote=blf.proxy,
                local=(NOAUTH_PROBES, 5101),
                rows=[
                    probe_row(
                        watcher, from_domain=DOMAIN, request_uri=own, to=own, password="wrong"
                    )
                ],
                timeout_s=PROBE_TIMEOUT_S,
            )
        )
        watch = await stack.enter_async_context(
            sipp(
                "blf_watch.xml",
                blf.work,
                remote=blf.proxy,
                local=NOAUTH_WATCHER,
                rows=[[watcher.extension, DOMAIN, watcher.auth(), target.extension]],
                timeout_s=15,
            )
        )
        await asyncio.sleep(0.5)
        await ring_answer_hang_up(blf, blf.a["2001"], target, NOAUTH_CALLER, NOAUTH_CALLEE)
        watched = await watch.finish()
        await still_listening({"noauth": noauth, "wrong-password": wrong_password})
        anonymous = await noauth.finish()
        guessed = await wrong_password.finish()

    assert watched.rc == 0, watched.messages
    assert dialog_states(watched) == [[], ["early"], ["confirmed"], ["terminated"]]

    log = blf.kamailio_log(*call_ids(anonymous), *call_ids(guessed))
    codes = answers(anonymous, "SUBSCRIBE")
    assert anonymous.rc == 0, anonymous.messages
    # Challenged each time; the made-up dialog does not exist (in-dialog requests
    # skip authentication, so the presence server itself must refuse it).
    assert len(codes) == 3 and {*codes[:2]} <= {401, 407}, f"{codes}\n{log}"
    assert codes[2] == 481, f"{codes}\n{log}"
    assert anonymous.received("NOTIFY ") == [], f"{anonymous.messages}\n{log}"

    codes = answers(guessed, "SUBSCRIBE")
    assert guessed.rc == 0, guessed.messages
    assert codes == [407, 407], f"wrong password: {codes}\n{log}"
    assert guessed.received("NOTIFY ") == [], f"{guessed.messages}\n{log}"


async def test_blf_state_of_another_tenant_cannot_be_published(blf: BlfPbx) -> None:
    """A's 2001 (valid credentials) PUBLISHes a made-up "confirmed" dialog for B's
    3003: it must be refused, and B's 3002, watching 3003, must never see it.
    Phones need not publish: pua_dialoginfo does, from Kamailio's own socket."""
    target, colleague, publisher = blf.b["3003"], blf.b["3002"], blf.a["2001"]
    presentity = f"{target.extension}@{OTHER_DOMAIN}"
    async with sipp(
        "blf_probe.xml",
        blf.work,
        remote=blf.proxy,
        local=PUB_WATCHER,
        rows=[
            probe_row(colleague, from_domain=OTHER_DOMAIN, request_uri=presentity, to=presentity)
        ],
        timeout_s=PROBE_TIMEOUT_S,
    ) as watch:
        await asyncio.sleep(0.5)  # subscribed, initial NOTIFY taken
        published = await run_sipp(
            "blf_publish.xml",
            blf.work,
            remote=blf.proxy,
            local=PUBLISHER,
            rows=[[publisher.extension, DOMAIN, publisher.auth(), presentity]],
        )
        await asyncio.sleep(0.5)  # a NOTIFY caused by it would be out by now
        await still_listening({"watcher": watch})
        watched = await watch.finish()

    log = blf.kamailio_log(*call_ids(published), *call_ids(watched))
    assert watched.rc == 0, watched.messages
    assert answers(watched, "SUBSCRIBE") == [407, 200], watched.messages
    codes = answers(published, "PUBLISH")
    forged = [b for b in notify_bodies(watched) if "forged" in b]
    assert not forged, (
        f"tenant A's PUBLISH ({codes}) reached tenant B's watcher:\n{forged}\nKamailio:\n{log}"
    )
    assert codes and all(c >= 300 for c in codes), f"PUBLISH answered {codes}\n{log}"


async def test_the_night_switch_lamp_follows_the_switch(blf: BlfPbx) -> None:
    """A BLF key on ``*915`` (the code that flips the switch) is lit while the night
    switch is on: provd publishes the lamp, Kamailio notifies the key."""
    lamps = NightSwitchLamps()
    rpc = blf.supervisor.control.rpc
    async with database(blf.db_url):
        tenant = await Tenant.get(sip_domain=DOMAIN)
        schedule = await Schedule.create(tenant=tenant, name="office", rules=[], holidays=[])
        assert await lamps.publish(rpc) == 2  # *915 and *915*1, both dark
    receptionist = blf.a["2003"]
    row = [receptionist.extension, DOMAIN, receptionist.auth(), "*915"]
    try:
        async with sipp(
            "blf_watch.xml",
            blf.work,
            remote=blf.proxy,
            local=LAMP_WATCHER,
            rows=[row],
            timeout_s=25,
        ) as watch:
            await asyncio.sleep(0.5)  # subscribed, initial NOTIFY taken
            for state in ("closed", None, "closed"):
                async with database(blf.db_url):
                    schedule.override_state = state
                    await schedule.save(update_fields=["override_state"])
                    assert await lamps.publish(rpc) == 2
                    assert await lamps.publish(rpc) == 0  # unchanged: nothing sent
                await asyncio.sleep(0.3)
            watched = await watch.finish()
    finally:
        async with database(blf.db_url):
            await schedule.delete()
            await lamps.publish(rpc)
    assert watched.rc == 0, watched.messages
    assert dialog_states(watched) == [[], ["confirmed"], [], ["confirmed"]]
    for n in watched.received("NOTIFY ")[1:]:
        assert f'entity="sip:*915@{DOMAIN}"' in n


async def test_an_agents_lamp_follows_their_queue_login(blf: BlfPbx) -> None:
    """A BLF key on ``*903*2001`` (agent 2001's own lamp, and the code that flips their
    login) is lit while 2001 is logged in to any queue: provd publishes the lamp,
    Kamailio notifies the key. An agent of no queue any more has a dark lamp, once."""
    lamps = AgentLamps()
    rpc = blf.supervisor.control.rpc
    async with database(blf.db_url):
        tenant = await Tenant.get(sip_domain=DOMAIN)
        user = await User.get(tenant=tenant, extension="2001")
        queue = await Queue.create(
            tenant=tenant, extension="800", name="Support", strategy="ring_all"
        )
        agent = await QueueAgent.create(queue=queue, user=user, position=1)
        assert await lamps.publish(rpc) == 1  # *903*2001, dark
    agent_account = blf.a["2001"]
    row = [agent_account.extension, DOMAIN, agent_account.auth(), "*903*2001"]
    try:
        async with sipp(
            "blf_watch.xml",
            blf.work,
            remote=blf.proxy,
            local=AGENT_WATCHER,
            rows=[row],
            timeout_s=25,
        ) as watch:
            await asyncio.sleep(0.5)  # subscribed, initial NOTIFY taken
            for logged_in in (True, False, True):
                async with database(blf.db_url):
                    agent.logged_in = logged_in
                    await agent.save(update_fields=["logged_in"])
                    assert await lamps.publish(rpc) == 1
                    assert await lamps.publish(rpc) == 0  # unchanged: nothing sent
                await asyncio.sleep(0.3)
            watched = await watch.finish()
    finally:
        async with database(blf.db_url):
            await queue.delete()
            assert await lamps.publish(rpc) == 1  # no agent any more: dark, once
            assert await lamps.publish(rpc) == 0
    assert watched.rc == 0, watched.messages
    assert dialog_states(watched) == [[], ["confirmed"], [], ["confirmed"]]
    for n in watched.received("NOTIFY ")[1:]:
        assert f'entity="sip:*903*2001@{DOMAIN}"' in n
        assert 'dialog id="queue-login"' in n or "<dialog " not in n
