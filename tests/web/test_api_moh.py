"""Music on hold over the API: a tenant admin sets, shows and clears their own tenant's
(another's answers as a missing tenant); refusals name the field and write nothing."""

from __future__ import annotations

from provd.db.models import AuditEntry, Tenant
from provd.pbx.media_app import media_dir_of, tenant_moh_file
from provd.services import moh
from provd.services.menus import sounds
from provd.services.platform import Platform
from tests.conftest import TEST_ACTOR
from tests.services.menus.audio import tone_wav
from tests.web.call_handling import call, clients, refused
from tests.web.conftest import Served


async def test_a_tenant_admin_manages_their_tenants_music_on_hold_only(
    served: Served, platform: Platform
) -> None:
    async with clients(served, platform) as c:
        for slug in ("acme", "globex"):
            await sounds.add_sound(platform, TEST_ACTOR, slug, "jazz", tone_wav(0.1))
        await moh.set_moh(platform, TEST_ACTOR, "globex", ["jazz"])
        media = media_dir_of(platform.data_dir)
        put = await call(c.acme, "PUT", "/tenants/acme/moh", 200, json={"sounds": ["jazz"] * 2})
        assert put == {"tenant": "acme", "sounds": ["jazz", "jazz"], "duration_ms": 200}
        assert tenant_moh_file(media, "acme") is not None
        assert await call(c.acme, "GET", "/tenants/acme/moh", 200) == put

        before = (
            await Tenant.all().order_by("id").values_list("moh_playlist", flat=True),
            await AuditEntry.all().count(),
        )
        for method, kw in (("GET", {}), ("PUT", {"json": {"sounds": ["jazz"]}}), ("DELETE", {})):
            message = await refused(c.acme, method, "/tenants/globex/moh", 404, "tenant", **kw)
            assert "globex" in message
        for body, status in (
            ({"sounds": []}, 400),
            ({"sounds": ["gone"]}, 404),
            ({"sounds": "jazz"}, 400),
            ({}, 400),
        ):
            await refused(c.acme, "PUT", "/tenants/acme/moh", status, "sounds", json=body)
        assert before == (
            await Tenant.all().order_by("id").values_list("moh_playlist", flat=True),
            await AuditEntry.all().count(),
        )
        cleared = await call(c.acme, "DELETE", "/tenants/acme/moh", 200)
        assert cleared["sounds"] == [] and tenant_moh_file(media, "acme") is None
        assert tenant_moh_file(media, "globex") is not None
