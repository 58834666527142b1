"""The files a phone fetches are rendered once and served again while nothing changed,
and a change made through the services, by this process or another, is in the very
next answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from provd.security.digest import DigestAuthenticator
from provd.services import devices, firmware, layouts
from provd.services.directory import user_view, users
from provd.services.platform import Platform
from provd.services.provisioning import PhoneRequest, Provisioner
from provd.services.provisioning.mark_cache import audit_mark
from tests.conftest import TEST_ACTOR
from tests.digest_client import authorization, parse_challenge
from tests.firmware.images import add_image

MAC = "0015654aa937"
CFG = f"{MAC}.cfg"
UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37"


class Phone:
    def __init__(self, provisioner: Provisioner, username: str, password: str) -> None:
        self.provisioner = provisioner
        self.username = username
        self.password = password

    async def get(self, name: str) -> bytes:
        uri = f"/{name}"
        first = await self.provisioner.serve(PhoneRequest(name, "GET", uri, "192.0.2.7", UA))
        assert first.status == 401
        challenge = parse_challenge(dict(first.headers)["WWW-Authenticate"])
        header = authorization(challenge, self.username, self.password, "GET", uri)
        reply = await self.provisioner.serve(
            PhoneRequest(name, "GET", uri, "192.0.2.7", UA, header)
        )
        assert reply.status == 200, reply
        return reply.body


async def _phone(p: Platform) -> Phone:
    await users.add_user(p, TEST_ACTOR, "default", "201", "Front Desk")
    _, credential = await devices.add_device(p, TEST_ACTOR, MAC, "yealink-t46g", users=["201"])
    provisioner = Provisioner(p, DigestAuthenticator(b"k" * 32, "provd"))
    return Phone(provisioner, credential.username, credential.password)


async def test_a_file_is_rendered_once_while_nothing_changes(platform: Platform) -> None:
    phone = await _phone(platform)
    first = await phone.get(CFG)
    assert b"account.1.display_name = Front Desk" in first
    # The very bytes of the first answer: nothing was rendered again.
    assert await phone.get(CFG) is first
    # The seal of the first fetch is this process's own and changed no file.
    assert await phone.get(CFG) is first


async def test_a_renamed_user_is_in_the_next_answer(platform: Platform) -> None:
    phone = await _phone(platform)
    assert b"= Front Desk\n" in await phone.get(CFG)
    await user_view.update_user(platform, TEST_ACTOR, "default", "201", name="Reception")
    body = await phone.get(CFG)
    assert b"account.1.display_name = Reception\n" in body
    assert b"Front Desk" not in body


async def test_a_key_set_is_in_the_next_answer(platform: Platform) -> None:
    phone = await _phone(platform)
    assert b"linekey.2.type = 16" not in await phone.get(CFG)
    scope = await layouts.resolve_scope(device=MAC)
    await layouts.set_key(
        TEST_ACTOR, scope, None, "line:2", "speed_dial", target="0612345678", label="Mobile"
    )
    body = await phone.get(CFG)
    assert b"linekey.2.value = 0612345678\n" in body
    assert b"linekey.2.label = Mobile\n" in body


async def test_a_firmware_pin_is_in_the_next_answer(platform: Platform) -> None:
    phone = await _phone(platform)
    await add_image(platform, "28.83.0.120")
    assert b"static.firmware.url" not in await phone.get(CFG)
    scope = await firmware.pin_scope(device=MAC)
    await firmware.set_pin(TEST_ACTOR, scope, model="yealink-t46g", version="28.83.0.120")
    assert b"/T46-28.83.0.120.rom\n" in await phone.get(CFG)


@pytest.mark.slow
async def test_a_change_another_process_made_is_in_the_next_answer(platform: Platform) -> None:
    phone = await _phone(platform)
    assert b"= Front Desk\n" in await phone.get(CFG)
    before = await audit_mark()
    # provd's own command line, writing to the same SQLite file.
    command = ["user", "set", "201", "--name", "Rear Desk"]
    done = subprocess.run(
        [sys.executable, "-m", "provd", "--data-dir", str(Path(platform.data_dir)), *command],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert await audit_mark() > before
    body = await phone.get(CFG)
    assert b"account.1.display_name = Rear Desk\n" in body
