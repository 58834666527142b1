"""Reading labels: every barcode is returned, only the MAC is picked, bad pictures are refused."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageFile

from provd.domain.errors import InvalidInput, Throttled
from provd.services.installer import labels
from provd.services.installer.labels import (
    Barcode,
    LabelReading,
    mac_in_text,
    pick_macs,
    read_label,
)
from tests.browser.labels import barcode_image, jpeg_bytes, label_image, png_bytes
from tests.pictures import uniform_png


async def test_label_with_serial_mac_and_ean_gives_the_mac() -> None:
    label = label_image("80:5e:c0:d5:7d:72", "301203G080005848", "425098650011")
    reading = await read_label(jpeg_bytes(label))
    assert {(b.format, b.text) for b in reading.barcodes} == {
        ("Code 128", "301203G080005848"),
        ("Code 128", "80:5E:C0:D5:7D:72"),  # separators as printed
        ("EAN-13", "4250986500117"),
    }
    assert reading.macs == ("805ec0d57d72",)
    assert reading.mac == "805ec0d57d72"
    assert reading.view()["message"] == "found MAC 805ec0d57d72"


async def test_an_ean_whose_digits_would_be_a_yealink_mac_is_not_taken() -> None:
    # EAN-13 0001565123456 without its leading 0 (as a UPC-A reading gives it) is
    # 001565123456: twelve hex digits with Yealink's prefix. It is a product number.
    picture = Image.new("L", (640, 240), 255)
    picture.paste(barcode_image("000156512345", "ean13", scale=3), (40, 20))
    reading = await read_label(png_bytes(picture))
    assert [b.format for b in reading.barcodes] == ["EAN-13"]
    assert reading.macs == () and reading.mac is None
    assert "none is a MAC" in reading.message


@pytest.mark.parametrize("fmt", ["UPC-A", "EAN-13", "EAN-8", "ITF", "DataBar"])
def test_numeric_symbologies_never_carry_a_mac(fmt: str) -> None:
    assert mac_in_text("001565123456", fmt) is None
    # The same text in a Code 128 is a MAC: Yealink MACs can be all digits.
    assert mac_in_text("001565123456", "Code 128") == "001565123456"


@pytest.mark.parametrize(
    ("text", "mac"),
    [
        ("44DBD26FB9EF", "44dbd26fb9ef"),
        ("MAC 44DBD26FB9EF", "44dbd26fb9ef"),
        ("MAC:44:db:d2:6f:b9:ef", "44dbd26fb9ef"),
        ("mac address: 44-DB-D2-6F-B9-EF", "44dbd26fb9ef"),
        ("44db.d26f.b9ef", "44dbd26fb9ef"),
        ("SN:301203G080005848;MAC:44DBD26FB9EF;", "44dbd26fb9ef"),
        ("301203G080005848", None),  # a serial: 16 characters
        ("4250986500117", None),  # 13 digits
        ("44DBD26FB9E", None),
        ("MAC 44DBD26FB9EF0", None),
        ("FFFFFFFFFFFF", None),
    ],
)
def test_mac_notations_on_labels(text: str, mac: str | None) -> None:
    assert mac_in_text(text, "Code 128") == mac


def test_several_macs_prefer_the_one_with_a_known_vendor_prefix() -> None:
    # A 12-digit serial next to the MAC: only the MAC has a registered phone prefix.
    reading = pick_macs((Barcode("Code 128", "301203508001"), Barcode("Code 128", "001565A1B2C3")))
    assert reading.macs == ("001565a1b2c3", "301203508001")
    assert reading.mac == "001565a1b2c3"
    both_known = pick_macs(
        (Barcode("Code 128", "001565A1B2C3"), Barcode("QR Code", "MAC:000413AABBCC"))
    )
    assert both_known.mac is None
    assert "several" in both_known.message


async def test_picture_without_barcodes_says_how_to_retry() -> None:
    reading = await read_label(jpeg_bytes(Image.new("L", (320, 240), 200)))
    assert reading.view() == {
        "barcodes": [],
        "macs": [],
        "mac": None,
        "message": "no barcode found: hold the label flat, fill the frame, avoid glare",
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"GIF89a this is not really a picture", "is not a picture provd can read"),
        (b"%PDF-1.7\n", "is not a picture provd can read"),
    ],
)
async def test_unreadable_pictures_are_refused_on_field_image(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as e:
        await read_label(data)
    assert e.value.field == "image"
    assert message in e.value.message


async def test_truncated_jpeg_is_refused() -> None:
    data = jpeg_bytes(label_image("001565a1b2c3", "301203G080005848", "425098650011"))
    with pytest.raises(InvalidInput) as e:
        await read_label(data[: len(data) // 2])
    assert e.value.field == "image"


async def test_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    # A tiny PNG that claims 20000 x 20000 pixels (400 MP): refused from its header.
    bomb = uniform_png(20000, 20000, bits=1, grey=1)
    assert len(bomb) < 200_000
    with pytest.raises(InvalidInput) as e:
        await read_label(bomb)
    assert e.value.field == "image"
    assert "million pixels" in e.value.message


async def test_picture_just_over_the_pixel_limit_is_refused() -> None:
    over = uniform_png(8000, 6300, bits=1, grey=1)  # 50.4 MP: under Pillow's own guard
    with pytest.raises(InvalidInput, match="more than 50 million pixels"):
        await read_label(over)


async def test_huge_upload_is_refused_by_size() -> None:
    with pytest.raises(InvalidInput, match="larger than 15 MB"):
        await read_label(b"\xff\xd8" + b"\0" * (15 * 1024**2))


# ---- memory and concurrency (issue 21, finding 7) -----------------------------------


def _label() -> Image.Image:
    return label_image("80:5e:c0:d5:7d:72", "301203G080005848", "425098650011")


def _sixteen_bit(picture: Image.Image) -> Image.Image:
    return picture.convert("I").point(lambda v: v * 257).convert("I;16")


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, int]]]:
    """(mode, size) of every picture Pillow decodes (load() is called again on one
    already decoded), and of every one the barcode reader is given ("zxing")."""
    seen: list[tuple[str, tuple[int, int]]] = []
    load, read = ImageFile.ImageFile.load, zxingcpp.read_barcodes

    def recording_load(self: ImageFile.ImageFile) -> Any:
        seen.append((self.mode, self.size))
        return load(self)

    def recording_read(image: Image.Image, *args: Any, **kw: Any) -> Any:
        seen.append(("zxing", image.size))
        return read(image, *args, **kw)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recording_load)
    monkeypatch.setattr(zxingcpp, "read_barcodes", recording_read)
    return seen


def _png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


async def test_a_huge_16_bit_png_is_refused_from_its_header(
    decoded: list[tuple[str, tuple[int, int]]],
) -> None:
    # The probe's picture: 7070 x 7070 16-bit grey, a few hundred KB, 375 MB decoded.
    data = uniform_png(7070, 7070, bits=16, grey=40_000)
    assert len(data) < 400_000
    with pytest.raises(InvalidInput) as e:
        await read_label(data)
    assert e.value.field == "image"
    assert e.value.message == (
        "is a 16-bit PNG of 7070x7070 pixels, too large to read here: send a JPEG photo, "
        "or a picture of at most 6 million pixels"
    )
    assert decoded == []  # not one pixel decoded


async def test_a_48_mp_jpeg_is_decoded_at_a_reduced_scale(
    decoded: list[tuple[str, tuple[int, int]]],
) -> None:
    photo = _label().convert("RGB").resize((8000, 6000), Image.Resampling.NEAREST)
    reading = await read_label(jpeg_bytes(photo))
    assert reading.mac == "805ec0d57d72"
    # libjpeg decoded it at half scale straight to grey (12 MB, not 8000x6000 RGB's
    # 192 MB), and the reader got it at 2400 pixels a side.
    assert set(decoded) == {("L", (4000, 3000)), ("zxing", (2400, 1800))}


async def test_a_huge_progressive_jpeg_is_refused_from_its_header(
    decoded: list[tuple[str, tuple[int, int]]],
) -> None:
    # libjpeg holds every coefficient of a progressive file at full size: 144 MB here.
    photo = _label().convert("RGB").resize((8000, 6000), Image.Resampling.NEAREST)
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=85, progressive=True)
    with pytest.raises(InvalidInput, match="progressive JPEG of 8000x6000 pixels"):
        await read_label(out.getvalue())
    assert decoded == []


async def test_a_16_bit_label_is_read_with_its_grey_levels(
    decoded: list[tuple[str, tuple[int, int]]],
) -> None:
    # Dark grey bars on a light grey label, as a camera sees it: a 16-bit PNG of it
    # clipped to 8 bits (the way Pillow's convert does) would be white all over.
    dim = _label().point(lambda v: 60 if v < 128 else 200)
    reading = await read_label(_png(_sixteen_bit(dim)))
    assert reading.mac == "805ec0d57d72"
    assert decoded[0] == ("I;16", (640, 480))


@pytest.mark.slow  # a process of its own, so that its peak size is the decode's
def test_decoding_a_huge_png_stays_within_the_budget_in_memory(tmp_path: Path) -> None:
    """Measured, not estimated: the process's peak resident size around the call."""
    picture = tmp_path / "huge.png"
    picture.write_bytes(uniform_png(7070, 7070, bits=16, grey=40_000))
    script = (
        "import resource, sys\n"
        "from provd.domain.errors import InvalidInput\n"
        "from provd.services.installer.labels import read_label_sync\n"
        f"data = open({str(picture)!r}, 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n"
        "    read_label_sync(data)\n"
        "except InvalidInput:\n"
        "    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    grown_kib = int(done.stdout)
    assert grown_kib < labels.MAX_DECODE_BYTES // 1024, f"peak grew by {grown_kib} KiB"


async def test_decodes_run_two_at_a_time_and_a_crowd_is_told_to_retry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    lock = threading.Lock()
    running, most = 0, 0

    def blocking_decode(data: bytes) -> LabelReading:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        release.wait(timeout=60)
        with lock:
            running -= 1
        return pick_macs(())

    monkeypatch.setattr(labels, "read_label_sync", blocking_decode)
    accepted = labels.DECODERS + labels.MAX_WAITING
    calls = [asyncio.ensure_future(read_label(b"photo")) for _ in range(accepted + 3)]
    try:
        for _ in range(500):
            if running == labels.DECODERS:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # room for a third decode to start, were it allowed
        assert running == labels.DECODERS
    finally:
        release.set()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert most == labels.DECODERS == 2
    busy = [r for r in results if isinstance(r, Throttled)]
    assert len(busy) == 3 and busy[0].field == "image" and busy[0].retry_after > 0
    assert all(isinstance(r, LabelReading) for r in results[:accepted])
    # Once they are done, photos are accepted again.
    monkeypatch.undo()
    assert (await read_label(jpeg_bytes(_label()))).mac == "805ec0d57d72"
