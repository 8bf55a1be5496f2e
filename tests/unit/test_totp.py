"""TOTP helpers: the window of one step either side, replay refusal, QR and secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp

from idp.mfa import totp

NOW = datetime(2026, 11, 22, 12, 0, 10, tzinfo=UTC)


def test_secret_is_base32_with_160_bits():
    secret = totp.new_secret()
    assert len(secret) == 32 and pyotp.TOTP(secret).now().isdigit()
    assert totp.new_secret() != secret


def test_current_code_and_one_step_either_side_are_accepted():
    secret = totp.new_secret()
    step = totp.current_step(NOW)
    assert totp.matching_step(secret, pyotp.TOTP(secret).at(NOW), NOW, None) == step
    assert totp.matching_step(secret, totp.code_at(secret, step - 1), NOW, None) == step - 1
    assert totp.matching_step(secret, totp.code_at(secret, step + 1), NOW, None) == step + 1


def test_codes_two_steps_away_are_refused():
    secret = totp.new_secret()
    step = totp.current_step(NOW)
    assert totp.matching_step(secret, totp.code_at(secret, step - 2), NOW, None) is None
    assert totp.matching_step(secret, totp.code_at(secret, step + 2), NOW, None) is None


def test_a_used_step_is_refused_while_it_would_still_be_valid():
    secret = totp.new_secret()
    step = totp.current_step(NOW)
    code = totp.code_at(secret, step)
    assert totp.matching_step(secret, code, NOW, last_step=step) is None
    # 30 s later the same code is still inside the window (step - 1): still refused.
    later = NOW + timedelta(seconds=30)
    assert totp.matching_step(secret, code, later, last_step=step) is None
    # An older code is refused too once a newer step was used.
    assert totp.matching_step(secret, totp.code_at(secret, step - 1), NOW, last_step=step) is None
    assert totp.matching_step(secret, totp.code_at(secret, step + 1), NOW, last_step=step) == step + 1


def test_malformed_codes_are_refused():
    secret = totp.new_secret()
    for bad in ("", "12345", "1234567", "abcdef", "１２３４５６", "12 34 5"):
        assert totp.matching_step(secret, bad, NOW, None) is None


def test_spaces_inside_a_code_are_ignored():
    secret = totp.new_secret()
    code = totp.code_at(secret, totp.current_step(NOW))
    assert totp.matching_step(secret, f"{code[:3]} {code[3:]}", NOW, None) is not None


def test_provisioning_uri_and_qr_svg():
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, "alice@example.com", "localhost")
    assert uri.startswith("otpauth://totp/localhost:alice%40example.com?secret=" + secret)
    assert "issuer=localhost" in uri
    qr = totp.qr_svg_data_uri(uri)
    assert qr.startswith("data:image/svg+xml")
    assert totp.group_secret("ABCDEFGHIJ") == "ABCD EFGH IJ"
