"""Programmable phone keys: where they are, what they do, and how layouts combine.

A key location is written ``line:N`` (the phone's own keys, 1-based) or
``exp:M:N`` (expansion module M, key N counted across the module's pages).
Functions are vendor-neutral; each driver maps them to its phone's syntax.
Layouts are stacked platform → tenant → user → device, later levels winning,
except over keys an earlier level locked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum, StrEnum

from provd.domain.catalogue import PhoneModel
from provd.domain.errors import InvalidInput
from provd.domain.text import check_printable

MAX_LABEL = 32


class KeyFunction(StrEnum):
    LINE = "line"
    BLF = "blf"
    SPEED_DIAL = "speed_dial"
    PARK = "park"
    PICKUP = "pickup"
    GROUP_PICKUP = "group_pickup"
    DND = "dnd"
    TRANSFER = "transfer"
    FORWARD = "forward"
    VOICEMAIL = "voicemail"
    INTERCOM = "intercom"
    URL = "url"
    DTMF = "dtmf"
    NONE = "none"


class Level(IntEnum):
    """Layout levels, in the order they are stacked."""

    PLATFORM = 0
    TENANT = 1
    USER = 2
    DEVICE = 3


_NUMBER = re.compile(r"\+?[0-9*#]{1,32}")
_DTMF = re.compile(r"[0-9*#A-Da-d]{1,32}")
_EXTENSION = re.compile(r"[0-9]{2,5}")
_SLOT = re.compile(r"[0-9]{1,8}")
_URL = re.compile(r"https?://[^\s\"'<>]{1,500}")
_NIGHT_SWITCH_LAMP = re.compile(r"\*915(?:\*[1-9][0-9]?)?")
_AGENT_LAMP = re.compile(r"\*903\*([0-9]{2,5})")


class TargetKind(StrEnum):
    NOTHING = "nothing"
    OPTIONAL_NUMBER = "optional number"
    NUMBER = "number"
    EXTENSION = "extension"
    LINE_SLOT = "line slot"
    URL = "url"
    DTMF = "dtmf"


TARGETS: dict[KeyFunction, TargetKind] = {
    KeyFunction.LINE: TargetKind.LINE_SLOT,
    KeyFunction.BLF: TargetKind.EXTENSION,
    KeyFunction.SPEED_DIAL: TargetKind.NUMBER,
    KeyFunction.PARK: TargetKind.OPTIONAL_NUMBER,
    KeyFunction.PICKUP: TargetKind.OPTIONAL_NUMBER,
    KeyFunction.GROUP_PICKUP: TargetKind.NOTHING,
    KeyFunction.DND: TargetKind.NOTHING,
    KeyFunction.TRANSFER: TargetKind.OPTIONAL_NUMBER,
    KeyFunction.FORWARD: TargetKind.OPTIONAL_NUMBER,
    KeyFunction.VOICEMAIL: TargetKind.NOTHING,
    KeyFunction.INTERCOM: TargetKind.EXTENSION,
    KeyFunction.URL: TargetKind.URL,
    KeyFunction.DTMF: TargetKind.DTMF,
    KeyFunction.NONE: TargetKind.NOTHING,
}


@dataclass(frozen=True, slots=True, order=True)
class KeyLocation:
    module: int
    """0 for the phone's own keys, 1.. for expansion modules."""
    index: int
    """1-based; on a module, counted across its pages."""

    def __str__(self) -> str:
        return f"line:{self.index}" if self.module == 0 else f"exp:{self.module}:{self.index}"

    @classmethod
    def parse(cls, text: str, *, field: str = "key") -> KeyLocation:
        parts = text.strip().lower().split(":")
        try:
            if parts[0] == "line" and len(parts) == 2:
                location = cls(0, int(parts[1]))
            elif parts[0] == "exp" and len(parts) == 3:
                location = cls(int(parts[1]), int(parts[2]))
            else:
                raise ValueError
        except ValueError:
            raise InvalidInput(
                field, f"{text!r} is not a key location: use line:N or exp:MODULE:N"
            ) from None
        if location.index < 1 or (parts[0] == "exp" and location.module < 1):
            raise InvalidInput(field, f"{text!r}: key and module numbers start at 1")
        return location


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One key as an admin sets it at some level."""

    location: KeyLocation
    function: KeyFunction
    target: str = ""
    label: str = ""
    locked: bool = False


def parse_function(text: str, *, field: str = "function") -> KeyFunction:
    try:
        return KeyFunction(text.strip().lower().replace("-", "_"))
    except ValueError:
        known = ", ".join(f.value for f in KeyFunction)
        raise InvalidInput(field, f"unknown key function {text!r}; known: {known}") from None


def check_location(location: KeyLocation, model: PhoneModel, modules: int, *, field: str) -> None:
    """Refuse a location the model (with ``modules`` expansion modules attached) lacks."""
    if location.module == 0:
        if location.index > model.line_keys:
            raise InvalidInput(
                field,
                f"the {model.display_name} has {model.line_keys} line keys, not {location.index}",
            )
        return
    exp = model.expansion
    if exp is None:
        raise InvalidInput(field, f"the {model.display_name} takes no expansion module")
    if location.module > modules:
        have = f"{modules} expansion module{'s' if modules != 1 else ''}"
        raise InvalidInput(field, f"only {have} can be used here, not module {location.module}")
    if location.index > exp.keys:
        raise InvalidInput(field, f"an {exp.name} module has {exp.keys} keys, not {location.index}")


def check_spec(
    spec: KeySpec,
    model: PhoneModel,
    modules: int,
    *,
    extensions: Iterable[str],
) -> KeySpec:
    """Validate one key against the model and the tenant's extensions; returns it cleaned."""
    field = f"key {spec.location}"
    check_location(spec.location, model, modules, field=field)
    # Before the per-function rules, some of which (a URL) would let a control through.
    target = check_printable(spec.target.strip(), field=field, what="the target")
    kind = TARGETS[spec.function]
    if kind is TargetKind.NOTHING and target:
        raise InvalidInput(field, f"a {spec.function} key takes no target")
    if kind is TargetKind.NUMBER and not _NUMBER.fullmatch(target):
        raise InvalidInput(field, f"a {spec.function} key needs a number to dial (digits, *, #, +)")
    if kind is TargetKind.OPTIONAL_NUMBER and target and not _NUMBER.fullmatch(target):
        raise InvalidInput(field, f"{target!r} is not a number (digits, *, #, +)")
    if kind is TargetKind.DTMF and not _DTMF.fullmatch(target):
        raise InvalidInput(field, "a dtmf key needs the tones to send (0-9, *, #, A-D)")
    if kind is TargetKind.URL and not _URL.fullmatch(target):
        raise InvalidInput(field, "a url key needs an http:// or https:// address")
    # A BLF key may also watch the night switch's lamp (provd.domain.night_switch):
    # lit while the switch is on; pressing the key dials the code that flips it.
    lamp = spec.function is KeyFunction.BLF and _NIGHT_SWITCH_LAMP.fullmatch(target)
    # Or a queue agent's login lamp, *903*EXT (provd.domain.queue_lamps), EXT a user.
    agent = _AGENT_LAMP.fullmatch(target) if spec.function is KeyFunction.BLF else None
    if agent is not None and agent.group(1) not in set(extensions):
        raise InvalidInput(field, f"extension {agent.group(1)} is not a user of this tenant")
    if kind is TargetKind.EXTENSION and not lamp and agent is None:
        if not _EXTENSION.fullmatch(target):
            raise InvalidInput(
                field, f"a {spec.function} key needs the extension it watches or calls"
            )
        if target not in set(extensions):
            raise InvalidInput(field, f"extension {target} is not a user of this tenant")
    if kind is TargetKind.LINE_SLOT:
        slot = target or "1"
        # ASCII digits of a sane length: str.isdigit() also takes "²", which int() refuses,
        # and int() raises on a number of over 4,300 digits.
        if not _SLOT.fullmatch(slot) or not 1 <= int(slot) <= model.accounts:
            raise InvalidInput(field, f"a line key needs a line number from 1 to {model.accounts}")
        target = slot
    label = check_printable(spec.label.strip(), field=field, what="the label")
    if len(label) > MAX_LABEL:
        raise InvalidInput(field, f"the label must be at most {MAX_LABEL} characters")
    return KeySpec(spec.location, spec.function, target, label, spec.locked)


@dataclass(frozen=True, slots=True)
class LayoutLevel:
    level: Level
    keys: Mapping[KeyLocation, KeySpec]


def locked_by_earlier(levels: Iterable[LayoutLevel], level: Level) -> dict[KeyLocation, Level]:
    """The keys a level below ``level`` locked: they cannot be set at ``level``."""
    locked: dict[KeyLocation, Level] = {}
    for layer in levels:
        if layer.level >= level:
            continue
        for location, spec in layer.keys.items():
            if spec.locked:
                locked.setdefault(location, layer.level)
    return locked


def merge(levels: Iterable[LayoutLevel]) -> dict[KeyLocation, tuple[KeySpec, Level]]:
    """Stack levels in order; a locked key keeps the value of the level that locked it."""
    result: dict[KeyLocation, tuple[KeySpec, Level]] = {}
    for layer in sorted(levels, key=lambda lv: lv.level):
        for location, spec in layer.keys.items():
            current = result.get(location)
            if current is not None and current[0].locked:
                continue
            result[location] = (spec, layer.level)
    return result


def default_line_keys(model: PhoneModel, lines: int) -> dict[KeyLocation, KeySpec]:
    """Without any layout, key N shows line N for every line in use."""
    return {
        KeyLocation(0, n): KeySpec(KeyLocation(0, n), KeyFunction.LINE, str(n))
        for n in range(1, min(lines, model.line_keys) + 1)
    }
