"""Without CAP_NET_RAW, `serve --pnp` / `--dhcp-observe` say what is missing and exit 1
before anything starts (no traceback, no data directory created)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Each test starts a `provd serve` process (a Python interpreter importing provd).
pytestmark = pytest.mark.slow

NO_NET_RAW = ["setpriv", "--inh-caps", "-net_raw", "--bounding-set", "-net_raw"]


def _serve(data_dir: Path, *args: str, prefix: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "provd", "--data-dir", str(data_dir), "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "feature"),
    [
        (["--pnp", "--pnp-interface", "lo"], "PnP responder"),
        (["--dhcp-observe", "lo"], "DHCP observer"),
    ],
)
def test_missing_cap_net_raw_is_one_clear_line(
    tmp_path: Path, args: list[str], feature: str
) -> None:
    out = _serve(tmp_path / "data", *args, prefix=NO_NET_RAW)
    assert out.returncode == 1
    assert out.stderr.startswith(
        f"error: {feature} needs CAP_NET_RAW to sniff and send raw packets: "
        "run provd as root or `setcap cap_net_raw+ep /"
    )
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "data").exists()


def test_an_unknown_interface_is_named(tmp_path: Path) -> None:
    out = _serve(tmp_path / "data", "--pnp", "--pnp-interface", "nosuch0", prefix=[])
    assert out.returncode == 1
    assert out.stderr.startswith("error: pnp_interface: there is no network interface 'nosuch0'")
    assert "Traceback" not in out.stderr
