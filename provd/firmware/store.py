"""The content-addressed firmware store: ``<data dir>/firmware/<sha256>``.

A file is received into a private temporary file in the store directory while
its SHA-256 is computed chunk by chunk (never the whole file in memory), then
renamed onto its digest. The rename is atomic, so a reader sees either no file
or the complete one; and two imports of the same bytes end in the same file.
A declared checksum that does not match, or a file over the size limit, leaves
nothing behind. Only a crash mid-import can leave a ``.upload-*`` file: never
served (it is no digest), it may be deleted whenever no import is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from provd.domain.errors import InvalidInput
from provd.domain.firmware import check_sha256

MAX_BYTES = 512 * 1024**2
"""The largest firmware accepted: Yealink and Snom images are 10 to 100 MiB."""
CHUNK_BYTES = 1024**2
STORE_DIR = "firmware"
_TEMP_PREFIX = ".upload-"


@dataclass(frozen=True, slots=True)
class StoredFile:
    sha256: str
    size: int


def _mib(size: int) -> str:
    return f"{size / 1024**2:.0f} MiB"


class Upload:
    """One file being received: write chunks, then :meth:`commit` or :meth:`discard`.

    Used as a context manager, an upload that was not committed is discarded,
    whatever went wrong.
    """

    def __init__(self, root: Path, max_bytes: int, declared_sha256: str | None) -> None:
        self._root = root
        self._max = max_bytes
        self._declared = declared_sha256
        self._hash = hashlib.sha256()
        self._size = 0
        self._temp = root / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
        fd = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._done = False

    @property
    def size(self) -> int:
        return self._size

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._max:
            raise InvalidInput("file", f"is larger than the {_mib(self._max)} limit")
        self._hash.update(chunk)
        self._file.write(chunk)

    def commit(self) -> StoredFile:
        """Check the declared checksum, make the file durable and give it its name."""
        if self._size == 0:
            raise InvalidInput("file", "is empty")
        digest = self._hash.hexdigest()
        if self._declared is not None and digest != self._declared:
            raise InvalidInput(
                "sha256",
                f"the file's SHA-256 is {digest}, not the declared {self._declared}:"
                " the file is corrupt or not the one meant; nothing was stored",
            )
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._temp, self._root / digest)
        _fsync_dir(self._root)
        self._done = True
        return StoredFile(digest, self._size)

    def discard(self) -> None:
        if self._done:
            return
        self._done = True
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            self._temp.unlink()

    def __enter__(self) -> Upload:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FirmwareStore:
    def __init__(self, data_dir: Path, *, max_bytes: int = MAX_BYTES) -> None:
        self.root = data_dir / STORE_DIR
        self.max_bytes = max_bytes

    def _ensure_root(self) -> None:
        self.root.mkdir(mode=0o700, exist_ok=True)
        # mkdir's mode is filtered by the umask, and the directory may predate us.
        os.chmod(self.root, 0o700)

    def path(self, sha256: str) -> Path:
        return self.root / check_sha256(sha256)

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def upload(self, declared_sha256: str | None = None) -> Upload:
        declared = check_sha256(declared_sha256) if declared_sha256 is not None else None
        self._ensure_root()
        return Upload(self.root, self.max_bytes, declared)

    async def receive(
        self, chunks: AsyncIterable[bytes], declared_sha256: str | None = None
    ) -> StoredFile:
        """Store a stream; the declared checksum, when given, must match."""
        with self.upload(declared_sha256) as upload:
            async for chunk in chunks:
                upload.write(chunk)
            # fsync of a large file takes a while: not on the event loop.
            return await asyncio.to_thread(upload.commit)

    def remove(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(sha256).unlink()


async def file_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """A local file as a stream of chunks, for :meth:`FirmwareStore.receive`."""
    with path.open("rb") as f:
        while chunk := f.read(chunk_bytes):
            yield chunk
