"""Argon2id parameters: the service always hashes with OWASP's; the cheap ones are for tests."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from idp.accounts import passwords
from idp.config import ConfigError, load_config


@pytest.fixture
def restore_hashing():
    before = next(name for name, hasher in passwords.HASHERS.items() if hasher is passwords.HASHER)
    yield
    passwords.use_hashing(before)


def test_the_service_hashes_with_argon2id_at_the_owasp_parameters(restore_hashing):
    config = load_config({}, environ={})
    assert config.password_hashing == "owasp"
    passwords.use_hashing(config.password_hashing)
    stored = passwords.hash_password("Correct-Horse-9!")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert passwords.verify_password(stored, "Correct-Horse-9!")
    assert not passwords.verify_password(stored, "Correct-Horse-9?")
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("Correct-Horse-9!")
    assert passwords.needs_rehash(cheap) and not passwords.needs_rehash(stored)


def test_the_cheap_parameters_need_testing_and_cannot_come_from_the_environment():
    with pytest.raises(ConfigError, match="password_hashing"):
        load_config({"password_hashing": "test"}, environ={})
    with pytest.raises(ConfigError, match="password_hashing"):
        load_config({"password_hashing": "fast", "testing": True}, environ={})
    assert load_config({}, environ={"IDP_PASSWORD_HASHING": "test",
                                    "IDP_TESTING": "1"}).password_hashing == "owasp"
    assert load_config({"password_hashing": "test", "testing": True},
                       environ={}).password_hashing == "test"
