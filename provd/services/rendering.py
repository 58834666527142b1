"""Building a driver's input from the database, and rendering a device's files."""

from __future__ import annotations

from provd.db.models import Device
from provd.domain.catalogue import get_model
from provd.domain.mac import Mac
from provd.drivers.context import (
    DeviceContext,
    Line,
    Provisioning,
    SipServer,
    TimeSettings,
)
from provd.drivers.registry import driver_for
from provd.services.platform import Platform


async def device_context(p: Platform, device: Device) -> DeviceContext:
    await device.fetch_related("tenant", "lines__user")
    tenant = device.tenant
    settings = p.settings
    lines = tuple(
        Line(
            slot=line.slot,
            extension=line.user.extension,
            display_name=line.user.display_name,
            auth_user=line.user.sip_username,
            password=p.box.open(line.user.sip_password_enc),
            domain=tenant.sip_domain,
            label=f"{line.user.extension} {line.user.display_name}",
        )
        for line in sorted(device.lines, key=lambda line: line.slot)
    )
    return DeviceContext(
        mac=Mac(device.mac),
        model=get_model(device.model),
        provisioning=Provisioning(
            base_url=settings.provisioning_url,
            username=device.prov_username,
            password=p.box.open(device.prov_password_enc),
            resync_minutes=settings.resync_minutes,
        ),
        sip_proxy=SipServer(host=settings.proxy_host, port=settings.sip_proxy_port),
        admin_password=p.box.open(device.admin_password_enc),
        lines=lines,
        time=TimeSettings(timezone=tenant.timezone, ntp_servers=settings.ntp_servers),
    )


async def render_file(p: Platform, device: Device, filename: str) -> bytes:
    ctx = await device_context(p, device)
    return driver_for(device.vendor).render(ctx, filename)


MASK = "********"


def _secrets(ctx: DeviceContext) -> list[str]:
    return [ctx.provisioning.password, ctx.admin_password, *(line.password for line in ctx.lines)]


async def render_all(p: Platform, device: Device, *, reveal: bool = False) -> dict[str, bytes]:
    """Every file the device fetches; secrets masked unless ``reveal`` (for previews)."""
    ctx = await device_context(p, device)
    driver = driver_for(device.vendor)
    files = {name: driver.render(ctx, name) for name in driver.filenames(ctx.mac, ctx.model)}
    if reveal:
        return files
    out = {}
    for name, body in files.items():
        text = body.decode()
        # Longest first, so a secret that contains another is masked whole.
        for secret in sorted(_secrets(ctx), key=len, reverse=True):
            text = text.replace(secret, MASK)
        out[name] = text.encode()
    return out
