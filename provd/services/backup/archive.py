"""The tar inside the envelope: written as a stream, read back member by member.

The manifest is the first member, so a restore knows what the backup is (and can
refuse it) before it writes a byte. Files are copied in chunks both ways: a firmware
store of gigabytes passes through without being held in memory.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, BinaryIO, cast

from provd.domain.backup import MANIFEST, MANIFEST_MAX_BYTES, Manifest
from provd.domain.errors import InvalidInput
from provd.services.backup.contents import Source, allowed, firmware_digest
from provd.services.backup.envelope import CHUNK, EnvelopeReader, EnvelopeWriter

_RESTORED_MODE = 0o644
"""A restored file keeps at most its owner's write bit and others' read bits: keys
stay 0600 as they were backed up, nothing becomes executable or writable by others."""


class _Counting:
    """The encrypted file as written: its size and SHA-256, for the admin to check."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self.size = 0
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self._out.write(data)
        self.size += len(data)
        self.sha256.update(data)
        return len(data)


def member_sizes(sources: Sequence[Source]) -> dict[str, int]:
    return {s.member: s.path.stat().st_size for s in sources}


def write_archive(
    path: Path, passphrase: str, manifest: Manifest, sources: Sequence[Source]
) -> tuple[int, str]:
    """Write the encrypted archive to the new file ``path``; returns its size and SHA-256."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw:
        counted = _Counting(raw)
        envelope = EnvelopeWriter(cast(BinaryIO, counted), passphrase)
        with tarfile.open(
            fileobj=cast(IO[bytes], envelope), mode="w|", format=tarfile.PAX_FORMAT
        ) as tar:
            body = manifest.to_json()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode = len(body), 0o600
            tar.addfile(info, io.BytesIO(body))
            for source in sources:
                with source.path.open("rb") as f:
                    stat = os.fstat(f.fileno())
                    if stat.st_size != manifest.members[source.member]:
                        raise InvalidInput("file", f"{source.path} changed while it was backed up")
                    info = tarfile.TarInfo(source.member)
                    info.size, info.mode, info.mtime = (
                        stat.st_size,
                        stat.st_mode & 0o777,
                        stat.st_mtime,
                    )
                    tar.addfile(info, f)
        envelope.finish()
        raw.flush()
        os.fsync(raw.fileno())
    return counted.size, counted.sha256.hexdigest()


def _corrupt(why: str) -> InvalidInput:
    return InvalidInput("file", f"the backup is corrupt: {why}")


class ArchiveReader:
    """One backup being read: :meth:`manifest` first, then :meth:`extract`."""

    def __init__(self, src: BinaryIO, passphrase: str) -> None:
        self._envelope = EnvelopeReader(src, passphrase)
        try:
            # Opening reads the first member's header; closed with its file, by the caller.
            self._tar = tarfile.open(fileobj=cast(IO[bytes], self._envelope), mode="r|")  # noqa: SIM115
        except tarfile.TarError as e:
            raise _corrupt(f"its archive is unreadable ({e})") from None

    def manifest(self) -> Manifest:
        info = self._next()
        if info is None or info.name != MANIFEST or not info.isreg():
            raise _corrupt("its first member is not the manifest")
        if info.size > MANIFEST_MAX_BYTES:
            raise _corrupt("its manifest is too large")
        f = self._tar.extractfile(info)
        assert f is not None  # a regular file
        return Manifest.from_json(f.read())

    def extract(self, root: Path, manifest: Manifest) -> None:
        """Write every member under ``root`` (new files only), checking each against the
        manifest and each firmware file against its SHA-256; then read to the last chunk."""
        seen: set[str] = set()
        while (info := self._next()) is not None:
            name = info.name
            if not info.isreg() or not allowed(name, manifest) or name in seen:
                raise _corrupt(f"it holds {name!r}, which no backup holds")
            if manifest.members.get(name) != info.size:
                raise _corrupt(f"{name} is not the size its manifest says")
            seen.add(name)
            self._write(info, root / name, firmware_digest(name))
        self._envelope.finish()
        missing = sorted(set(manifest.members) - seen)
        if missing:
            raise _corrupt(f"it lacks {', '.join(missing[:3])}")

    def _next(self) -> tarfile.TarInfo | None:
        try:
            return self._tar.next()
        except tarfile.TarError as e:
            raise _corrupt(f"its archive is unreadable ({e})") from None

    def _write(self, info: tarfile.TarInfo, dest: Path, digest: str | None) -> None:
        src = self._tar.extractfile(info)
        assert src is not None  # a regular file
        dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, info.mode & _RESTORED_MODE)
        sha256 = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            while chunk := src.read(CHUNK):
                sha256.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if digest is not None and sha256.hexdigest() != digest:
            raise _corrupt(f"firmware {digest} does not have that SHA-256")
