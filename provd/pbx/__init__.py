"""The PBX layer: Kamailio + rtpengine configured, supervised and driven by provd.

Imports the domain and the DB models, never the web layer.
"""

from provd.pbx.control import PbxControl
from provd.pbx.errors import PbxError, RpcError
from provd.pbx.external import export_external, external_control
from provd.pbx.notify import CheckSyncOutcome, CheckSyncResult
from provd.pbx.probe import ProbeResult
from provd.pbx.settings import PbxSecrets, PbxSettings
from provd.pbx.status import ContactBinding, Registration
from provd.pbx.subscribers import (
    SipAccount,
    SubscriberRow,
    SyncReport,
    aor_for,
    derive_subscriber_rows,
    sync_subscribers,
    tenant_domains,
)
from provd.pbx.supervisor import PbxSupervisor

__all__ = [
    "CheckSyncOutcome",
    "CheckSyncResult",
    "ContactBinding",
    "PbxControl",
    "PbxError",
    "PbxSecrets",
    "PbxSettings",
    "PbxSupervisor",
    "ProbeResult",
    "Registration",
    "RpcError",
    "SipAccount",
    "SubscriberRow",
    "SyncReport",
    "aor_for",
    "derive_subscriber_rows",
    "export_external",
    "external_control",
    "sync_subscribers",
    "tenant_domains",
]
