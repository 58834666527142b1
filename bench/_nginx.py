"""The reference server: nginx serving the fleet's pre-rendered files over TLS.

Closest analogue to provd's request path that stock nginx offers: the same certificate
and key files, the same TLS versions and cipher order, and per-phone credentials
(``auth_basic``; nginx has no Digest) so that every phone also takes a 401 first. A
phone's credentials open only its own files and the common file, as in provd: the
password file is picked by the MAC in the path, or by the user name for the common file.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
from pathlib import Path

from _fleet import Fleet

from provd.security.tls import TLS12_CIPHERS

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
_WORKER_USER = "nobody"
_WORKER_GROUP = "nogroup"

_CONFIG = """\
daemon off;
master_process on;
worker_processes {workers};
{user}pid {root}/nginx.pid;
error_log {root}/error.log warn;

events {{
    worker_connections 4096;
}}

http {{
    access_log off;
    server_tokens off;
    default_type "text/plain; charset=utf-8";
    sendfile on;
    keepalive_requests 1000;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;

    map $remote_user $phone_password_file {{
        "~^dev-(?<user_mac>[0-9a-f]{{12}})$" {root}/users/$user_mac;
        default {root}/users/none;
    }}

    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers {ciphers};
        ssl_prefer_server_ciphers on;
        root {root}/www;
        auth_basic "provd";

        location ~ "^/y0000000000[0-9a-f]{{2}}\\.cfg$" {{
            auth_basic_user_file $phone_password_file;
        }}
        location ~ "^/(?<path_mac>[0-9a-f]{{12}})\\.(boot|cfg)$" {{
            auth_basic_user_file {root}/users/$path_mac;
        }}
        location / {{
            return 404;
        }}
    }}
}}
"""


def _ssha(password: str) -> str:
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def prepare(root: Path, fleet: Fleet, port: int, workers: int) -> list[str]:
    """Write the document root, password files and configuration under ``root``;
    returns the command that runs nginx in the foreground."""
    for sub in ("www", "users", "tmp"):
        (root / sub).mkdir(parents=True, mode=0o700)
    for name, body in fleet.files.items():
        (root / "www" / name).write_bytes(body)
    for phone in fleet.phones + fleet.warmup:
        line = f"{phone.username}:{_ssha(phone.password)}\n"
        (root / "users" / phone.mac).write_text(line)
    (root / "users" / "none").write_text("")
    user = ""
    if os.geteuid() == 0:
        # As root, nginx's master keeps root (to read provd's key in its 0700 data
        # directory) and its workers run as nobody: they must be able to read the files.
        user = f"user {_WORKER_USER} {_WORKER_GROUP};\n"
        _hand_over(root)
    config = _CONFIG.format(
        workers=workers,
        user=user,
        root=root,
        port=port,
        cert=fleet.cert,
        key=fleet.key,
        ciphers=TLS12_CIPHERS,
    )
    (root / "nginx.conf").write_text(config)
    return [NGINX, "-p", str(root), "-c", str(root / "nginx.conf"), "-e", str(root / "error.log")]


def _hand_over(root: Path) -> None:
    for path in [root / "www", root / "users", *root.glob("www/*"), *root.glob("users/*")]:
        shutil.chown(path, _WORKER_USER, _WORKER_GROUP)
    # Workers must traverse the benchmark's directories down to www/ and users/ (not
    # list them); the directories above belong to someone else and are left alone.
    for directory in (root, root.parent):
        directory.chmod(directory.stat().st_mode | 0o011)
