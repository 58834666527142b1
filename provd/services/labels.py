"""Reading a phone's box or back label from a photo: every barcode, and the MAC among them.

A label carries several barcodes: the serial number (16 characters on Yealink
labels), the MAC (12 hex digits, sometimes with a ``MAC:`` prefix or
separators) and a retail EAN-13/UPC-A. Only the MAC matters here.

The retail codes are the trap: a UPC-A is 12 decimal digits, and an EAN-13
that starts with 0 is read as one by many decoders (browsers' BarcodeDetector
included), so its text is 12 characters that are all hex digits. Numeric-only
symbologies (EAN, UPC, ISBN, ITF, DataBar) cannot carry the letters most MACs
have, so no vendor prints a MAC in one: their texts are never taken for a MAC,
whatever they look like.

Decoding runs in a small thread pool: it is CPU work that must neither block
the event loop nor let a burst of camera frames take every core.
"""

from __future__ import annotations

import asyncio
import io
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import zxingcpp
from PIL import Image, ImageOps, UnidentifiedImageError

from provd.domain.errors import InvalidInput
from provd.domain.mac import Mac, try_parse_mac
from provd.domain.oui import vendor_of

MAX_BYTES = 15 * 1024**2
MAX_PIXELS = 50_000_000
"""A 48 MP phone camera's photo fits; Pillow's bomb guard (89 MP) stays a second fence."""
_DECODE_SIDE = 2400
"""Larger photos are scaled down first: a label's bars stay several pixels wide."""
_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
_NUMERIC_ONLY = frozenset({"EAN-13", "EAN-8", "EAN-2", "EAN-5", "UPC-A", "UPC-E", "ISBN", "ITF"})
_MAX_TEXT = 512
_LABEL_PREFIX = re.compile(r"^\s*MAC(?:\s*ADDR(?:ESS)?)?\s*[:=#]?\s*", re.IGNORECASE)
_MAC_IN_TEXT = re.compile(
    r"MAC(?:\s*ADDR(?:ESS)?)?\s*[:=#]?\s*"
    r"([0-9A-F]{2}(?:[:\-. ]?[0-9A-F]{2}){5}|[0-9A-F]{4}\.[0-9A-F]{4}\.[0-9A-F]{4})"
    r"(?![0-9A-F])",
    re.IGNORECASE,
)
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="label-decode")


@dataclass(frozen=True, slots=True)
class Barcode:
    format: str
    """As zxing-cpp names it: ``Code 128``, ``EAN-13``, ``QR Code``."""
    text: str

    def view(self) -> dict[str, str]:
        return {"format": self.format, "text": self.text}


@dataclass(frozen=True, slots=True)
class LabelReading:
    barcodes: tuple[Barcode, ...]
    macs: tuple[Mac, ...]
    """Every MAC found, those with a known vendor prefix first."""

    @property
    def mac(self) -> Mac | None:
        """The MAC, when the label names exactly one (or exactly one of a known vendor)."""
        if len(self.macs) == 1:
            return self.macs[0]
        known = [m for m in self.macs if vendor_of(m) is not None]
        return known[0] if len(known) == 1 else None

    @property
    def message(self) -> str:
        if self.mac is not None:
            return f"found MAC {self.mac}"
        if self.macs:
            return "this label has several MAC-like codes: pick the one printed next to “MAC”"
        if self.barcodes:
            return (
                f"read {len(self.barcodes)} barcode(s) but none is a MAC: "
                "aim at the barcode marked MAC, closer and steady"
            )
        return "no barcode found: hold the label flat, fill the frame, avoid glare"

    def view(self) -> dict[str, Any]:
        return {
            "barcodes": [b.view() for b in self.barcodes],
            "macs": list(self.macs),
            "mac": self.mac,
            "message": self.message,
        }


def mac_in_text(text: str, barcode_format: str = "") -> Mac | None:
    """The MAC a barcode's text spells, or None; see the module docstring for retail codes."""
    if barcode_format in _NUMERIC_ONLY or barcode_format.startswith("DataBar"):
        return None
    text = text.strip()[:_MAX_TEXT]
    mac = try_parse_mac(_LABEL_PREFIX.sub("", text))
    if mac is not None:
        return mac
    # A QR code or a longer text ("SN:…;MAC:…") names it after a MAC label.
    found = _MAC_IN_TEXT.search(text)
    return try_parse_mac(found.group(1)) if found else None


def pick_macs(barcodes: tuple[Barcode, ...]) -> LabelReading:
    macs: list[Mac] = []
    for b in barcodes:
        mac = mac_in_text(b.text, b.format)
        if mac is not None and mac not in macs:
            macs.append(mac)
    macs.sort(key=lambda m: vendor_of(m) is None)
    return LabelReading(barcodes, tuple(macs))


def _open(data: bytes) -> Image.Image:
    if not data:
        raise InvalidInput("image", "is empty: take a photo of the label")
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            "image", f"is larger than {MAX_BYTES // 1024**2} MB: send a smaller photo"
        )
    too_large = InvalidInput(
        "image", f"has more than {MAX_PIXELS // 1_000_000} million pixels: send a smaller photo"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image: Image.Image = Image.open(io.BytesIO(data), formats=_FORMATS)
            if image.width * image.height > MAX_PIXELS:
                raise too_large
            # Phones store portrait photos sideways with an EXIF turn.
            image = ImageOps.exif_transpose(image).convert("L")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_large from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise InvalidInput(
                "image", "is not a picture provd can read: send a JPEG or PNG photo"
            ) from None
    if max(image.size) > _DECODE_SIDE:
        image.thumbnail((_DECODE_SIDE, _DECODE_SIDE))
    return image


def _decode(data: bytes) -> tuple[Barcode, ...]:
    image = _open(data)
    found = zxingcpp.read_barcodes(image)
    seen: dict[tuple[str, str], Barcode] = {}
    for b in found:
        barcode = Barcode(str(b.format), str(b.text)[:_MAX_TEXT])
        seen.setdefault((barcode.format, barcode.text), barcode)
    return tuple(seen.values())


def read_label_sync(data: bytes) -> LabelReading:
    return pick_macs(_decode(data))


async def read_label(data: bytes) -> LabelReading:
    """Every barcode in the photo ``data`` and the MAC among them.

    Raises :class:`InvalidInput` on field ``image`` for an empty, unreadable or
    oversized picture.
    """
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_POOL, read_label_sync, data)
