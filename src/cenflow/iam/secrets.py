"""Encryption of secrets at rest (AccessKey secrets must stay recoverable to verify HMACs).

Secrets are sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a master key that lives apart
from the database: a file of mode 0600 in the data directory by default, or any path given by
``CENFLOW_MASTER_KEY_FILE`` (for example a mounted secret).  A database dump alone reveals no
secret.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretBox:
    def __init__(self, key: bytes) -> None:
        self._key = key
        self._fernet = Fernet(key)

    def derive(self, purpose: str) -> SecretBox:
        """A box under a key derived from this one (HKDF-SHA256) for one purpose, such as STS tokens:
        what one box sealed, another cannot open."""
        raw = base64.urlsafe_b64decode(self._key)
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(raw)
        return SecretBox(base64.urlsafe_b64encode(derived))

    @classmethod
    def from_file(cls, path: Path) -> SecretBox:
        """Load the master key, creating it (mode 0600, never overwritten) on first use."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it first; read theirs
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(Fernet.generate_key())
                    handle.flush()
                    os.fsync(handle.fileno())
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise PermissionError(f"master key {path} is readable by others (mode {mode:o}); chmod 600 it")
        return cls(path.read_bytes().strip())

    def seal(self, secret: str) -> bytes:
        return self._fernet.encrypt(secret.encode())

    def open(self, ciphertext: bytes) -> str:
        try:
            return self._fernet.decrypt(ciphertext).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with this master key") from exc
