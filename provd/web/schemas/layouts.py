"""Key layouts: programmable keys and expansion-module pages, per level."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from provd.domain.keys import KeyFunction
from provd.web.contract import Body, View


class Key(View):
    key: str = Field(description="line:N or exp:MODULE:N")
    function: KeyFunction
    target: str
    label: str
    locked: bool


class KeyIn(Body):
    model: str | None = Field(default=None, description="Implied by device")
    key: str = Field(description="line:N or exp:MODULE:N")
    function: str
    target: str | None = None
    label: str | None = None
    locked: bool = False


class Page(View):
    module: int
    page: int
    description: str


class PageIn(Body):
    invalid: ClassVar[Mapping[str, str]] = {
        "module": "must be a number",
        "page": "must be a number",
    }
    model: str | None = Field(default=None, description="Implied by device")
    module: int
    page: int
    description: str


class EffectiveKey(Key):
    from_: str = Field(alias="from", description="The level the key comes from")


class Layout(View):
    model: str
    keys: list[Key]
    pages: list[Page]


class DeviceLayout(Layout):
    effective: list[EffectiveKey] | None = Field(
        default=None, description="For a device: the keys its phone shows"
    )


class LayoutIn(Body):
    """A level's whole layout, as GET returns it (other fields are ignored); an error
    in a key or page names its row."""

    model_config = Body.model_config | {"extra": "ignore"}
    model: str | None = Field(default=None, description="Implied by device")
    keys: list[Any] = Field(default_factory=list, description="As Layout's keys")
    pages: list[Any] = Field(default_factory=list, description="As Layout's pages")


class Cleared(View):
    cleared: int
