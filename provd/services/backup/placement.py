"""Where a restore builds the data directory, and how it takes the directory's place.

The restore is built in a private directory next to the target (same file system),
and renamed onto it only once complete: the target is either as it was or fully
restored, never half-written.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from provd.domain.errors import InvalidInput


def _occupied(target: Path) -> bool:
    return target.is_dir() and any(target.iterdir())


def check_target(target: Path, *, force: bool) -> None:
    """A data directory may be restored into when it is missing or empty, or with --force."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise InvalidInput("data_dir", f"{target} is not a directory")
    if _occupied(target) and not force:
        raise InvalidInput(
            "data_dir",
            f"{target} is not empty: restore into a new directory, or give --force to replace"
            " what it holds",
        )


def staging_dir(target: Path) -> Path:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.restoring-", dir=target.parent))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def put_in_place(built: Path, target: Path) -> None:
    """Rename ``built`` onto ``target``; what ``target`` held is deleted only after."""
    os.chmod(built, 0o700)
    if not _occupied(target):
        # rename(2) replaces an empty directory.
        os.rename(built, target)
        fsync_dir(target.parent)
        return
    aside = Path(tempfile.mkdtemp(prefix=f".{target.name}.replaced-", dir=target.parent))
    os.rename(target, aside)
    try:
        os.rename(built, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rename(aside, target)
        raise
    fsync_dir(target.parent)
    shutil.rmtree(aside, ignore_errors=True)
