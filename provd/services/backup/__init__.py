"""Backups: the database and the data directory in one file encrypted with a passphrase,
and their restore onto a fresh machine (docs: README, "Backup and restore").

``create`` takes one, ``restore`` puts one back; ``contents`` says what a backup holds,
``envelope`` how it is encrypted, ``archive`` how its members are laid out, ``sqlite``
and ``postgres`` how each backend is copied and loaded, ``placement`` how a restored
directory takes its place.
"""

from __future__ import annotations

from provd.services.backup.create import BackupResult, create_backup
from provd.services.backup.restore import RestoreResult, restore_backup

__all__ = ["BackupResult", "RestoreResult", "create_backup", "restore_backup"]
