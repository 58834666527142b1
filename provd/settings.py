"""Platform settings: where the data lives and how phones reach provd.

``provd init`` writes them to ``<data dir>/provd.json``; command-line options
of ``provd serve`` override them for one run.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from provd.domain.errors import InvalidInput
from provd.domain.network import parse_network
from provd.security.tls import KEY_TYPES

SETTINGS_FILE = "provd.json"
DEFAULT_NTP_SERVERS: tuple[str, ...] = ("pool.ntp.org",)
DEFAULT_DATA_DIR = Path(os.environ.get("PROVD_DATA_DIR", "data"))
LOG_FORMATS = ("text", "json")


@dataclass(frozen=True, slots=True)
class Settings:
    public_host: str = field(default_factory=socket.getfqdn)
    """The host name or address phones use to reach provd (and the SIP proxy, by default)."""
    https_port: int = 8443
    http_port: int | None = None
    """Plain HTTP for phones that cannot do TLS; off unless the admin enables it."""
    bind: str = "0.0.0.0"
    sip_proxy_host: str | None = None
    sip_proxy_port: int = 5060
    resync_minutes: int = 1440
    ntp_servers: tuple[str, ...] = DEFAULT_NTP_SERVERS
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_key_type: str = KEY_TYPES[0]
    """The server key provd makes for itself (not for --tls-cert/--tls-key): "rsa"
    (RSA-2048, every phone) or "ecdsa" (P-256, for phones that all support it)."""
    db_url: str | None = None
    tls_handshake_seconds: float = 10.0
    """How long a client may take to complete the TLS handshake."""
    request_head_seconds: float = 10.0
    """From connect (after TLS) to a complete first request head."""
    keepalive_seconds: float = 15.0
    """How long an idle keep-alive connection stays open between requests."""
    max_connections_per_client: int = 100
    """Concurrent connections from one address (IPv6: one /64); phones behind one NAT
    share it, but each fetch holds a connection only for a moment."""
    proxy_protocol_from: tuple[str, ...] = ()
    """TCP balancers in front of provd (addresses or networks): their connections must
    start with a PROXY protocol header (haproxy ``send-proxy-v2``) naming the client,
    which is then the one counted, throttled and recorded."""
    smtp_host: str | None = None
    """Where spend-limit alerts are e-mailed through; none: alerts are only shown."""
    smtp_port: int = 25
    mail_from: str | None = None
    """The alerts' sender; provd@<public host> when not set."""
    log_format: str = LOG_FORMATS[0]
    voicemail_days: int = 30
    """How long voicemail messages are kept: older ones are deleted, heard or not."""
    """How ``serve`` writes its log: text lines, or one JSON object per line."""

    @property
    def provisioning_url(self) -> str:
        port = "" if self.https_port == 443 else f":{self.https_port}"
        return f"https://{self.public_host}{port}/"

    @property
    def proxy_host(self) -> str:
        return self.sip_proxy_host or self.public_host

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _check(settings: Settings) -> Settings:
    for name in ("https_port", "sip_proxy_port"):
        port = getattr(settings, name)
        if not 1 <= port <= 65535:
            raise InvalidInput(name, f"{port} is not a TCP/UDP port")
    if settings.http_port is not None and not 1 <= settings.http_port <= 65535:
        raise InvalidInput("http_port", f"{settings.http_port} is not a TCP port")
    for name in ("tls_handshake_seconds", "request_head_seconds", "keepalive_seconds"):
        if not 0.1 <= getattr(settings, name) <= 3600:
            raise InvalidInput(name, "must be between 0.1 and 3600 seconds")
    if not 1 <= settings.smtp_port <= 65535:
        raise InvalidInput("smtp_port", f"{settings.smtp_port} is not a TCP port")
    if not 1 <= settings.max_connections_per_client <= 100000:
        raise InvalidInput("max_connections_per_client", "must be between 1 and 100000")
    for network in settings.proxy_protocol_from:
        parse_network(network, field="proxy_protocol_from")
    if not 5 <= settings.resync_minutes <= 43200:
        raise InvalidInput("resync_minutes", "must be between 5 and 43200 minutes")
    if settings.tls_key_type not in KEY_TYPES:
        raise InvalidInput("tls_key_type", f"must be one of: {', '.join(KEY_TYPES)}")
    if not 1 <= settings.voicemail_days <= 3650:
        raise InvalidInput("voicemail_days", "must be between 1 and 3650 days")
    if settings.log_format not in LOG_FORMATS:
        raise InvalidInput("log_format", f"must be one of: {', '.join(LOG_FORMATS)}")
    return settings


def load_settings(data_dir: Path) -> Settings:
    path = data_dir / SETTINGS_FILE
    if not path.exists():
        return Settings()
    raw = json.loads(path.read_text())
    raw["ntp_servers"] = tuple(raw.get("ntp_servers", DEFAULT_NTP_SERVERS))
    raw["proxy_protocol_from"] = tuple(raw.get("proxy_protocol_from", ()))
    known = set(Settings.__dataclass_fields__)
    return _check(Settings(**{k: v for k, v in raw.items() if k in known}))


def save_settings(data_dir: Path, settings: Settings) -> None:
    _check(settings)
    path = data_dir / SETTINGS_FILE
    tmp = path.with_suffix(".tmp")
    data = asdict(settings)
    data["ntp_servers"] = list(settings.ntp_servers)
    data["proxy_protocol_from"] = list(settings.proxy_protocol_from)
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
