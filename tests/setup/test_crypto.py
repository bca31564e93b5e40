import os
import stat

import pytest
from cryptography.fernet import Fernet

from pp2eb.setup import crypto


def test_round_trip_and_no_plaintext():
    vault = crypto.Vault(Fernet.generate_key())
    token = vault.encrypt("pp-secret-value")
    assert b"pp-secret-value" not in token
    assert vault.decrypt(token) == "pp-secret-value"


def test_other_key_cannot_read():
    token = crypto.Vault(Fernet.generate_key()).encrypt("x")
    with pytest.raises(crypto.SecretUnreadable):
        crypto.Vault(Fernet.generate_key()).decrypt(token)


def test_key_file_made_once_with_mode_0600(tmp_path):
    first = crypto.load_vault(None, str(tmp_path))
    path = tmp_path / crypto.KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = first.encrypt("secret")
    # A second start reads the same key back.
    assert crypto.load_vault(None, str(tmp_path)).decrypt(token) == "secret"


def test_configured_key_wins_over_file(tmp_path):
    key = Fernet.generate_key().decode()
    vault = crypto.load_vault(key, str(tmp_path))
    assert not (tmp_path / crypto.KEY_FILE).exists()
    assert crypto.Vault(key).decrypt(vault.encrypt("s")) == "s"


def test_repr_hides_key():
    key = Fernet.generate_key()
    assert key.decode() not in repr(crypto.Vault(key))
