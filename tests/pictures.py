"""Pictures of hundreds of megapixels, made in milliseconds.

Pillow compresses every row of a picture it saves: a 20000 x 20000 one took two seconds
of a test that needed only the file. A picture of one grey level has one row repeated,
so here a run of rows is compressed once and the compressed run is repeated.
"""

from __future__ import annotations

import struct
import zlib

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ROWS_A_RUN = 64


def uniform_png(width: int, height: int, *, bits: int, grey: int) -> bytes:
    """A valid greyscale PNG (``bits`` 1, 8 or 16 a pixel, no interlace) whose every
    pixel is ``grey``, compressed as tightly as Pillow's own."""
    if bits == 1:
        pixels = (b"\xff" if grey else b"\x00") * ((width + 7) // 8)
    else:
        pixels = grey.to_bytes(bits // 8, "big") * width
    row = b"\x00" + pixels  # filter type 0 (None) before each row
    # A full flush ends a run on a byte boundary with nothing referring back before it,
    # so copies of it one after the other are one valid deflate stream.
    runs, rest = divmod(height, _ROWS_A_RUN)
    stream = _run(row * _ROWS_A_RUN) * runs + _run(row * rest) + zlib.compressobj(wbits=-15).flush()
    checksum = 1
    for _ in range(height):
        checksum = zlib.adler32(row, checksum)
    idat = b"\x78\x9c" + stream + struct.pack(">I", checksum)  # zlib's header and trailer
    header = struct.pack(">IIBBBBB", width, height, bits, 0, 0, 0, 0)  # greyscale
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _run(rows: bytes) -> bytes:
    compressor = zlib.compressobj(9, wbits=-15)
    return compressor.compress(rows) + compressor.flush(zlib.Z_FULL_FLUSH)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
