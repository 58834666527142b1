"""Encryption of secrets at rest.

Secrets (SIP passwords, device and bootstrap passwords, phone admin passwords)
are stored as Fernet tokens (AES-128-CBC + HMAC-SHA256). The key lives in the
data directory with mode 0600, apart from the database, so a copied database
alone reveals no secret.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "secret.key"


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SecretBox:
        path = data_dir / KEY_FILE
        if not path.exists():
            key = Fernet.generate_key()
            # O_EXCL: two processes initialising at once must not both win.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key)
        return cls(path.read_bytes().strip())

    def seal(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def open(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken:
            raise ValueError(
                "a stored secret cannot be decrypted: the data directory's secret.key "
                "does not belong to this database"
            ) from None
