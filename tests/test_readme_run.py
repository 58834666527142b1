"""The README's first command, `bash scripts/run`, typed exactly as the README writes it.

It runs in a throw-away copy of the repository (the developer's own ``./data`` is never
touched) with nothing in the environment: the default ``./data`` from the repository
root, a relative ``PROVD_DATA_DIR``, and ``--data-dir ../elsewhere`` from another
directory. Each run initialises, prints credentials that work, serves HTTPS under its
own CA, runs the PBX, provisions a phone that fetches its configuration and registers,
and stops cleanly. Only ports and loopback addresses are passed to `serve`, so the test
does not collide with anything else on the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.pbx.conftest import Account, ip, reg_row
from tests.pbx.sippctl import run_sipp
from tests.procs import free_port, matching, serve_pbx_args

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PROXY = ip(198)
MEDIA = ip(199)
PHONE = (ip(197), 5061)
MAC = "001565b00001"
T46G_UA = "Yealink SIP-T46G 28.83.0.120 00:15:65:b0:00:01"
_TIMEOUT_S = 180.0  # the script first checks system packages and refreshes .venv


def _environment(**extra: str) -> dict[str, str]:
    """The developer's environment without provd's own variables, as a newcomer has it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROVD_")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the work tree as a clone would have it (tracked and new files, nothing
    ignored): no ``data/``, no ``.venv``, which scripts/run makes itself."""
    dest = tmp_path_factory.mktemp("clone") / "provd"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    assert not (dest / "data").exists() and not (dest / ".venv").exists()
    return dest


def _curl(ca: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    # The printed URLs name "localhost"; the CA provd made must vouch for it.
    return subprocess.run(
        ["curl", "-sS", "--cacert", str(ca), "-o", "-", "-w", "\n%{http_code}", *args, url],
        capture_output=True,
        text=True,
        timeout=30,
    )


@dataclass
class Run:
    """One way of typing the run command: from where, what, with which environment."""

    cwd: Path
    argv: list[str]
    env: dict[str, str]
    data_args: list[str]
    """What the same terminal's later `provd` commands pass to reach the same data."""
    data_dir: Path
    """Where the README says this invocation keeps its data."""


def _runs(repo: Path) -> dict[str, Run]:
    site, other = repo.parent / "site", repo.parent / "other"
    site.mkdir(exist_ok=True)
    other.mkdir(exist_ok=True)
    return {
        # The README's first command, exactly: from the repository root, nothing set.
        "default": Run(repo, ["bash", "scripts/run"], _environment(), [], repo / "data"),
        # A relative PROVD_DATA_DIR is relative to where it is typed, not to the script.
        "relative-env": Run(
            site,
            ["bash", "../provd/scripts/run"],
            _environment(PROVD_DATA_DIR="some/dir"),
            [],
            site / "some" / "dir",
        ),
        "relative-option": Run(
            other,
            [str(repo / ".venv" / "bin" / "provd"), "--data-dir", "../elsewhere", "serve"],
            _environment(),
            ["--data-dir", "../elsewhere"],
            repo.parent / "elsewhere",
        ),
    }


def _provd(repo: Path, run: Run, *args: str) -> str:
    """A later command typed in the same terminal, as the README's 'A first phone' does."""
    done = subprocess.run(
        [str(repo / ".venv" / "bin" / "provd"), *run.data_args, *args],
        cwd=run.cwd,
        env=run.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def started(
    repo: Path, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Run, str]]:
    run = _runs(repo)[request.param]
    port = free_port()
    log = tmp_path / "run.log"
    argv = [*run.argv, "--https-port", str(port), *serve_pbx_args(PROXY, MEDIA)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv, cwd=run.cwd, env=run.env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + _TIMEOUT_S
        while "phones register at" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "not up:\n" + log.read_text()
            time.sleep(0.2)
        yield run, log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        left = matching(str(run.data_dir), f"--listen-ng={PROXY}:")
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert rc == 0, log.read_text()
    assert left == [], "the run left processes behind"
    # Third-party INFO lines (ORM start and shutdown) stay out of a newcomer's terminal.
    assert "INFO tortoise" not in log.read_text(), log.read_text()


@pytest.mark.parametrize("started", ["default", "relative-env", "relative-option"], indirect=True)
async def test_run_command_serves_a_phone_that_registers(
    repo: Path, started: tuple[Run, str], tmp_path: Path
) -> None:
    run, text = started
    assert (run.data_dir / "provd.json").is_file(), f"no data in {run.data_dir}:\n{text}"
    assert not list(run.data_dir.glob("**/data/pbx")), "a data path was nested in itself"
    # Printed once, on the first run: where to go and with what.
    url = re.search(r"web console:\s+(\S+)", text)
    token = re.search(r"admin API token:\s+(\S+)", text)
    assert url is not None and token is not None, text
    assert re.search(r"console sign-in:\s+admin / \S+", text), text
    assert re.search(r"bootstrap password:\s+\S+", text), text
    ca = run.data_dir / "ca.pem"
    login = _curl(ca, url[1])
    assert login.returncode == 0, login.stderr
    assert login.stdout.endswith("\n200") and "<form" in login.stdout
    base = url[1].removesuffix("/login")
    api = _curl(ca, f"{base}/api/v1/tenants", "-H", f"Authorization: Bearer {token[1]}")
    assert api.stdout.endswith("\n200") and '"default"' in api.stdout, api.stdout
    refused = _curl(ca, f"{base}/api/v1/tenants", "-H", "Authorization: Bearer nope")
    assert refused.stdout.endswith("\n401"), refused.stdout

    # The README's first phone, typed in the same terminal against the same data.
    _provd(repo, run, "user", "add", "--extension", "201", "--name", "Front Desk")
    added = _provd(
        repo, run, "device", "add", "--mac", MAC, "--model", "yealink-t46g", "--user", "201"
    )
    username = re.search(r"provisioning username:\s+(\S+)", added)
    password = re.search(r"provisioning password:\s+(\S+)", added)
    assert username is not None and password is not None, added
    fetched = _curl(
        ca,
        f"{base}/{MAC}.cfg",
        "--digest",
        "-u",
        f"{username[1]}:{password[1]}",
        "-A",
        T46G_UA,
    )
    assert fetched.stdout.endswith("\n200"), fetched.stdout
    cfg = dict(line.split(" = ", 1) for line in fetched.stdout.splitlines() if " = " in line)
    assert cfg["account.1.outbound_proxy.1.address"] == PROXY
    account = Account(
        extension="201",
        domain=cfg["account.1.sip_server.1.address"],
        username=cfg["account.1.auth_name"],
        password=cfg["account.1.password"],
    )
    registered = await run_sipp(
        "register.xml",
        tmp_path,
        remote=f"{PROXY}:5060",
        local=PHONE,
        rows=[reg_row(account, PHONE)],
    )
    assert registered.rc == 0, registered.output + registered.messages
