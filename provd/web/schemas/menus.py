"""IVR menus and the sounds they play."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from provd.web.contract import Body, View
from provd.web.schemas.destinations import WRITTEN, Destination

_KEY = (
    "What the key does: repeat, hang_up, dial_extension, submenu:EXT (another menu, played"
    f" on), or a destination the call leaves to ({WRITTEN})"
)
_KEYS = "Key (0-9, * or #) to what it does; a key left out does nothing"
_SOUND = "A sound of the tenant, by name"
_KEYS_TYPE = "must map keys (0-9, * or #) to text"


class MenuIn(Body):
    extension: str = Field(description="2 to 5 digits, no user's, group's or menu's of the tenant")
    name: str
    greeting: str = Field(description=_SOUND)
    invalid_sound: str | None = Field(
        default=None, description=f"{_SOUND}: played before the greeting after a key with no action"
    )
    timeout_seconds: int = Field(default=5, description="For a key after the greeting, 1 to 60")
    max_attempts: int = Field(default=3, description="Failed attempts before the default, 1 to 9")
    dial_length: int = Field(default=5, description="Most digits dial_extension collects, 2 to 5")
    default: str | None = Field(
        default=None, description=f"After the last failed attempt ({WRITTEN}); null: hang up"
    )
    keys: dict[str, str | None] = Field(default_factory=dict, description=_KEYS)

    invalid: ClassVar[dict[str, str]] = {"keys": _KEYS_TYPE}


class MenuPut(Body):
    """The whole menu but its extension: what is left out takes its default."""

    name: str
    greeting: str = Field(description=_SOUND)
    invalid_sound: str | None = Field(default=None, description=f"{_SOUND}; null: none")
    timeout_seconds: int = 5
    max_attempts: int = 3
    dial_length: int = 5
    default: str | None = Field(default=None, description=f"{WRITTEN}; null: hang up")
    keys: dict[str, str | None] = Field(default_factory=dict, description=_KEYS)

    invalid: ClassVar[dict[str, str]] = {"keys": _KEYS_TYPE}


class MenuKey(View):
    action: Literal["transfer", "submenu", "repeat", "hang_up", "dial_extension"]
    destination: Destination | None = Field(description="Where a transfer goes")
    menu: str | None = Field(description="The extension of a submenu")
    text: str = Field(description="As requests write it")


class Menu(View):
    tenant: str
    extension: str
    name: str
    greeting: str
    invalid_sound: str | None
    timeout_seconds: int
    max_attempts: int
    dial_length: int
    default: Destination | None = Field(description="null: the call ends")
    keys: dict[str, MenuKey]
    numbers: list[str] = Field(description="The numbers assigned to the menu (E.164)")


class Sound(View):
    tenant: str
    name: str
    duration_ms: int
    size: int = Field(description="Of the stored WAV (8 kHz mono 16-bit PCM), in bytes")
    created_at: str
