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
the event loop nor let a burst of camera frames take every core. What one decode
may allocate is estimated from the picture's header before any pixel is decoded
(a 389 KB PNG of 7070x7070 16-bit pixels cost 375 MB decoded at full size); a
JPEG is decoded at the reduced scale barcode reading needs (libjpeg's DCT
scaling), and a picture over the budget is refused. Photos waiting for a thread
are bounded too: each holds its upload.
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
from PIL import ExifTags, Image, UnidentifiedImageError

from provd.domain.errors import InvalidInput, Throttled
from provd.domain.mac import Mac, try_parse_mac
from provd.drivers.registry import vendor_of

MAX_BYTES = 15 * 1024**2
MAX_PIXELS = 50_000_000
"""A 48 MP phone camera's photo fits; Pillow's bomb guard (89 MP) stays a second fence."""
MAX_DECODE_BYTES = 64 * 1024**2
"""What decoding one picture may allocate, estimated from its header (see ``_cost``)."""
_DECODE_SIDE = 2400
"""Larger photos are scaled down first: a label's bars stay several pixels wide."""
DECODERS = 2
"""Decodes at once: the threads of the pool."""
MAX_WAITING = 8
"""Photos waiting for a thread; more are answered "busy" (429) instead of queued."""
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
_POOL = ThreadPoolExecutor(max_workers=DECODERS, thread_name_prefix="label-decode")
_accepted = 0
"""Photos decoding or waiting for a thread (changed on the event loop only)."""
_TURN = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


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


def _per_pixel(mode: str) -> int:
    """Bytes a decoded pixel of ``mode`` costs until it is grey: Pillow keeps "1", "L"
    and "P" in one byte, 16-bit grey in two and every other mode in four; the grey
    copy adds one, and 16- or 32-bit grey goes through two 32-bit copies (``_grey``)."""
    if mode == "L":
        return 1
    if mode in ("1", "P"):
        return 2
    if mode.startswith("I") or mode == "F":
        return (2 if mode.startswith("I;16") else 4) + 4 + 4 + 1
    return 4 + 1


def _cost(image: Image.Image, full: tuple[int, int]) -> int:
    """What decoding ``image`` (maybe set to a reduced JPEG scale) at ``full`` header
    size allocates."""
    cost = image.width * image.height * _per_pixel(image.mode)
    if image.format == "JPEG" and image.info.get("progressive"):
        # libjpeg keeps every DCT coefficient (2 bytes) of a progressive file, at full
        # size whatever the output scale: 3 bytes a pixel for usual 4:2:0 colour.
        layers = getattr(image, "layer", None) or [(0, 1, 1, 0)]
        h_max = max(layer[1] for layer in layers)
        v_max = max(layer[2] for layer in layers)
        share = sum(layer[1] * layer[2] for layer in layers) / (h_max * v_max)
        cost += int(full[0] * full[1] * 2 * share)
    return cost


def _grey(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I") or image.mode == "F":
        # convert("L") clips these at 255 instead of scaling: a 16-bit photo would be
        # white. Stretch what the picture uses to 0-255 instead.
        wide = image.convert("F" if image.mode == "F" else "I")
        low, high = wide.getextrema()
        assert isinstance(low, (int, float)) and isinstance(high, (int, float))
        scale = 255 / (high - low) if high > low else 0
        return wide.point(lambda v: (v - low) * scale).convert("L")
    return image.convert("L")


def _open(data: bytes) -> Image.Image:
    """The picture as grey pixels at most ``_DECODE_SIDE`` a side, upright; refused
    from its header when decoding it would cost more than the budget."""
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
            # Only the header is read here: size, mode and format, no pixel yet.
            image: Image.Image = Image.open(io.BytesIO(data), formats=_FORMATS)
            full = image.size
            if full[0] * full[1] > MAX_PIXELS:
                raise too_large
            if image.format == "JPEG":
                # libjpeg decodes at 1/2, 1/4 or 1/8 scale, straight to grey.
                side = max(full)
                wanted = (max(1, w * _DECODE_SIDE // side) for w in full)
                image.draft("L", (next(wanted), next(wanted)))
            if _cost(image, full) > MAX_DECODE_BYTES:
                raise _over_budget(image, full)
            # Phones store portrait photos sideways with an EXIF turn.
            turn = _TURN.get(image.getexif().get(ExifTags.Base.Orientation, 1))
            image.load()
            grey = _grey(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise too_large from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise InvalidInput(
                "image", "is not a picture provd can read: send a JPEG or PNG photo"
            ) from None
    if max(grey.size) > _DECODE_SIDE:
        grey.thumbnail((_DECODE_SIDE, _DECODE_SIDE))
    return grey.transpose(turn) if turn is not None else grey


def _over_budget(image: Image.Image, full: tuple[int, int]) -> InvalidInput:
    size = f"{full[0]}x{full[1]} pixels"
    if image.format == "JPEG":
        return InvalidInput(
            "image",
            f"is a progressive JPEG of {size}, too large to read here: send a smaller photo",
        )
    most = MAX_DECODE_BYTES // _per_pixel(image.mode) / 1_000_000
    depth = "16-bit " if image.mode.startswith("I;16") else ""
    return InvalidInput(
        "image",
        f"is a {depth}{image.format} of {size}, too large to read here: send a JPEG photo, "
        f"or a picture of at most {most:.0f} million pixels",
    )


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
    oversized picture, :class:`Throttled` when too many photos wait already.
    """
    global _accepted
    if _accepted >= DECODERS + MAX_WAITING:
        raise Throttled(
            "image", "provd is reading many photos right now: try again in a moment", retry_after=2
        )
    _accepted += 1
    try:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_POOL, read_label_sync, data)
    finally:
        _accepted -= 1
