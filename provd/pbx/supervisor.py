"""Kamailio, rtpengine and the media application as supervised children of provd
(``provd serve --pbx``).

Start order: database tables, configuration (validated), rtpengine, the media
application (when enabled), then Kamailio, each awaited until it answers. A child
that dies is restarted with backoff; on shutdown all are stopped and reaped.

One supervisor per data directory: it holds ``pbx/supervisor.lock`` while it runs.
The kernel drops the lock when provd dies however it dies, so a daemon still
running from an earlier provd (see :mod:`provd.pbx.process`) is known to be an
orphan, never a live provd's, before it is stopped.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

from provd.pbx import rtpengine
from provd.pbx.config import ConfigFiles, validate_config, write_config
from provd.pbx.control import PbxControl
from provd.pbx.errors import PbxError
from provd.pbx.media_app import (
    answers_options,
    media_argv,
    media_dir,
    moh_file,
    write_default_moh,
)
from provd.pbx.process import ManagedProcess
from provd.pbx.schema import ensure_schema
from provd.pbx.settings import PbxSecrets, PbxSettings

log = logging.getLogger(__name__)

_STAGING = "staging"


def rtpengine_argv(settings: PbxSettings, binary: str = "rtpengine") -> list[str]:
    interface = settings.media_address
    if settings.media_advertised_address:
        interface += "!" + settings.media_advertised_address
    ng_host, ng_port = settings.rtpengine_ng
    return [
        binary,
        # Debian's /etc/rtpengine/rtpengine.conf asks for the kernel module.
        "--config-file=none",
        "--table=-1",
        "--foreground",
        "--log-stderr",
        "--log-level=5",
        f"--interface={interface}",
        f"--listen-ng={ng_host}:{ng_port}",
        f"--port-min={settings.rtp_port_min}",
        f"--port-max={settings.rtp_port_max}",
        "--num-threads=2",
    ]


def kamailio_argv(settings: PbxSettings, main_cfg: Path, binary: str = "kamailio") -> list[str]:
    # -DD: stay in the foreground so the pid we hold is Kamailio's main process.
    return [
        binary,
        "-DD",
        "-E",
        "-f",
        str(main_cfg),
        "-m",
        str(settings.shm_mb),
        "-M",
        str(settings.pkg_mb),
    ]


class PbxSupervisor:
    def __init__(
        self,
        settings: PbxSettings,
        *,
        domains: Sequence[str] = (),
        kamailio: str = "kamailio",
        rtpengine_bin: str = "rtpengine",
        ready_timeout: float = 15.0,
        max_backoff: float = 30.0,
        on_restart: Callable[[str], None] | None = None,
    ) -> None:
        """``on_restart``: called with ``"kamailio"``, ``"rtpengine"`` or ``"media"``
        each time that child died and was started again."""
        self.settings = settings
        self._domains = tuple(domains)
        self._kamailio_bin = kamailio
        self._rtpengine_bin = rtpengine_bin
        self._ready_timeout = ready_timeout
        self._max_backoff = max_backoff
        self._on_restart = on_restart
        self.secrets = PbxSecrets.load_or_create(settings.pbx_dir)
        self.control = PbxControl.for_settings(settings, self.secrets)
        self.files: ConfigFiles | None = None
        self.kamailio: ManagedProcess | None = None
        self.rtpengine: ManagedProcess | None = None
        self.media: ManagedProcess | None = None
        self._lock_fd: int | None = None

    async def prepare(self) -> ConfigFiles:
        """Tables and validated configuration, without starting anything."""
        for binary in (self._kamailio_bin, self._rtpengine_bin):
            if shutil.which(binary) is None:
                raise PbxError(f"{binary} not found: run scripts/install-system-deps")
        await ensure_schema(self.control.db)
        # Kamailio's cfg names it; rtpengine reads it when a call is put on hold.
        write_default_moh(moh_file(self.settings))
        self.files = write_config(self.settings, self.secrets, self._domains, self.settings.pbx_dir)
        await validate_config(self.files.main, kamailio=self._kamailio_bin)
        return self.files

    async def start(self) -> None:
        self._lock()
        try:
            files = await self.prepare()
        except BaseException:
            self._unlock()
            raise
        pbx_dir = self.settings.pbx_dir
        self.rtpengine = ManagedProcess(
            "rtpengine",
            rtpengine_argv(self.settings, self._rtpengine_bin),
            cwd=pbx_dir,
            log_path=pbx_dir / "rtpengine.log",
            ready=self._rtpengine_ready,
            ready_timeout=self._ready_timeout,
            max_backoff=self._max_backoff,
            on_restart=self._restarted("rtpengine"),
        )
        self.kamailio = ManagedProcess(
            "kamailio",
            kamailio_argv(self.settings, files.main, self._kamailio_bin),
            cwd=pbx_dir,
            log_path=pbx_dir / "kamailio.log",
            ready=self._kamailio_ready,
            ready_timeout=self._ready_timeout,
            max_backoff=self._max_backoff,
            on_restart=self._restarted("kamailio"),
        )
        if self.settings.media_app:
            media_dir(self.settings).mkdir(mode=0o700, parents=True, exist_ok=True)
            self.media = ManagedProcess(
                "media",
                media_argv(self.settings),
                cwd=pbx_dir,
                log_path=pbx_dir / "media.log",
                ready=self._media_ready,
                ready_timeout=self._ready_timeout,
                max_backoff=self._max_backoff,
                on_restart=self._restarted("media"),
            )
        try:
            await self.rtpengine.start()
            if self.media is not None:
                await self.media.start()
            await self.kamailio.start()
        except BaseException:
            await self.stop()
            raise
        log.info("PBX up: SIP on %s, RPC %s", self.settings.sip_hostport, self.settings.rpc_url)

    def _restarted(self, name: str) -> Callable[[], None] | None:
        hook = self._on_restart
        return None if hook is None else lambda: hook(name)

    async def _rtpengine_ready(self) -> bool:
        return await rtpengine.ping(self.settings.rtpengine_ng, timeout=0.5)

    async def _media_ready(self) -> bool:
        settings = self.settings
        return await answers_options((settings.media_app_host, settings.media_app_port))

    async def _kamailio_ready(self) -> bool:
        await self.control.rpc.call("core.uptime", timeout=1.0)
        return True

    async def reconfigure(self, domains: Sequence[str]) -> bool:
        """Apply a new domain list (a tenant added or removed).

        Kamailio has no runtime alias change, so this restarts it, but only
        when the rendered configuration changed and the new one validates;
        the running instance is untouched otherwise. Returns whether it restarted.
        """
        live = self.settings.pbx_dir
        staging = write_config(
            self.settings, self.secrets, domains, live / _STAGING, run_dir=live / "run"
        )
        await validate_config(staging.main, kamailio=self._kamailio_bin)
        current = (live / staging.local.name).read_text() if self.files else None
        self._domains = tuple(domains)
        if current == staging.local.read_text():
            return False
        self.files = write_config(self.settings, self.secrets, domains, live)
        if self.kamailio is not None:
            await self.kamailio.restart()
        return True

    async def stop(self) -> None:
        for proc in (self.kamailio, self.media, self.rtpengine):
            if proc is not None:
                await proc.stop()
        await self.control.close()
        self._unlock()

    def _lock(self) -> None:
        pbx_dir = self.settings.pbx_dir
        pbx_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(pbx_dir / "supervisor.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PbxError(
                f"another provd is already running the PBX of {self.settings.data_dir}: "
                "only one `serve --pbx` per data directory; stop the other one first"
            ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the lock
            self._lock_fd = None

    async def __aenter__(self) -> PbxSupervisor:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
