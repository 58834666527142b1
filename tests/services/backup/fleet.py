"""What the backup tests back up: a user, a phone with a pinned firmware, and how a phone
sees it (its files, rendered with secrets, and a Digest-authenticated fetch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provd.security.secretbox import KEY_FILE, SecretBox
from provd.services import devices, firmware
from provd.services.directory import users
from provd.services.platform import Platform
from provd.services.provisioning import PhoneRequest
from provd.services.provisioning.rendering import render_all
from provd.settings import load_settings
from provd.web.server import build_provisioner
from tests.conftest import TEST_ACTOR
from tests.digest_client import authorization, parse_challenge
from tests.firmware.images import T46G, add_image

PASSPHRASE = "Correct-Horse-9-battery"
MAC = "0015654aa937"
CONFIG = f"{MAC}.cfg"
UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:4a:a9:37"


@dataclass(frozen=True)
class Phone:
    username: str
    password: str
    files: dict[str, bytes]
    """Every file the phone fetches, as it gets them (secrets in)."""


async def populate(p: Platform) -> Phone:
    """Rows in the database, a sealed secret per line and device, a file in the store."""
    await users.add_user(p, TEST_ACTOR, "default", "201", "Front Desk")
    _, credential = await devices.add_device(p, TEST_ACTOR, MAC, T46G, users=["201"])
    await add_image(p, "28.83.0.120")
    await firmware.set_pin(
        TEST_ACTOR, await firmware.pin_scope(), model=T46G, version="28.83.0.120"
    )
    files = await render_all(p, await devices.get_device(MAC), reveal=True)
    assert b"28.83.0.120" in files[CONFIG]
    return Phone(credential.username, credential.password, files)


def restored_platform(data_dir: Path) -> Platform:
    """The platform of a restored data directory (its key must have been restored)."""
    assert (data_dir / KEY_FILE).is_file()
    return Platform(data_dir, load_settings(data_dir), SecretBox.load_or_create(data_dir))


async def fetch_config(p: Platform, username: str, password: str) -> bytes:
    """The phone's configuration as served: challenged, then with its Digest credentials."""
    provisioner = build_provisioner(p)
    path = f"/{CONFIG}"
    first = await provisioner.serve(PhoneRequest(CONFIG, "GET", path, "192.0.2.7", UA))
    assert first.status == 401
    challenge = parse_challenge(dict(first.headers)["WWW-Authenticate"])
    header = authorization(challenge, username, password, "GET", path)
    reply = await provisioner.serve(PhoneRequest(CONFIG, "GET", path, "192.0.2.7", UA, header))
    assert reply.status == 200, reply.body
    return bytes(reply.body)


async def phone_files(p: Platform) -> dict[str, bytes]:
    return await render_all(p, await devices.get_device(MAC), reveal=True)
