"""Reading labels: every barcode is returned, only the MAC is picked, bad pictures are refused."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from provd.domain.errors import InvalidInput
from provd.services.labels import Barcode, mac_in_text, pick_macs, read_label
from tests.browser.labels import barcode_image, jpeg_bytes, label_image, png_bytes


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
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000), 1).save(bomb, "PNG", optimize=True)
    assert len(bomb.getvalue()) < 200_000
    with pytest.raises(InvalidInput) as e:
        await read_label(bomb.getvalue())
    assert e.value.field == "image"
    assert "million pixels" in e.value.message


async def test_picture_just_over_the_pixel_limit_is_refused() -> None:
    over = io.BytesIO()
    Image.new("1", (8000, 6300), 1).save(over, "PNG")  # 50.4 MP: under Pillow's own guard
    with pytest.raises(InvalidInput, match="more than 50 million pixels"):
        await read_label(over.getvalue())


async def test_huge_upload_is_refused_by_size() -> None:
    with pytest.raises(InvalidInput, match="larger than 15 MB"):
        await read_label(b"\xff\xd8" + b"\0" * (15 * 1024**2))
