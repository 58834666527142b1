"""The claim sheet: a card per user, and QR codes that decode back to the claim URL."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from PIL import Image

from provd.domain.errors import InvalidInput, NotFound
from provd.services import devices
from provd.services.directory import tenants, users
from provd.services.installer import sheets
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR


@pytest.fixture
async def acme(platform: Platform) -> Platform:
    await tenants.add_tenant(platform, TEST_ACTOR, "acme", name="Acme & Co")
    for ext, name in (("201", "Anna <Desk>"), ("202", "Bram"), ("203", "Cor")):
        await users.add_user(platform, TEST_ACTOR, "acme", ext, name)
    await users.add_user(platform, TEST_ACTOR, "default", "299", "Not Acme")
    await devices.add_device(
        platform, TEST_ACTOR, "0015654aa937", "yealink-t46g", tenant_slug="acme", users=["201"]
    )
    await devices.add_device(
        platform, TEST_ACTOR, "000413922d24", "snom-d785", tenant_slug="acme", users=["203", "202"]
    )
    return platform


def decode(png: bytes) -> list[str]:
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


async def test_a_card_per_user_of_the_tenant_with_its_claimed_phone(acme: Platform) -> None:
    sheet = await sheets.claim_sheet(acme, "acme")
    assert (sheet.tenant, sheet.tenant_name) == ("acme", "Acme & Co")
    cards = {c.extension: c for c in sheet.cards}
    assert list(cards) == ["201", "202", "203"]
    assert (cards["201"].mac, cards["201"].model) == ("00:15:65:4a:a9:37", "yealink-t46g")
    assert cards["201"].model_name == "Yealink SIP-T46G"
    # Bram is on line 2 of Cor's phone: he has no phone of his own yet.
    assert cards["202"].mac is None and not cards["202"].claimed
    assert cards["202"].other_lines == ("line 2 of 00:04:13:92:2d:24",)
    assert cards["203"].model == "snom-d785"
    assert cards["201"].claim_url == (
        "https://provd.test:8443/install/?tenant=acme&extension=201&model=yealink-t46g"
    )
    assert cards["202"].claim_url == "https://provd.test:8443/install/?tenant=acme&extension=202"
    assert cards["201"].claim_code == "acme 201 yealink-t46g"


async def test_the_qr_code_decodes_to_the_claim_url(acme: Platform) -> None:
    sheet = await sheets.claim_sheet(acme, "acme", model="yealink-t48g")
    for card in sheet.cards:
        assert decode(sheets.qr_png(card.claim_url)) == [card.claim_url]
        query = parse_qs(urlsplit(card.claim_url).query)
        assert query["tenant"] == ["acme"] and query["extension"] == [card.extension]
        assert card.qr_svg.startswith("data:image/svg+xml")
    planned = {c.extension: c.model for c in sheet.cards}
    assert planned == {"201": "yealink-t46g", "202": "yealink-t48g", "203": "snom-d785"}


async def test_unclaimed_only_and_bad_input(acme: Platform) -> None:
    sheet = await sheets.claim_sheet(acme, "acme", unclaimed_only=True)
    assert [c.extension for c in sheet.cards] == ["202"]
    with pytest.raises(NotFound):
        await sheets.claim_sheet(acme, "nowhere")
    with pytest.raises(InvalidInput) as caught:
        await sheets.claim_sheet(acme, "acme", model="yealink-t99")
    assert caught.value.field == "model"
