"""Backup code format and hashing; acr levels and step-up decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from idp.mfa import backup_codes
from idp.mfa.acr import ACR_MFA, ACR_PWD, acr_for, required_level, satisfies
from idp.oauth.authorize_flow import needs_login

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_ten_distinct_codes_from_the_unambiguous_alphabet():
    codes = backup_codes.generate_codes()
    assert len(codes) == 10 == len(set(codes))
    for code in codes:
        raw = code.replace("-", "")
        assert len(raw) == 10 and set(raw) <= set(backup_codes.ALPHABET)
        assert backup_codes.looks_like_backup_code(code.upper().replace("-", " "))


def test_codes_are_hashed_with_a_key_and_a_salt_and_typed_loosely():
    key = b"k" * 32
    code, other = backup_codes.generate_codes()[:2]
    digest = backup_codes.hash_code(key, code)
    assert code.replace("-", "") not in digest and len(digest) <= 64
    assert digest.startswith("s1$")
    # Salted: the same code hashes differently each time, and still matches.
    assert backup_codes.hash_code(key, code) != digest
    assert backup_codes.code_matches(key, " " + code.upper().replace("-", " "), digest)
    assert not backup_codes.code_matches(b"x" * 32, code, digest)
    assert not backup_codes.code_matches(key, other, digest)


def test_codes_stored_in_the_old_unsalted_format_still_match():
    import hashlib
    import hmac

    key = b"k" * 32
    code = backup_codes.generate_codes()[0]
    old = hmac.new(key, code.replace("-", "").encode(), hashlib.sha256).hexdigest()
    assert backup_codes.code_matches(key, code.upper(), old)
    assert not backup_codes.code_matches(key, backup_codes.generate_codes()[0], old)


def test_acr_from_methods():
    assert acr_for(["pwd"]) == ACR_PWD
    assert acr_for(["pwd", "otp"]) == ACR_MFA
    assert acr_for(["pwd", "hwk"]) == ACR_MFA
    assert acr_for(["hwk", "user"]) == ACR_MFA


def test_required_level_uses_the_weakest_known_value_and_the_client_default():
    assert required_level(None) == 0
    assert required_level("urn:other") == 0
    assert required_level(ACR_MFA) == 2
    assert required_level(f"{ACR_MFA} {ACR_PWD}") == 1
    assert required_level(None, [ACR_MFA]) == 2
    assert required_level(ACR_PWD, [ACR_MFA]) == 1  # the request wins over the default
    assert satisfies(ACR_MFA, 2) and satisfies(ACR_MFA, 1) and not satisfies(ACR_PWD, 2)
    assert not satisfies(None, 1)


def _session(acr, age=10):
    return SimpleNamespace(user_id="u", acr=acr, auth_time=NOW - timedelta(seconds=age))


def test_needs_login_steps_up_a_weaker_session():
    params = {"acr_values": ACR_MFA}
    assert needs_login(params, _session(ACR_PWD), None, None, NOW)
    assert not needs_login(params, _session(ACR_MFA), None, None, NOW)
    assert needs_login({}, _session(ACR_PWD), None, None, NOW, [ACR_MFA])
    assert not needs_login({}, _session(ACR_PWD), None, None, NOW)
    # A login that just happened for this request is not sent back again.
    fresh = _session(ACR_PWD, age=0)
    assert not needs_login(params, fresh, None, fresh.auth_time.timestamp(), NOW)


def test_needs_login_honours_max_age():
    assert needs_login({"max_age": "5"}, _session(ACR_MFA, age=60), None, None, NOW)
    assert not needs_login({"max_age": "600"}, _session(ACR_MFA, age=60), None, None, NOW)
