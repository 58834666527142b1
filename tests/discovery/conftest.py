"""A LAN of our own: a network namespace for the phones, joined to this one by a veth
pair. provd sniffs on the host end; the phone side runs tests/discovery/phone.py."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The API test serves the real application as tests/web does.
from tests.web.conftest import served, session, tls  # noqa: F401

REPO = Path(__file__).resolve().parents[2]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@dataclass(frozen=True, slots=True)
class Lan:
    netns: str
    host_if: str
    phone_if: str
    host_ip: str
    phone_ip: str

    def _command(self, kind: str, spec: dict[str, Any]) -> list[str]:
        return [
            "ip", "netns", "exec", self.netns,
            sys.executable, "-m", "tests.discovery.phone", kind, json.dumps(spec),
        ]  # fmt: skip

    def _spec(self, spec: dict[str, Any]) -> dict[str, Any]:
        return {"iface": self.phone_if, "ip": self.phone_ip, **spec}

    def pnp(self, subscribes: list[tuple[bytes, int]], wait_for: list[str]) -> list[dict[str, Any]]:
        """Send the SUBSCRIBEs (payload, source port); what came back to the phone."""
        spec = self._spec(
            {
                "subscribes": [{"payload": p.decode(), "sport": port} for p, port in subscribes],
                "wait_for": wait_for,
            }
        )
        out = subprocess.run(
            self._command("pnp", spec), cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        result: list[dict[str, Any]] = json.loads(out.stdout)
        return result

    async def pnp_async(
        self, subscribes: list[tuple[bytes, int]], wait_for: list[str]
    ) -> list[dict[str, Any]]:
        """The same, without blocking the loop a responder in this process runs on."""
        return await asyncio.to_thread(self.pnp, subscribes, wait_for)

    def dhcp(self, mac: str, vendor_class: str, options: list[int], hostname: str) -> None:
        spec = self._spec(
            {"mac": mac, "vendor_class": vendor_class, "options": options, "hostname": hostname}
        )
        out = subprocess.run(
            self._command("dhcp", spec), cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr


@pytest.fixture
def lan() -> Iterator[Lan]:
    tag = secrets.token_hex(3)
    subnet = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(256)}"
    lan = Lan(
        netns=f"provd-disc-{tag}",
        host_if=f"pd{tag}h",
        phone_if=f"pd{tag}p",
        host_ip=f"{subnet}.1",
        phone_ip=f"{subnet}.2",
    )
    try:
        _ip("netns", "add", lan.netns)
        _ip("link", "add", lan.host_if, "type", "veth", "peer", "name", lan.phone_if)
        _ip("link", "set", lan.phone_if, "netns", lan.netns)
        _ip("addr", "add", f"{lan.host_ip}/24", "dev", lan.host_if)
        _ip("link", "set", lan.host_if, "up")
        _ip("-n", lan.netns, "addr", "add", f"{lan.phone_ip}/24", "dev", lan.phone_if)
        _ip("-n", lan.netns, "link", "set", lan.phone_if, "up")
        _ip("-n", lan.netns, "link", "set", "lo", "up")
        yield lan
    finally:
        # Deleting one end of the pair deletes both; the namespace holds the other end.
        subprocess.run(["ip", "link", "del", lan.host_if], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", lan.netns], capture_output=True, timeout=30)
