"""Firmware rules: which version a device should run, and a rollout's state machine."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from provd.domain.errors import InvalidInput

_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PinLevel(IntEnum):
    PLATFORM = 0
    TENANT = 1
    DEVICE = 2


@dataclass(frozen=True, slots=True)
class Pin:
    level: PinLevel
    image_id: int
    version: str
    tested: bool


@dataclass(frozen=True, slots=True)
class Resolution:
    """The version a device should run, and why."""

    pin: Pin | None
    explanation: tuple[str, ...]

    @property
    def version(self) -> str | None:
        return self.pin.version if self.pin else None


_LEVEL_TEXT = {
    PinLevel.PLATFORM: "platform default",
    PinLevel.TENANT: "tenant override",
    PinLevel.DEVICE: "device pin",
}


def resolve(pins: Mapping[PinLevel, Pin]) -> Resolution:
    """The most specific pin wins: device over tenant over platform."""
    lines = []
    chosen: Pin | None = None
    for level in sorted(PinLevel, reverse=True):
        pin = pins.get(level)
        if pin is None:
            lines.append(f"{_LEVEL_TEXT[level]}: none")
        elif chosen is None:
            chosen = pin
            lines.append(f"{_LEVEL_TEXT[level]}: {pin.version} (used)")
        else:
            lines.append(f"{_LEVEL_TEXT[level]}: {pin.version} (overridden)")
    return Resolution(chosen, tuple(lines))


def check_version(version: str, *, field: str = "version") -> str:
    version = version.strip()
    if not _VERSION.fullmatch(version):
        raise InvalidInput(field, f"{version!r} is not a firmware version (e.g. 28.83.0.120)")
    return version


def check_sha256(text: str, *, field: str = "sha256") -> str:
    text = text.strip().lower()
    if not _SHA256.fullmatch(text):
        raise InvalidInput(field, "must be 64 hexadecimal digits")
    return text


def is_drifted(expected: str | None, reported: str | None) -> bool:
    """A device is drifted when it reports a version other than the one it should run."""
    return expected is not None and reported is not None and expected != reported


class DeviceState(StrEnum):
    PENDING = "pending"
    NOTIFIED = "notified"
    """check-sync with reboot sent."""
    FETCHED = "fetched"
    """The phone downloaded the firmware file."""
    DONE = "done"
    """Back online (registered) reporting the target version."""
    FAILED = "failed"
    TIMED_OUT = "timed_out"


FINAL_DEVICE_STATES = frozenset({DeviceState.DONE, DeviceState.FAILED, DeviceState.TIMED_OUT})

_NEXT: dict[DeviceState, frozenset[DeviceState]] = {
    DeviceState.PENDING: frozenset({DeviceState.NOTIFIED, DeviceState.FAILED, DeviceState.DONE}),
    DeviceState.NOTIFIED: frozenset(
        {DeviceState.FETCHED, DeviceState.DONE, DeviceState.FAILED, DeviceState.TIMED_OUT}
    ),
    DeviceState.FETCHED: frozenset({DeviceState.DONE, DeviceState.FAILED, DeviceState.TIMED_OUT}),
    DeviceState.DONE: frozenset(),
    DeviceState.FAILED: frozenset(),
    DeviceState.TIMED_OUT: frozenset(),
}


def can_move(current: DeviceState, new: DeviceState) -> bool:
    return new in _NEXT[current]


class RolloutState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    HALTED = "halted"
    """The canary batch did not all succeed: nothing else was touched."""
    DONE = "done"


FINAL_ROLLOUT_STATES = frozenset({RolloutState.CANCELLED, RolloutState.HALTED, RolloutState.DONE})

_ROLLOUT_NEXT: dict[RolloutState, frozenset[RolloutState]] = {
    RolloutState.RUNNING: frozenset(
        {RolloutState.PAUSED, RolloutState.CANCELLED, RolloutState.HALTED, RolloutState.DONE}
    ),
    RolloutState.PAUSED: frozenset({RolloutState.RUNNING, RolloutState.CANCELLED}),
    RolloutState.CANCELLED: frozenset(),
    RolloutState.HALTED: frozenset(),
    RolloutState.DONE: frozenset(),
}


def check_rollout_move(current: RolloutState, new: RolloutState) -> None:
    if new not in _ROLLOUT_NEXT[current]:
        raise InvalidInput("rollout", f"a {current} rollout cannot be {new}")


def plan_batches(count: int, batch_size: int, canary: int) -> list[int]:
    """The batch number of each of ``count`` devices in order; batch 0 is the canary."""
    if batch_size < 1:
        raise InvalidInput("batch", "must be at least 1")
    if canary < 0 or canary > count:
        raise InvalidInput("canary", f"must be between 0 and the {count} selected devices")
    batches = [0] * canary
    first = 1
    for i in range(count - canary):
        batches.append(first + i // batch_size)
    return batches


def counts(states: Sequence[DeviceState]) -> dict[str, int]:
    out = {state.value: 0 for state in DeviceState}
    for state in states:
        out[state.value] += 1
    return out
