"""Processes the serve tests start and must not leave behind, found through /proc."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any


def serve_pbx_args(proxy: str, media: str) -> list[str]:
    """`serve --pbx` on a test's own loopback addresses (SIP, RPC and rtpengine control on
    ``proxy``, media on ``media``), so no two tests share a port."""
    return [
        "--pbx",
        "--sip-address",
        proxy,
        "--media-address",
        media,
        "--rpc-address",
        proxy,
        "--rtpengine-ng-address",
        proxy,
    ]


def _stat(pid: int | str) -> list[str] | None:
    """/proc/PID/stat from the state on (comm may hold spaces and parentheses)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def group(pgid: int) -> list[int]:
    """Live processes of a process group (a daemon and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        fields = _stat(entry.name) if entry.name.isdigit() else None
        if fields is not None and fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            found.append(int(entry.name))
    return found


def matching(*marks: str, programs: tuple[str, ...] = ()) -> list[int]:
    """Live processes (not this one) whose command line contains one of ``marks``, and,
    with ``programs``, whose executable name ends with one of them."""
    wanted = [m.encode() for m in marks]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        argv0 = cmdline.split(b"\0", 1)[0]
        if programs and not argv0.endswith(tuple(p.encode() for p in programs)):
            continue
        if any(m in cmdline for m in wanted) and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now (the kernel's pick), for a server a test starts."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def provd_json(data_dir: Path, *args: str, timeout: float = 60.0) -> Any:
    """A provd command run as an admin types it, with --json; its output parsed."""
    out = subprocess.run(
        [sys.executable, "-m", "provd", "--data-dir", str(data_dir), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)
