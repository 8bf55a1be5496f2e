"""Password policy: composition default, NIST preset, blocklist, personal data, expiry."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from idp.accounts.password_policy import (
    PasswordPolicy,
    check_password,
    enforce_password,
    max_age_for,
    nist_preset,
    password_expired,
    policy_for,
    validate_policy_settings,
)
from idp.config import load_config
from idp.errors import ValidationFailed
from idp.models.base import utcnow

CONFIG = load_config({}, environ={})


def test_default_policy_is_length_8_upper_digit_special():
    policy = policy_for(CONFIG, None)
    assert (policy.min_length, policy.require_upper, policy.require_digit,
            policy.require_special) == (8, True, True, True)
    assert check_password(policy, "Tr0ub4dor&3x") == []


@pytest.mark.parametrize("password, reason", [
    ("Sh0rt!", "Use at least 8 characters."),
    ("lowercase-only-1", "Include an upper-case letter."),
    ("No-Digits-Here", "Include a digit."),
    ("NoSpecial123", "Include a special character (such as ! or #)."),
])
def test_each_composition_rule_gives_its_reason(password, reason):
    assert reason in check_password(policy_for(CONFIG, None), password)


def test_all_reasons_are_reported_together():
    reasons = check_password(policy_for(CONFIG, None), "abc")
    assert len(reasons) == 4


@pytest.mark.parametrize("password", ["Password1!", "P@ssw0rd!", "Qwerty123!", "Letmein1!",
                                      "!Welcome1", "Iloveyou123#"])
def test_common_passwords_are_refused_even_decorated(password):
    assert "This password is too common; choose another." in check_password(
        policy_for(CONFIG, None), password)


def test_username_and_email_are_refused():
    policy = policy_for(CONFIG, None)
    reason = "It must not contain your username or email address."
    assert reason in check_password(policy, "Alice-2024!x", username="alice")
    assert reason in check_password(policy, "Bob.Smith#99", email="bob.smith@example.com")
    assert reason not in check_password(policy, "Zebra-Cloud-77!", username="alice",
                                        email="alice@example.com")


def test_long_unicode_passwords_are_accepted_and_nfkc_normalised():
    policy = policy_for(CONFIG, None)
    assert check_password(policy, "Ünïcödé-Pässwörd-9 " + "x" * 60) == []  # > 64 characters
    assert "Use at most 128 characters." in check_password(policy, "Aa1!" * 40)
    # Full-width letters normalise (NFKC) to ASCII: "ＰＡＳＳＷＯＲＤ１！" is "PASSWORD1!".
    assert "This password is too common; choose another." in check_password(
        policy, "ＰＡＳＳＷＯＲＤ１！")


def test_nist_preset_length_15_single_factor_8_with_mfa_no_composition_no_expiry():
    policy = policy_for(CONFIG, SimpleNamespace(settings={"password_policy": {"preset": "nist"}}))
    assert policy == nist_preset(CONFIG.password_history)
    assert "Use at least 15 characters." in check_password(policy, "correct horse")
    assert check_password(policy, "correct horse battery") == []
    assert check_password(policy, "zebra cloud", has_mfa=True) == []
    assert policy.max_age_days == {}


def test_nist_selected_installation_wide():
    config = load_config({"password_policy": "nist"}, environ={})
    assert policy_for(config, None).preset == "nist"


def test_tenant_overrides_apply_on_top_of_the_default():
    tenant = SimpleNamespace(settings={"password_policy": {"min_length": 12, "history": 3,
                                                           "require_special": False}})
    policy = policy_for(CONFIG, tenant)
    assert (policy.min_length, policy.history, policy.require_special) == (12, 3, False)
    assert "Use at least 12 characters." in check_password(policy, "Abcdefgh12")


def test_max_length_never_below_64():
    tenant = SimpleNamespace(settings={"password_policy": {"max_length": 20}})
    assert policy_for(CONFIG, tenant).max_length == 64
    with pytest.raises(ValidationFailed):
        validate_policy_settings({"max_length": 20})
    with pytest.raises(ValidationFailed):
        validate_policy_settings({"colour": "blue"})


def test_enforce_password_raises_with_reasons():
    with pytest.raises(ValidationFailed) as info:
        enforce_password(policy_for(CONFIG, None), "short", SimpleNamespace(username="x",
                                                                             email=None))
    assert "Use at least 8 characters." in info.value.message
    assert info.value.field == "password"


def test_expiry_is_per_role_90_days_for_admins():
    policy = policy_for(CONFIG, None)
    assert max_age_for(policy, ["member"]) is None
    assert max_age_for(policy, ["member", "tenant_admin"]) == 90
    now = utcnow()
    user = SimpleNamespace(password_changed_at=now - timedelta(days=91),
                           credential=SimpleNamespace(created_at=now))
    assert password_expired(user, policy, ["superadmin"], now)
    assert not password_expired(user, policy, ["member"], now)
    user.password_changed_at = now - timedelta(days=89)
    assert not password_expired(user, policy, ["superadmin"], now)


def test_expiry_can_be_turned_off():
    config = load_config({"password_max_age_admin_days": 0}, environ={})
    assert policy_for(config, None).max_age_days == {}
    assert PasswordPolicy().max_age_days == {}
