"""provd's media application (provd.media) as a supervised child, next to Kamailio and
rtpengine: how it is started, and how the supervisor knows it is up (it answers an
OPTIONS with 200, as Kamailio would see it)."""

from __future__ import annotations

import array
import asyncio
import contextlib
import math
import os
import secrets
import sys
import wave
from pathlib import Path

from provd.pbx.settings import PBX_DIR, PbxSettings

MEDIA_SUBDIR = "media"
"""The media application's data directory under the PBX's: menus.json, sounds/."""
MOH_SUBDIR = "moh"
"""Music on hold, under the media directory: ``default.wav`` and, for each tenant with a
playlist, ``tenants/<tenant slug>.wav`` (:func:`tenant_moh_file`)."""
TENANT_MOH_SUBDIR = "tenants"
"""A folder of its own, so that no tenant's slug (``default`` is one) names the default."""


def media_dir(settings: PbxSettings) -> Path:
    return media_dir_of(settings.data_dir)


def media_dir_of(data_dir: Path) -> Path:
    """The media directory of provd's data directory ``data_dir``."""
    return data_dir / PBX_DIR / MEDIA_SUBDIR


def sounds_dir(settings: PbxSettings) -> Path:
    """provd's store of the tenants' sounds (provd.services.menus.sounds keeps them
    there, as ``<tenant slug>/<name>.wav``): the media application reads them in place."""
    return settings.data_dir / "sounds"


MOH_NOTES_HZ = (523.25, 659.25, 783.99, 659.25)
"""The default music on hold: C5 E5 G5 E5, 0.4 s each with soft edges, looped by
rtpengine. Made here rather than shipped, so it is ours to distribute."""


def moh_file(settings: PbxSettings) -> Path:
    return media_dir(settings) / MOH_SUBDIR / "default.wav"


def tenant_moh_path(media: Path, tenant_slug: str) -> Path:
    """Where a tenant's music on hold is written (it may not be there: no playlist)."""
    return media / MOH_SUBDIR / TENANT_MOH_SUBDIR / f"{tenant_slug}.wav"


def tenant_moh_file(media: Path, tenant_slug: str) -> Path | None:
    """The tenant's own music on hold (8 kHz mono 16-bit WAV, its playlist's sounds one
    after the other) under the media directory ``media``, or None when the tenant has no
    playlist: then the default plays. Kamailio's hold route and the media application's
    queues play the same file."""
    path = tenant_moh_path(media, tenant_slug)
    return path if path.is_file() else None


def write_default_moh(path: Path) -> Path:
    """Write the default music on hold (8 kHz mono 16-bit WAV) unless it exists."""
    if path.exists():
        return path
    rate, note_s = 8000, 0.4
    samples = array.array("h")
    per_note = int(rate * note_s)
    for freq in MOH_NOTES_HZ:
        for n in range(per_note):
            # 20 ms fades in and out: no clicks between the notes.
            edge = min(n, per_note - 1 - n) / (0.02 * rate)
            gain = min(1.0, edge) * 0.25
            samples.append(int(32767 * gain * math.sin(2 * math.pi * freq * n / rate)))
    if sys.byteorder == "big":
        samples.byteswap()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    os.replace(tmp, path)
    return path


def media_hostport(settings: PbxSettings) -> str:
    """The media application's ``host:port``, as routing sends calls to it."""
    host = settings.media_app_host
    return f"{f'[{host}]' if ':' in host else host}:{settings.media_app_port}"


def media_argv(settings: PbxSettings, python: str = sys.executable) -> list[str]:
    host = settings.media_app_host
    return [
        python,
        "-m",
        "provd.media",
        f"--sip={host}:{settings.media_app_port}",
        f"--proxy={settings.sip_address}:{settings.sip_port}",
        f"--rtp-host={host}",
        f"--rtp-ports={settings.media_app_rtp_min}-{settings.media_app_rtp_max}",
        f"--data={media_dir(settings)}",
        f"--sounds={sounds_dir(settings)}",
    ]


class _Reply(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.first: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not self.first.done():
            self.first.set_result(data)


async def answers_options(address: tuple[str, int], *, timeout: float = 0.5) -> bool:
    """Whether a SIP OPTIONS to ``address`` gets a 200 within ``timeout``."""
    host, port = address
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        _Reply, local_addr=(host, 0), family=0
    )
    try:
        local = transport.get_extra_info("sockname")
        tag = secrets.token_hex(6)
        request = (
            f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {local[0]}:{local[1]};branch=z9hG4bK{tag};rport\r\n"
            f"From: <sip:supervisor@{local[0]}>;tag={tag}\r\n"
            f"To: <sip:{host}:{port}>\r\n"
            f"Call-ID: {tag}@{local[0]}\r\n"
            "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        transport.sendto(request.encode(), address)
        with contextlib.suppress(TimeoutError):
            reply = await asyncio.wait_for(protocol.first, timeout)
            return reply.startswith(b"SIP/2.0 200 ")
        return False
    finally:
        transport.close()
