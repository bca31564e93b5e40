"""Encryption of stored secrets (API key, API token) with Fernet.

The key comes from the ``ENCRYPTION_KEY`` setting (``PP2EB_ENCRYPTION_KEY``) or from
``instance/encryption.key``, made on first start with mode 0600. Lose the key and the stored
secrets cannot be read: the user connects again, nothing else is lost.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "encryption.key"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted (the encryption key changed)."""


def read_or_create_private_file(path: Path, make: callable) -> bytes:
    """Return the bytes of ``path``; create it first (mode 0600) with ``make()`` if missing."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    data = make()
    # O_EXCL: when two processes start at once, one writes and the other reads its key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return data


class Vault:
    """Encrypts and decrypts secrets with one Fernet key."""

    def __init__(self, key: bytes | str) -> None:
        self._fernet = Fernet(key)

    def __repr__(self) -> str:
        return "Vault(<key hidden>)"

    def encrypt(self, secret: str) -> bytes:
        """Encrypt ``secret``; the result never contains it in plain text."""
        return self._fernet.encrypt(secret.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        """Decrypt what :meth:`encrypt` made; raise SecretUnreadable when the key differs."""
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken as exc:
            raise SecretUnreadable(
                "A stored secret cannot be read with the current encryption key."
            ) from exc


def load_vault(configured_key: str | None, instance_path: str) -> Vault:
    """The vault of this install: the configured key, else the key file in ``instance/``."""
    if configured_key:
        return Vault(configured_key)
    key = read_or_create_private_file(Path(instance_path) / KEY_FILE, Fernet.generate_key)
    return Vault(key)
