"""What a waiting caller hears, in order: the queue's introduction, their position,
music, and every ``periodic_s`` seconds their position again and the periodic message;
played into a recording stand-in for the RTP session (the PBX tests hear the real
thing through rtpengine)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from provd.domain import queues
from provd.media import sounds
from provd.media.catalogue import Catalogue
from provd.media.queue import QueueService
from provd.media.queue_files import QueueConfig
from provd.media.voicemail_access import prompt_frames


class RecordingRtp:
    codec = "PCMA"

    def __init__(self) -> None:
        self.played: list[list[bytes]] = []

    async def play(self, frames: Sequence[bytes]) -> None:
        self.played.append(list(frames))
        await asyncio.sleep(len(frames) * 0.0005)  # 40 times faster than real time


class App:
    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue


def write_sounds(tmp_path: Path) -> Catalogue:
    folder = tmp_path / "sounds" / "acme"
    folder.mkdir(parents=True)
    for name, hz in (("intro", 400), ("music", 700), ("info", 1100)):
        sounds.write_wav(folder / f"{name}.wav", sounds.tone(hz, 200))
    return Catalogue(tmp_path / "media", tmp_path / "sounds")


async def hear(tmp_path: Path, config: QueueConfig, place: int, seconds: float) -> list[str]:
    catalogue = write_sounds(tmp_path)
    service = QueueService(App(catalogue), tmp_path / "media")  # type: ignore[arg-type]
    rtp = RecordingRtp()
    task = asyncio.ensure_future(service._hold(rtp, config, lambda: place))  # type: ignore[arg-type]
    await asyncio.sleep(seconds)
    task.cancel()
    # Cancelled means stopped: a swallowed cancellation would play on (and hang here).
    async with asyncio.timeout(5):
        with pytest.raises(asyncio.CancelledError):
            await task
    names = {tuple(catalogue.frames(f"acme/{n}", "PCMA")): n for n in ("intro", "music", "info")}
    position = prompt_frames(queues.YOU_ARE_CALLER, "PCMA") + prompt_frames(str(place), "PCMA")
    names[tuple(position)] = f"position {place}"
    return [names.get(tuple(frames), "?") for frames in rtp.played]


def config(**kw: object) -> QueueConfig:
    base: dict[str, object] = {
        "tenant": "acme",
        "name": "Sales",
        "strategy": queues.Strategy.RING_ALL,
        "moh": "acme/music",
    }
    base.update(kw)
    return QueueConfig(**base)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_intro_then_the_position_then_music(tmp_path: Path) -> None:
    heard = await hear(tmp_path, config(intro="acme/intro", announce_position=True), 2, 0.3)
    assert heard[:3] == ["intro", "position 2", "music"]
    assert set(heard[2:]) == {"music"}


@pytest.mark.asyncio
async def test_every_period_the_position_and_the_message_interrupt_the_music(
    tmp_path: Path,
) -> None:
    heard = await hear(
        tmp_path, config(periodic="acme/info", periodic_s=1, announce_position=True), 3, 1.4
    )
    assert heard[0] == "position 3"
    i = heard.index("info")
    assert heard[i - 1] == "position 3" and set(heard[1 : i - 1]) == {"music"}
    assert heard.count("info") == 1


@pytest.mark.asyncio
async def test_without_either_only_music_plays(tmp_path: Path) -> None:
    heard = await hear(tmp_path, config(), 1, 0.3)
    assert heard and set(heard) == {"music"}


def test_a_position_is_said_digit_by_digit() -> None:
    assert queues.position_prompts(12) == [queues.YOU_ARE_CALLER, "1", "2"]
    with pytest.raises(ValueError):
        queues.position_prompts(0)


def test_every_prompt_has_its_packaged_file() -> None:
    from provd.domain.prompts import PROMPTS
    from provd.media.voicemail_access import missing_prompts

    assert queues.YOU_ARE_CALLER in PROMPTS
    assert missing_prompts() == []


@pytest.mark.asyncio
async def test_an_idle_media_application_still_rewrites_its_live_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provd.media import queue as queue_module
    from provd.media.queue_files import read_live

    monkeypatch.setattr(queue_module, "LIVE_EVERY_S", 0.01)
    monkeypatch.setattr(queue_module, "LIVE_HEARTBEAT_S", 0.05)
    service = QueueService(App(write_sounds(tmp_path)), tmp_path / "media")  # type: ignore[arg-type]
    service.start()
    try:
        await asyncio.sleep(0.05)
        first = read_live(tmp_path / "media")
        await asyncio.sleep(0.2)
        second = read_live(tmp_path / "media")
    finally:
        await service.close()
    assert first is not None and second is not None
    assert second[0] > first[0]  # nothing changed, yet it was written again
    assert second[1] == {}
