"""Fleet page: the console's device list with 10,000 devices, provd against nginx.

    python bench/fleet_page.py [--devices 10000] [--requests 40]

In a temporary directory: ``provd init``, then tenants, users and devices (several
models, some fetched, some reporting firmware, a platform pin so that some drift)
written in bulk in-process; ``provd serve`` on a free loopback port; an admin signs in
as a browser does (sign-in form, CSRF token, session cookie). Each scenario fetches one
fleet URL repeatedly on one kept-alive TLS connection and reports p50/p95 latency and
the page size. The reference: nginx serving the very HTML provd rendered, saved to a
file, over TLS with provd's certificate, measured the same way. No PBX runs, so the
registration column reads "unknown" (one RPC per page when it does).
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import re
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import _fleet
from _procs import Children, free_port, wait_for_port

from provd.db.connection import database, db_url_for
from provd.db.models import Device, DeviceLine, FirmwareImage, FirmwarePin, Tenant, User
from provd.security.secretbox import SecretBox
from provd.services import audit
from provd.services.directory import tenants
from provd.services.platform import Platform
from provd.settings import load_settings

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TENANTS = ("default", "acme", "globex", "initech", "umbrella")
MODELS = (("yealink-t46g", "yealink"), ("yealink-t48g", "yealink"), ("snom-d785", "snom"))
_ACTOR = audit.Actor("cli:bench")
_START_TIMEOUT = 60.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

SCENARIOS: tuple[tuple[str, dict[str, str]], ...] = (
    ("first page (100)", {}),
    ("filtered: tenant+model+search", {"tenant": "acme", "model": "yealink-t46g", "q": "Person 1"}),
    ("drift only", {"drift": "1"}),
    ("never fetched, by last fetch", {"status": "never-fetched", "sort": "fetched"}),
    ("deep page 90 (100)", {"page": "90"}),
    ("first page (500)", {"per_page": "500"}),
    ("deep page 18 (500)", {"per_page": "500", "page": "18"}),
)

_NGINX_CONFIG = """\
daemon off;
master_process on;
worker_processes 1;
{user}pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    server_tokens off;
    default_type "text/html; charset=utf-8";
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        root {root}/www;
    }}
}}
"""


def _args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--devices", type=int, default=10_000, help="devices (default 10000)")
    ap.add_argument(
        "--requests", type=int, default=40, help="measured requests per scenario (default 40)"
    )
    ap.add_argument("--warmup", type=int, default=3, help="unmeasured requests first (default 3)")
    ap.add_argument("--tmp-dir", type=Path, help="where to make the temporary directory")
    args = ap.parse_args(argv)
    if not 10 <= args.devices <= 100_000:
        ap.error("--devices must be between 10 and 100000")
    if not 1 <= args.requests <= 1000 or not 0 <= args.warmup <= 100:
        ap.error("--requests must be 1..1000 and --warmup 0..100")
    return args


# --- the data ----------------------------------------------------------------------------


def _mac(i: int) -> str:
    return f"0015{i:08x}"


async def _populate(data_dir: Path, count: int) -> None:
    """Tenants through the services (audit, bootstrap credentials); the bulk of users,
    devices and lines with bulk inserts, as an import of an existing fleet would."""
    settings = load_settings(data_dir)
    async with database(db_url_for(data_dir, settings.db_url)):
        p = Platform(data_dir, settings, SecretBox.load_or_create(data_dir))
        for slug in TENANTS[1:]:
            await tenants.add_tenant(p, _ACTOR, slug)
        by_slug = {t.slug: t for t in await Tenant.all()}
        sealed = p.box.seal(secrets.token_urlsafe(18))
        now = datetime.now(UTC)
        users, devices = [], []
        for i in range(count):
            tenant = by_slug[TENANTS[i % len(TENANTS)]]
            model, vendor = MODELS[i % len(MODELS)]
            ext = str(10000 + i // len(TENANTS))
            users.append(
                User(
                    tenant=tenant,
                    extension=ext,
                    display_name=f"Person {i}",
                    sip_username=ext,
                    sip_password_enc=sealed,
                )
            )
            fetched = i % 10 != 0
            version = "28.83.0.120" if i % 7 else "28.83.0.110"
            devices.append(
                Device(
                    tenant=tenant,
                    mac=_mac(i),
                    vendor=vendor,
                    model=model,
                    name=f"Desk {i}" if i % 3 == 0 else "",
                    prov_username=f"dev-{_mac(i)}",
                    prov_password_enc=sealed,
                    admin_password_enc=sealed,
                    last_fetch_at=now - timedelta(minutes=i % 600) if fetched else None,
                    last_fetch_ip=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
                    if fetched
                    else None,
                    reported_firmware=version if fetched and vendor == "yealink" else None,
                    reported_firmware_at=now if fetched and vendor == "yealink" else None,
                )
            )
        await User.bulk_create(users, batch_size=2000)
        await Device.bulk_create(devices, batch_size=2000)
        user_ids = {
            (t, e): i for i, t, e in await User.all().values_list("id", "tenant_id", "extension")
        }
        device_ids = dict(await Device.all().values_list("mac", "id"))
        await DeviceLine.bulk_create(
            [
                DeviceLine(
                    device_id=device_ids[d.mac],
                    slot=1,
                    user_id=user_ids[(d.tenant.id, u.extension)],
                )
                for d, u in zip(devices, users, strict=True)
            ],
            batch_size=2000,
        )
        image = await FirmwareImage.create(
            sha256=secrets.token_hex(32),
            size=1,
            vendor="yealink",
            version="28.83.0.120",
            filename="T46-28.83.0.120.rom",
            models=["yealink-t46g"],
            tested=True,
        )
        await FirmwarePin.create(
            owner="platform", level=0, model="yealink-t46g", image=image, tenant=None, device=None
        )


# --- HTTP --------------------------------------------------------------------------------


def _connection(port: int, ca: Path) -> http.client.HTTPSConnection:
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    return http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=60)


def _sign_in(port: int, ca: Path, password: str) -> str:
    """The session cookie, obtained through the sign-in form as a browser gets it."""
    conn = _connection(port, ca)
    conn.request("GET", "/login")
    response = conn.getresponse()
    body = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    match = _CSRF.search(body)
    assert match and cookie, "no sign-in form"
    form = urlencode({"username": "admin", "password": password, "csrf_token": match[1]})
    conn.request(
        "POST",
        "/login",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "Origin": f"https://127.0.0.1:{port}",
        },
    )
    response = conn.getresponse()
    response.read()
    for header, value in response.getheaders():
        if header.lower() == "set-cookie" and value.startswith("provd_session="):
            conn.close()
            return value.split(";", 1)[0]
    raise RuntimeError(f"sign-in failed: HTTP {response.status}")


def _measure(
    conn: http.client.HTTPSConnection, path: str, cookie: str, requests: int, warmup: int
) -> tuple[list[float], bytes]:
    latencies: list[float] = []
    body = b""
    headers = {"Cookie": cookie} if cookie else {}
    for n in range(warmup + requests):
        start = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        elapsed = time.perf_counter() - start
        if response.status != 200:
            raise RuntimeError(f"{path}: HTTP {response.status}: {body[:300]!r}")
        if n >= warmup:
            latencies.append(elapsed * 1000)
    return latencies, body


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def _nginx(root: Path, data_dir: Path, port: int) -> list[str]:
    for sub in ("www", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    user = ""
    if os.geteuid() == 0:
        # As root the master reads provd's key; workers (nobody) only need the pages.
        user = "user nobody nogroup;\n"
        for directory in (root.parent, root, root / "www"):
            directory.chmod(0o755)
    config = _NGINX_CONFIG.format(
        user=user,
        root=root,
        port=port,
        cert=data_dir / "server.pem",
        key=data_dir / "server.key",
    )
    (root / "nginx.conf").write_text(config)
    return [NGINX, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")]


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="provd-fleet-bench-", dir=args.tmp_dir))
    children = Children(workdir, _fleet.child_environment())
    try:
        data_dir = workdir / "data"
        provd_port, nginx_port = free_port(), free_port()
        init = subprocess.run(
            _fleet.provd_command(
                data_dir,
                "init",
                "--public-host",
                "127.0.0.1",
                "--https-port",
                str(provd_port),
                "--json",
            ),
            capture_output=True,
            text=True,
            check=True,
            cwd=workdir,
            env=_fleet.child_environment(),
        )
        password = json.loads(init.stdout)["console_password"]
        started = time.perf_counter()
        asyncio.run(_populate(data_dir, args.devices))
        print(
            f"{args.devices} devices in {len(TENANTS)} tenants written in"
            f" {time.perf_counter() - started:.1f} s"
        )

        log = (workdir / "serve.log").open("wb")
        serve = children.start(
            _fleet.provd_command(data_dir, "serve", "--bind", "127.0.0.1"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for_port(provd_port, serve, "provd serve", _START_TIMEOUT)
        ca = data_dir / "ca.pem"
        cookie = _sign_in(provd_port, ca, password)

        rows: list[tuple[str, list[float], int, list[float]]] = []
        pages: dict[str, bytes] = {}
        conn = _connection(provd_port, ca)
        for i, (name, params) in enumerate(SCENARIOS):
            path = "/console/?" + urlencode(params) if params else "/console/"
            latencies, body = _measure(conn, path, cookie, args.requests, args.warmup)
            pages[f"page{i}.html"] = body
            rows.append((name, latencies, len(body), []))
        conn.close()
        children.stop(serve)

        root = workdir / "nginx"
        command = _nginx(root, data_dir, nginx_port)
        for filename, body in pages.items():
            (root / "www" / filename).write_bytes(body)
            (root / "www" / filename).chmod(0o644)
        nginx = children.start(command, stderr=(workdir / "nginx.stderr").open("wb"))
        wait_for_port(nginx_port, nginx, "nginx", _START_TIMEOUT)
        conn = _connection(nginx_port, ca)
        for i, (_, _, size, reference) in enumerate(rows):
            latencies, body = _measure(conn, f"/page{i}.html", "", args.requests, args.warmup)
            assert len(body) == size
            reference.extend(latencies)
        conn.close()
        children.stop(nginx)

        print(
            f"\n{'scenario':34} {'bytes':>9} {'provd p50':>10} {'p95':>8}"
            f" {'nginx p50':>10} {'p95':>7} {'p50 ratio':>10}"
        )
        for name, latencies, size, reference in rows:
            p50, p95 = _percentile(latencies, 50), _percentile(latencies, 95)
            r50, r95 = _percentile(reference, 50), _percentile(reference, 95)
            print(
                f"{name:34} {size:>9} {p50:>8.1f}ms {p95:>6.1f}ms"
                f" {r50:>8.2f}ms {r95:>5.2f}ms {p50 / r50:>9.0f}x"
            )
        print(
            f"\n{args.requests} requests per scenario after {args.warmup} warm-up,"
            " one kept-alive TLS connection each."
        )
        return 0
    finally:
        children.stop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
