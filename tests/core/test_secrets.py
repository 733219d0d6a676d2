"""Credentials at rest: Fernet encryption, rotation, key file, clear configuration errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from core.errors import ConfigurationError
from core.secrets import Vault, ensure_key_file, load_keys
from core.settings import Settings


def test_round_trip_and_the_token_hides_the_secret() -> None:
    vault = Vault([Fernet.generate_key().decode()])
    token = vault.encrypt({"api_token": "hunter2"})
    assert b"hunter2" not in token
    assert vault.decrypt(token) == {"api_token": "hunter2"}


def test_rotation_old_tokens_still_decrypt_and_rotate_to_the_new_key() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = Vault([old]).encrypt({"k": "v"})
    rotated_vault = Vault([new, old])
    assert rotated_vault.decrypt(token) == {"k": "v"}
    rotated = rotated_vault.rotate(token)
    assert Vault([new]).decrypt(rotated) == {"k": "v"}
    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        Vault([new]).decrypt(token)


def test_keys_from_settings_then_file(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "secret.key"
    k1, k2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = Settings(secret_keys=SecretStr(f"{k1}, {k2}"), secret_keys_file=key_file)
    assert load_keys(settings) == [k1, k2]
    no_env = Settings(secret_keys=None, secret_keys_file=key_file)
    with pytest.raises(ConfigurationError, match="CRMKPI_SECRET_KEYS"):
        load_keys(no_env)
    ensure_key_file(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    keys = load_keys(no_env)
    assert len(keys) == 1
    ensure_key_file(key_file)  # never overwritten
    assert load_keys(no_env) == keys
    assert Vault(keys).decrypt(Vault(keys).encrypt({"a": "b"})) == {"a": "b"}


def test_invalid_key_message_does_not_echo_it() -> None:
    with pytest.raises(ConfigurationError) as info:
        Vault(["not-a-fernet-key-but-a-secret"])
    assert "not-a-fernet-key" not in str(info.value)
