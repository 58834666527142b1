"""What an image import must say, checked before a byte of the file is read."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from provd.domain.catalogue import Catalogue, PhoneModel, Vendor
from provd.domain.errors import InvalidInput
from provd.domain.firmware import check_sha256, check_version

# The vendor's file name goes into the URL the phone fetches: one path segment,
# characters real image names use (``T46S(T48S,T42S,T41S)-66.86.0.15.rom``).
_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._,()+-]{0,127}")
MAX_NOTES = 4000


@dataclass(frozen=True, slots=True)
class NewImage:
    """A validated import request, checked before a byte of the file is read."""

    vendor: Vendor
    models: tuple[PhoneModel, ...]
    version: str
    filename: str
    notes: str = ""
    tested: bool = False
    declared_sha256: str | None = None

    @property
    def model_ids(self) -> list[str]:
        return [m.id for m in self.models]


def check_filename(filename: str, *, field: str = "filename") -> str:
    name = filename.strip()
    if not _FILENAME.fullmatch(name):
        raise InvalidInput(
            field,
            f"{filename!r} is not a firmware file name: letters, digits and . _ - + , ( )"
            " only, at most 128 characters",
        )
    return name


def check_new_image(
    models: Sequence[str],
    version: str,
    filename: str,
    *,
    catalogue: Catalogue,
    notes: str = "",
    tested: bool = False,
    sha256: str | None = None,
) -> NewImage:
    """The import request checked, ``models`` (ids) looked up in ``catalogue``."""
    if not models:
        raise InvalidInput("model", "name at least one model the file fits")
    chosen: list[PhoneModel] = []
    for model_id in models:
        model = catalogue.get(model_id)
        if model not in chosen:
            chosen.append(model)
    vendors = {m.vendor for m in chosen}
    if len(vendors) > 1:
        names = ", ".join(m.id for m in chosen)
        raise InvalidInput("model", f"{names} are of different vendors; a firmware fits one")
    if len(notes) > MAX_NOTES:
        raise InvalidInput("notes", f"at most {MAX_NOTES} characters")
    return NewImage(
        vendor=chosen[0].vendor,
        models=tuple(chosen),
        version=check_version(version),
        filename=check_filename(filename),
        notes=notes.strip(),
        tested=tested,
        declared_sha256=check_sha256(sha256) if sha256 else None,
    )


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """28.83.0.120 after 28.9.0.1: numeric parts compare as numbers."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[._-]", version)
    )
