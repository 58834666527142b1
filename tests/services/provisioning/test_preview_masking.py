"""The masked configuration preview (console device page, ``provd device config``) never
shows a secret, whatever characters it is made of and however the vendor escapes it."""

from __future__ import annotations

import html
from xml.sax.saxutils import escape as xml_escape

import pytest
from markupsafe import escape as markup_escape

from provd.db.models import Device, User
from provd.services import devices
from provd.services.directory import users
from provd.services.platform import Platform
from provd.services.provisioning import rendering
from tests.conftest import TEST_ACTOR

MACS = {"yealink-t46g": "0015654aa937", "snom-d785": "000413922d24"}
# Stored around the password rules on purpose: a preview must hold up for any value.
PASSWORDS = [
    "Aa1&<>\"'",
    "Zz9 \\ %=#;",
    "".join(chr(c) for c in range(0x21, 0x7F)),
    "Pässwörd€漢字😀",
    "&amp;&#38;]]>",
]


def _forms(secret: str) -> set[str]:
    return {
        secret,
        str(markup_escape(secret)),
        xml_escape(secret),
        xml_escape(secret, {'"': "&quot;", "'": "&apos;"}),
        html.escape(secret),
    }


@pytest.mark.parametrize("model", MACS)
@pytest.mark.parametrize("password", PASSWORDS)
async def test_preview_masks_every_secret_of_both_vendors(
    platform: Platform, model: str, password: str
) -> None:
    await users.add_user(platform, TEST_ACTOR, "default", "201", "Anna")
    await users.add_user(platform, TEST_ACTOR, "default", "202", "Bram")
    mac = MACS[model]
    await devices.add_device(platform, TEST_ACTOR, mac, model, users=["201", "202"])
    secrets = {
        "provisioning": password + "P",
        "admin": password + "A",
        "sip 201": password + "L1",
        "sip 202": password + "L2",
    }
    await Device.filter(mac=mac).update(
        prov_password_enc=platform.box.seal(secrets["provisioning"]),
        admin_password_enc=platform.box.seal(secrets["admin"]),
    )
    for ext in ("201", "202"):
        await User.filter(extension=ext).update(
            sip_password_enc=platform.box.seal(secrets[f"sip {ext}"])
        )
    device = await devices.get_device(mac)

    preview = "".join(b.decode() for b in (await rendering.render_all(platform, device)).values())
    revealed = "".join(
        b.decode() for b in (await rendering.render_all(platform, device, reveal=True)).values()
    )
    for what, secret in secrets.items():
        # The revealed file does carry it, in some form: the check below can find one.
        assert any(form in revealed for form in _forms(secret)), what
        for form in _forms(secret):
            assert form not in preview, f"the {what} password shows as {form!r}"
    assert preview.count(rendering.MASK) >= len(secrets)
