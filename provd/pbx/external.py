"""A Kamailio provd does not run: write its configuration and tables, then drive it by RPC.

The admin points the packaged ``kamailio.service`` at the written
``kamailio.cfg`` (``/etc/default/kamailio``: ``CFGFILE=``) and runs rtpengine
with the settings' ng address; provd then manages subscribers, status and
check-sync exactly as with its own instance.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from provd.pbx.config import ConfigFiles, validate_config, write_config
from provd.pbx.control import PbxControl
from provd.pbx.schema import ensure_schema
from provd.pbx.settings import PbxSecrets, PbxSettings


async def export_external(
    settings: PbxSettings,
    domains: Sequence[str],
    target: Path,
    *,
    run_dir: Path | None = None,
    kamailio: str = "kamailio",
) -> ConfigFiles:
    """Create the tables and write a validated configuration into ``target``.

    ``run_dir`` is where that Kamailio keeps its control socket (for the
    Debian unit, ``/run/kamailio``). Validation is skipped when no kamailio
    binary is installed here (the proxy runs on another host).
    """
    secrets = PbxSecrets.load_or_create(settings.pbx_dir)
    control = PbxControl.for_settings(settings, secrets)
    try:
        await ensure_schema(control.db)
    finally:
        await control.close()
    files = write_config(settings, secrets, domains, target, run_dir=run_dir)
    if shutil.which(kamailio) is not None:
        await validate_config(files.main, kamailio=kamailio)
    return files


def external_control(settings: PbxSettings, *, rpc_url: str | None = None) -> PbxControl:
    """The control handle for an external Kamailio (same tokens as the exported config)."""
    return PbxControl.for_settings(
        settings, PbxSecrets.load_or_create(settings.pbx_dir), rpc_url=rpc_url
    )
