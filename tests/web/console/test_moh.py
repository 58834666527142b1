"""The music on hold section of the console's Sounds page: the tenant's playlist picked
in order and saved (audited, its file written), a refusal shown with nothing stored,
back to the default; a tenant admin works in their own tenant only."""

from __future__ import annotations

from provd.db.models import AuditEntry, Tenant
from provd.pbx.media_app import media_dir_of, tenant_moh_file
from provd.services import moh
from provd.services.menus import sounds
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.services.menus.audio import tone_wav
from tests.web.console.conftest import Console
from tests.web.console.test_groups import text
from tests.web.console.test_numbers import field_error, flashes


async def _snapshot() -> list[object]:
    return [
        await AuditEntry.all().count(),
        await Tenant.all().order_by("id").values_list("slug", "moh_playlist"),
    ]


def _now(page: str) -> str:
    start = page.index('id="moh-now">') + len('id="moh-now">')
    return text(page[start : page.index("</p>", start)])


async def test_a_playlist_is_picked_in_order_saved_and_cleared(
    alice: Console, platform: Platform
) -> None:
    for name in ("jazz", "news"):
        await sounds.add_sound(platform, TEST_ACTOR, "acme", name, tone_wav(0.5))
    _, page = await alice.get("/console/sounds?tenant=acme")
    assert _now(page) == "The default music: pick the tenant's own below."
    assert 'name="moh_1"' in page and 'name="moh_2"' in page and 'name="moh_3"' not in page

    before = await _snapshot()
    _, page = await alice.post("/console/sounds/acme/moh", {"moh_1": "", "moh_2": ""})
    assert "name at least one" in field_error(page, "e-sounds")
    _, page = await alice.post("/console/sounds/acme/moh", {"moh_1": "gone"})
    assert "not found" in field_error(page, "e-sounds")
    assert any(f.startswith("The music on hold was not saved") for f in flashes(page))
    assert await _snapshot() == before

    _, page = await alice.post("/console/sounds/acme/moh", {"moh_2": "jazz", "moh_1": "news"})
    assert "Music on hold saved." in flashes(page)
    assert (
        _now(page)
        == "A caller put on hold by a phone of acme hears news, jazz (1.0 s), then again."
    )
    assert (await moh.show_moh("acme"))["sounds"] == ["news", "jazz"]
    assert tenant_moh_file(media_dir_of(platform.data_dir), "acme") is not None
    assert await AuditEntry.filter(action="moh.set", actor="web:alice").exists()
    assert 'name="moh_4"' in page  # two places more than it has

    _, page = await alice.post("/console/sounds/acme/moh/clear")
    assert "Music on hold back to the default." in flashes(page)
    assert tenant_moh_file(media_dir_of(platform.data_dir), "acme") is None


async def test_a_tenant_admin_sets_their_own_tenants_only(
    tara: Console, platform: Platform
) -> None:
    for slug in ("acme", "globex"):
        await sounds.add_sound(platform, TEST_ACTOR, slug, "jazz", tone_wav(0.5))
    await moh.set_moh(platform, TEST_ACTOR, "globex", ["jazz"])
    before = await _snapshot()
    for path, posted in (
        ("/console/sounds/globex/moh", {"moh_1": "jazz"}),
        ("/console/sounds/globex/moh/clear", {}),
    ):
        other_status, other = await tara.post(path, posted)
        missing_status, missing = await tara.post(path.replace("globex", "nosuch"), posted)
        assert other_status == missing_status == 404, path
        assert other.replace("globex", "T") == missing.replace("nosuch", "T")
    assert await _snapshot() == before
    _, page = await tara.post("/console/sounds/acme/moh", {"moh_1": "jazz"})
    assert "Music on hold saved." in flashes(page)
