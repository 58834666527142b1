"""The encrypted envelope: what goes in comes out; anything else is refused by name."""

from __future__ import annotations

import io
import struct

import pytest

from provd.domain.errors import InvalidInput
from provd.services.backup import envelope
from provd.services.backup.envelope import EnvelopeReader, EnvelopeWriter

PASSPHRASE = "Correct-Horse-9-battery"
SMALL_CHUNK = 64
HEADER = 8 + 4 + 16 + 7 + 16


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of 64 bytes: every boundary case in a few hundred bytes."""
    monkeypatch.setattr(envelope, "CHUNK", SMALL_CHUNK)


def seal(data: bytes, passphrase: str = PASSPHRASE, *, pieces: int = 7) -> bytes:
    out = io.BytesIO()
    writer = EnvelopeWriter(out, passphrase)
    for i in range(0, len(data), pieces):
        assert writer.write(data[i : i + pieces]) == len(data[i : i + pieces])
    writer.finish()
    return out.getvalue()


def open_all(sealed: bytes, passphrase: str = PASSPHRASE) -> bytes:
    reader = EnvelopeReader(io.BytesIO(sealed), passphrase)
    out = bytearray()
    while chunk := reader.read(10):
        out += chunk
    reader.finish()
    return bytes(out)


def records(sealed: bytes) -> list[tuple[int, int]]:
    """(offset, length) of each record after the header."""
    found, at = [], HEADER
    while at < len(sealed):
        _, length = struct.unpack(">BI", sealed[at : at + 5])
        found.append((at, 5 + length))
        at += 5 + length
    return found


@pytest.mark.parametrize("size", [0, 1, SMALL_CHUNK - 1, SMALL_CHUNK, SMALL_CHUNK + 1, 300])
def test_what_is_written_reads_back(size: int) -> None:
    data = bytes(range(256)) * 2
    assert open_all(seal(data[:size])) == data[:size]


def test_the_file_shows_nothing_of_its_content() -> None:
    data = b"secret.key=" + b"A" * 200
    sealed = seal(data)
    assert b"secret" not in sealed and b"AAAA" not in sealed
    assert seal(data) != sealed  # a fresh salt and nonce every time


def test_a_wrong_passphrase_is_told_apart_before_any_chunk() -> None:
    with pytest.raises(InvalidInput, match="does not open this backup") as refused:
        EnvelopeReader(io.BytesIO(seal(b"x" * 100)), "Wrong-Horse-9-battery")
    assert refused.value.field == "passphrase"


def test_another_file_is_not_a_backup() -> None:
    for other in (b"", b"PROVDBA", b"\x1f\x8b" + bytes(100), b"PROVDBAK"):
        with pytest.raises(InvalidInput, match="is not a provd backup"):
            EnvelopeReader(io.BytesIO(other), PASSPHRASE)


def test_every_truncation_is_refused() -> None:
    sealed = seal(bytes(200))
    for cut in range(HEADER, len(sealed)):
        with pytest.raises(InvalidInput, match="truncated"):
            open_all(sealed[:cut])


def test_every_flipped_bit_after_the_header_is_refused() -> None:
    sealed = seal(bytes(150))
    for at in range(HEADER, len(sealed)):
        damaged = bytearray(sealed)
        damaged[at] ^= 0x10
        with pytest.raises(InvalidInput, match=r"corrupt|truncated"):
            open_all(bytes(damaged))


def test_a_changed_header_fails_every_chunk_or_the_passphrase() -> None:
    sealed = seal(bytes(150))
    for at in range(8, HEADER):
        damaged = bytearray(sealed)
        damaged[at] ^= 0x01
        with pytest.raises(InvalidInput):
            open_all(bytes(damaged))


def test_chunks_cannot_be_dropped_reordered_or_marked_last() -> None:
    sealed = seal(bytes(range(200)))
    head = sealed[:HEADER]
    (a, la), (b, lb), (c, lc), (d, ld) = records(sealed)
    first, second, third, last = (
        sealed[x : x + n] for x, n in [(a, la), (b, lb), (c, lc), (d, ld)]
    )
    with pytest.raises(InvalidInput, match="chunk 2 fails"):
        open_all(head + first + third + last)
    with pytest.raises(InvalidInput, match="chunk 1 fails"):
        open_all(head + second + first + third + last)
    marked_last = b"\x01" + second[1:]
    with pytest.raises(InvalidInput, match="chunk 2 fails"):
        open_all(head + first + marked_last)
    with pytest.raises(InvalidInput, match="goes on after its last chunk"):
        open_all(sealed + b"\0")


def test_a_chunk_from_another_backup_is_refused() -> None:
    one, other = seal(bytes(100)), seal(bytes(100))
    (a, la), _ = records(one)
    (b, lb), _ = records(other)
    spliced = one[:HEADER] + other[b : b + lb] + one[a + la :]
    with pytest.raises(InvalidInput, match="chunk 1 fails"):
        open_all(spliced)


def test_a_header_asking_for_too_much_work_is_refused_before_any() -> None:
    sealed = bytearray(seal(b"x"))
    sealed[9] = 30  # 2**30 scrypt iterations: hours and 128 GiB
    with pytest.raises(InvalidInput, match="out of range"):
        EnvelopeReader(io.BytesIO(bytes(sealed)), PASSPHRASE)
    sealed[9], sealed[10] = 20, 16  # within each bound, 4 GiB together
    with pytest.raises(InvalidInput, match="over 1 GiB"):
        EnvelopeReader(io.BytesIO(bytes(sealed)), PASSPHRASE)


def test_the_passphrase_is_compared_as_text_not_as_its_encoding() -> None:
    composed, decomposed = "Caf\u00e9-Horse-9-battery", "Cafe\u0301-Horse-9-battery"
    assert open_all(seal(b"ok", composed), decomposed) == b"ok"
