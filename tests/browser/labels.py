"""Phone labels as a camera or a photo sees them, and a fake camera's video of them.

A label has what a Yealink T4x label has: a serial number (Code 128), the MAC
(Code 128, 12 hex digits) and the retail EAN-13, each with its text under it.
``write_y4m`` turns a list of pictures into a YUV4MPEG2 (C420) video that
Chromium plays as its camera (``--use-file-for-fake-video-capture``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image, ImageDraw, ImageFont

LABEL_SIZE = (640, 480)
_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def barcode_image(text: str, fmt: str, *, scale: int = 2) -> Image.Image:
    """One barcode as a greyscale picture, human-readable text included."""
    formats = {"code128": zxingcpp.BarcodeFormat.Code128, "ean13": zxingcpp.BarcodeFormat.EAN13}
    code = zxingcpp.create_barcode(text, formats[fmt])
    # zxing-cpp's image is a buffer (its stubs do not say so).
    written: Any = zxingcpp.write_barcode_to_image(code, scale=scale, add_hrt=True)
    pixels = memoryview(written)
    height, width = pixels.shape[0], pixels.shape[1]  # type: ignore[index]
    return Image.frombuffer("L", (width, height), bytes(pixels), "raw", "L", 0, 1)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(_FONT, size)
    except OSError:
        return ImageFont.load_default()


def label_image(
    mac: str,
    serial: str,
    ean: str,
    *,
    title: str = "Yealink SIP-T46G",
    size: tuple[int, int] = LABEL_SIZE,
) -> Image.Image:
    """A white label with a title and three barcodes: serial, MAC, EAN-13 (12 digits given,
    the check digit is computed)."""
    label = Image.new("L", size, 255)
    draw = ImageDraw.Draw(label)
    draw.text((20, 10), title, fill=0, font=_font(22))
    y = 45
    for caption, text, fmt, scale in (
        ("SN", serial, "code128", 2),
        ("MAC", mac.upper(), "code128", 2),
        ("", ean, "ean13", 2),
    ):
        code = barcode_image(text, fmt, scale=scale)
        if caption:
            draw.text((20, y + code.height // 2 - 10), caption, fill=0, font=_font(18))
        label.paste(code, (80, y))
        y += code.height + 12
    assert y <= size[1], "the barcodes do not fit on the label"
    return label


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def write_y4m(
    path: Path, pictures: Sequence[Image.Image], *, fps: int = 5, seconds_each: float = 3.0
) -> Path:
    """A YUV4MPEG2 video (4:2:0) showing each picture for ``seconds_each``."""
    width, height = pictures[0].size
    assert width % 2 == 0 and height % 2 == 0
    frames_each = max(1, round(fps * seconds_each))
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420\n".encode())
        for picture in pictures:
            assert picture.size == (width, height)
            y, cb, cr = picture.convert("RGB").convert("YCbCr").split()
            half = (width // 2, height // 2)
            frame = (
                b"FRAME\n"
                + y.tobytes()
                + cb.resize(half, Image.Resampling.BOX).tobytes()
                + cr.resize(half, Image.Resampling.BOX).tobytes()
            )
            for _ in range(frames_each):
                f.write(frame)
    return path
