"""Credentials encrypted at rest with Fernet; MultiFernet makes key rotation a config change.

Keys come from ``CRMKPI_SECRET_KEYS`` (comma-separated, the first one encrypts, all of them
decrypt) or, when that is unset, from the file ``CRMKPI_SECRET_KEYS_FILE`` (one key a line).
Rotating: put the new key first, keep the old ones after it, run :meth:`Vault.rotate` over
the stored tokens, then drop the old keys. Nothing here logs or formats a credential; errors
say what is wrong with the *configuration*, never what a secret was.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.errors import ConfigurationError
from core.settings import Settings


def _parse_keys(text: str) -> list[str]:
    return [k.strip() for k in text.replace("\n", ",").split(",") if k.strip()]


def load_keys(settings: Settings) -> list[str]:
    """The configured keys, first the one that encrypts; ConfigurationError when none."""
    if settings.secret_keys is not None:
        keys = _parse_keys(settings.secret_keys.get_secret_value())
        if keys:
            return keys
    path = settings.secret_keys_file
    if path.exists():
        keys = _parse_keys(path.read_text())
        if keys:
            return keys
    raise ConfigurationError(
        "no secret key to encrypt CRM credentials: set CRMKPI_SECRET_KEYS "
        f"(generate one with `crmkpi demo` or Fernet.generate_key()) or create {path}"
    )


def ensure_key_file(path: Path) -> Path:
    """Create ``path`` holding one new Fernet key, readable by its owner only, if missing.

    The file is created with mode 0600 atomically (O_EXCL), so the key is never readable by
    others even for an instant, and an existing key is never overwritten.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
    return path


class Vault:
    """Encrypts and decrypts credential dicts with the configured keys."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ConfigurationError("no secret key to encrypt CRM credentials")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        except (ValueError, TypeError):
            raise ConfigurationError(
                "a configured secret key is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        return cls(load_keys(settings))

    def encrypt(self, credentials: Mapping[str, str]) -> bytes:
        return self._fernet.encrypt(json.dumps(dict(credentials), sort_keys=True).encode())

    def decrypt(self, token: bytes) -> dict[str, str]:
        try:
            data = json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise ConfigurationError(
                "stored credentials cannot be decrypted with the configured secret keys "
                "(was the key that encrypted them removed?)"
            ) from None
        return {str(k): str(v) for k, v in data.items()}

    def rotate(self, token: bytes) -> bytes:
        """``token`` re-encrypted with the first (newest) key."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise ConfigurationError(
                "stored credentials cannot be decrypted with the configured secret keys"
            ) from None
