"""The content-addressed store: checksums, atomic import, limits, nothing left on refusal."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from provd.domain.errors import InvalidInput
from provd.firmware.store import FirmwareStore, file_chunks


async def _stream(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _files(store: FirmwareStore) -> list[str]:
    return sorted(p.name for p in store.root.iterdir()) if store.root.exists() else []


async def test_a_file_is_stored_under_its_sha256_privately(tmp_path: Path) -> None:
    store = FirmwareStore(tmp_path)
    data = os.urandom(300_000)
    stored = await store.receive(_stream([data[:100_000], data[100_000:]]))
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    path = store.path(stored.sha256)
    assert path == tmp_path / "firmware" / stored.sha256
    assert path.read_bytes() == data
    assert path.stat().st_mode & 0o777 == 0o600
    assert store.root.stat().st_mode & 0o777 == 0o700
    assert _files(store) == [stored.sha256]


async def test_a_matching_declared_checksum_is_accepted_in_any_case(tmp_path: Path) -> None:
    store = FirmwareStore(tmp_path)
    data = b"firmware image\n" * 1000
    declared = hashlib.sha256(data).hexdigest().upper()
    stored = await store.receive(_stream([data]), declared)
    assert stored.sha256 == declared.lower()


async def test_a_file_that_does_not_match_its_checksum_is_refused_and_not_kept(
    tmp_path: Path,
) -> None:
    store = FirmwareStore(tmp_path)
    data = b"corrupted in transit"
    declared = hashlib.sha256(b"what the vendor published").hexdigest()
    with pytest.raises(InvalidInput) as e:
        await store.receive(_stream([data]), declared)
    assert e.value.field == "sha256"
    assert hashlib.sha256(data).hexdigest() in e.value.message
    assert _files(store) == []


async def test_a_malformed_declared_checksum_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    store = FirmwareStore(tmp_path)
    with pytest.raises(InvalidInput) as e:
        store.upload("abc123")
    assert e.value.field == "sha256"
    assert not store.root.exists()


async def test_a_file_over_the_limit_is_refused_and_not_kept(tmp_path: Path) -> None:
    store = FirmwareStore(tmp_path, max_bytes=1000)
    with pytest.raises(InvalidInput) as e:
        await store.receive(_stream([b"x" * 600, b"x" * 600]))
    assert e.value.field == "file"
    assert "limit" in e.value.message
    assert _files(store) == []
    assert (await FirmwareStore(tmp_path, max_bytes=1000).receive(_stream([b"x" * 1000]))).size


async def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    store = FirmwareStore(tmp_path)
    with pytest.raises(InvalidInput):
        await store.receive(_stream([]))
    assert _files(store) == []


async def test_a_stream_that_breaks_off_leaves_nothing(tmp_path: Path) -> None:
    store = FirmwareStore(tmp_path)

    async def broken() -> AsyncIterator[bytes]:
        yield b"first part"
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.receive(broken())
    assert _files(store) == []  # no temporary file either


async def test_the_same_bytes_twice_make_one_file(tmp_path: Path) -> None:
    store = FirmwareStore(tmp_path)
    first = await store.receive(_stream([b"same bytes"]))
    second = await store.receive(_stream([b"same ", b"bytes"]))
    assert first == second
    assert _files(store) == [first.sha256]


async def test_a_large_file_is_never_held_in_memory(tmp_path: Path) -> None:
    store = FirmwareStore(tmp_path)
    source = tmp_path / "big.rom"
    with source.open("wb") as f:
        for _ in range(48):
            f.write(os.urandom(1024**2))
    tracemalloc.start()
    try:
        stored = await store.receive(file_chunks(source))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.size == 48 * 1024**2
    assert peak < 8 * 1024**2, f"peak {peak} bytes while storing 48 MiB"
    digest = hashlib.sha256()
    with source.open("rb") as f:
        while chunk := f.read(1024**2):
            digest.update(chunk)
    assert stored.sha256 == digest.hexdigest()


def test_paths_are_only_ever_sha256_names(tmp_path: Path) -> None:
    store = FirmwareStore(tmp_path)
    for bad in ("../secret.key", "", "g" * 64, "a" * 63):
        with pytest.raises(InvalidInput):
            store.path(bad)
