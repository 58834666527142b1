"""docs/trunks.md, checked: the Asterisk (PJSIP) and FreePBX settings it documents are read
from the page, filled in for a trunk made here, and played by sipp as the customer's PBX
against a real Kamailio. A setting the page gets wrong (the realm, the From domain, the
proxy, the caller ID header) fails a registration or a call here."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from provd.db.models import Carrier, PhoneNumber, Tenant
from provd.services import audit
from provd.services.platform import Platform
from provd.services.trunks import NumberOnTrunk
from provd.services.trunks.create import add_trunk
from provd.services.trunks.remove import remove_trunk
from provd.settings import Settings
from tests.pbx.conftest import ACME, PROXY_IP, PbxEnv, ip, unregister
from tests.pbx.sippctl import run_sipp, sipp

pytestmark = pytest.mark.asyncio(loop_scope="session")

DOC = Path(__file__).resolve().parents[2] / "docs" / "trunks.md"
PBX_HOST = ip(84)
PBX_SIDE = (PBX_HOST, 5090)  # registers from, and takes calls at, this address
PBX_UAC = (PBX_HOST, 5092)
CARRIER = (ip(85), 5060)
CARRIER_UAC = (ip(85), 5062)
NUMBER = "+31201234530"
ACTOR = audit.Actor("cli:test")


@dataclass(frozen=True)
class Section:
    name: str
    values: dict[str, str]


def documented_pjsip(text: str) -> list[Section]:
    """The ``ini`` block under the page's Asterisk heading, as pjsip.conf sections (a
    name may repeat with different types, as pjsip allows)."""
    part = text.split("## Asterisk (PJSIP)", 1)[1]
    block = re.search(r"```ini\n(.*?)```", part, re.S)
    assert block is not None, "docs/trunks.md has no pjsip.conf block"
    sections: list[Section] = []
    for line in block.group(1).splitlines():
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            sections.append(Section(header.group(1), {}))
            continue
        key, _, value = line.partition("=")
        sections[-1].values[key.strip()] = value.strip()
    return sections


def documented_freepbx(text: str) -> dict[str, str]:
    part = text.split("## FreePBX", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\|[^|]+\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|$", part, re.M)
    return {k: v.strip("`") for k, v in rows if k not in ("Setting", "---")}


def of_type(sections: list[Section], kind: str) -> dict[str, str]:
    [found] = [s.values for s in sections if s.values.get("type") == kind]
    return found


def fill(value: str, values: dict[str, str]) -> str:
    out = value.replace("\\;", ";")
    for key, replacement in values.items():
        out = out.replace("{" + key + "}", replacement)
    assert "{" not in out, f"unfilled placeholder in {value!r}"
    return out


def uri_parts(uri: str) -> tuple[str, str]:
    """(user, host[:port]) of ``sip:user@host;params``."""
    body = uri.removeprefix("sip:").split(";", 1)[0]
    user, _, host = body.rpartition("@")
    return user, host


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def documented(pbx: PbxEnv) -> AsyncIterator[dict[str, str]]:
    platform = Platform(pbx.data_dir, Settings(), pbx.box)
    async with pbx.orm():
        tenant = await Tenant.get(sip_domain=ACME)
        await PhoneNumber.create(e164=NUMBER, tenant=tenant, block_first=NUMBER, block_count=1)
        await Carrier.create(
            name="docs-carrier", host=CARRIER[0], port=CARRIER[1], transport="udp", priority=10
        )
        made = await add_trunk(
            platform,
            ACTOR,
            "acme",
            "docs",
            channels=2,
            allow_ips=[PBX_HOST],
            numbers=[NumberOnTrunk(NUMBER)],
        )
        await pbx.supervisor.control.sync_subscribers(pbx.box)
    await pbx.refresh_routing()
    values = {
        "domain": ACME,
        "proxy": pbx.proxy,
        "proxy_host": PROXY_IP,
        "proxy_port": pbx.proxy.rsplit(":", 1)[1],
        "account": "docs-primary",
        "password": made.passwords["primary"],
        "number": NUMBER,
    }
    try:
        yield values
    finally:
        async with pbx.orm():
            await remove_trunk(platform, ACTOR, "acme", "docs")
            await PhoneNumber.filter(e164=NUMBER).delete()
            await Carrier.filter(name="docs-carrier").delete()
            await pbx.supervisor.control.sync_subscribers(pbx.box)
        await pbx.refresh_routing()
        await unregister(pbx, ("docs-primary",))


async def test_the_pjsip_settings_agree_with_each_other_and_with_the_platform(
    documented: dict[str, str],
) -> None:
    sections = documented_pjsip(DOC.read_text())
    reg = of_type(sections, "registration")
    auth = of_type(sections, "auth")
    endpoint = of_type(sections, "endpoint")
    aor = of_type(sections, "aor")
    domain = documented["domain"]
    assert uri_parts(fill(reg["server_uri"], documented)) == ("", domain)
    assert uri_parts(fill(reg["client_uri"], documented)) == ("docs-primary", domain)
    assert fill(auth["realm"], documented) == domain
    assert fill(auth["username"], documented) == "docs-primary"
    assert fill(endpoint["from_domain"], documented) == domain
    assert uri_parts(fill(aor["contact"], documented))[1] == domain
    for section in (reg, aor, endpoint):
        assert uri_parts(fill(section["outbound_proxy"], documented))[1] == documented["proxy"]
    # The platform's codec and DTMF expectations.
    assert endpoint["allow"].split(",")[0] == "alaw"
    assert endpoint["dtmf_mode"] == "rfc4733"
    assert endpoint["send_pai"] == "yes"


async def test_the_freepbx_table_says_the_same_as_the_pjsip_settings(
    documented: dict[str, str],
) -> None:
    text = DOC.read_text()
    sections = documented_pjsip(text)
    auth, endpoint = of_type(sections, "auth"), of_type(sections, "endpoint")
    freepbx = {
        k: fill(v, documented)
        for k, v in documented_freepbx(text).items()
        if "{" in v or k in ("Authentication", "Registration", "Send PAI")
    }
    assert freepbx["Username"] == fill(auth["username"], documented)
    assert freepbx["Secret"] == fill(auth["password"], documented)
    assert freepbx["From Domain"] == fill(endpoint["from_domain"], documented)
    assert freepbx["From User"] == fill(endpoint["from_user"], documented)
    assert freepbx["Outbound Proxy"] == fill(endpoint["outbound_proxy"], documented)
    assert f"{freepbx['SIP Server']}:{freepbx['SIP Server Port']}" == documented["proxy"]
    assert (freepbx["Authentication"], freepbx["Registration"]) == ("Outbound", "Send")
    assert freepbx["Send PAI"] == "Yes"


async def test_the_documented_pbx_registers_and_calls_in_and_out(
    pbx: PbxEnv, documented: dict[str, str]
) -> None:
    sections = documented_pjsip(DOC.read_text())
    reg = of_type(sections, "registration")
    auth = of_type(sections, "auth")
    endpoint = of_type(sections, "endpoint")
    aor = of_type(sections, "aor")
    client_user, client_host = uri_parts(fill(reg["client_uri"], documented))
    credentials = (
        f"[authentication username={fill(auth['username'], documented)}"
        f" password={fill(auth['password'], documented)}]"
    )
    proxy = uri_parts(fill(reg["outbound_proxy"], documented))[1]

    # The registration, as Asterisk sends it: To/From the client URI, via the proxy.
    registered = await run_sipp(
        "register.xml",
        pbx.work,
        remote=proxy,
        local=PBX_SIDE,
        rows=[
            [
                client_user,
                client_host,
                credentials,
                fill(reg["expiration"], documented),
                f"{PBX_SIDE[0]}:{PBX_SIDE[1]}",
            ]
        ],
    )
    assert registered.rc == 0, registered.messages
    try:
        # Out: From user and domain, and PAI from the endpoint (send_pai), to the AoR's host.
        from_user = fill(endpoint["from_user"], documented)
        from_domain = fill(endpoint["from_domain"], documented)
        async with sipp(
            "uas_call.xml", pbx.work, local=CARRIER, media=(CARRIER[0], 18900), timeout_s=12
        ) as gateway:
            await asyncio.sleep(0.3)
            caller = await run_sipp(
                "pbx_call.xml",
                pbx.work,
                remote=proxy,
                local=PBX_UAC,
                media=(PBX_HOST, 18920),
                rows=[
                    [
                        from_user,
                        from_domain,
                        credentials,
                        "0201234567",
                        uri_parts(fill(aor["contact"], documented))[1],
                        f"P-Asserted-Identity: <sip:{from_user}@{from_domain}>",
                        "X-Test: 1",
                    ]
                ],
                timeout_s=12,
            )
            out = await gateway.finish()
        assert caller.rc == 0, caller.messages
        assert out.rc == 0, out.messages
        [invite] = out.received("INVITE ")
        assert invite.split()[1].startswith("sip:+31201234567@"), invite
        assert f"P-Asserted-Identity: <sip:{NUMBER}@{ACME}>" in invite, invite

        # In: a carrier calls the trunk's number; the registered PBX gets it (e164 format).
        async with sipp(
            "uas_call.xml", pbx.work, local=PBX_SIDE, media=(PBX_HOST, 18940), timeout_s=12
        ) as pbx_side:
            await asyncio.sleep(0.3)
            carrier = await run_sipp(
                "carrier_call.xml",
                pbx.work,
                remote=pbx.proxy,
                local=CARRIER_UAC,
                media=(CARRIER_UAC[0], 18960),
                rows=[[NUMBER, "+31612345678", "Jan", "X-Test: 1"]],
                timeout_s=12,
            )
            incoming = await pbx_side.finish()
        assert carrier.rc == 0, carrier.messages
        assert incoming.rc == 0, incoming.messages
        [call] = incoming.received("INVITE ")
        assert call.split()[1].startswith(f"sip:{NUMBER}@"), call
    finally:
        await unregister(pbx, ("docs-primary",))
