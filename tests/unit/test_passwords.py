import subprocess
import sys
import warnings

import pytest

from face_auth.business_val.password.hashing import (
    PasswordHasher,
    common_passwords,
    password_problem,
    unmatchable_bcrypt_hash,
)
from tests.support import ROOT


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(rounds=12)


def test_hash_is_bcrypt_cost_12_and_verifies(hasher: PasswordHasher) -> None:
    hashed = hasher.hash("correct horse battery")
    assert hashed.startswith("$2b$12$")
    assert hasher.verify("correct horse battery", hashed)
    assert not hasher.verify("correct horse batterY", hashed)


def test_verify_against_unknown_user_is_false(hasher: PasswordHasher) -> None:
    assert not hasher.verify("not-a-real-password", None)


def test_the_unknown_email_hash_is_a_bcrypt_hash_of_the_same_cost(hasher: PasswordHasher) -> None:
    """Verifying against it must cost what a real verification does: the same scheme and cost,
    and well formed (passlib warns about a salt with wrong padding bits and would repair it)."""
    dummy = unmatchable_bcrypt_hash(12)
    assert dummy.startswith("$2b$12$")
    assert len(dummy) == len(hasher.hash("x" * 12))
    assert not hasher.needs_rehash(dummy)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not hasher.verify("not-a-real-password", dummy)
    assert unmatchable_bcrypt_hash(12) != dummy


def test_a_nul_byte_never_verifies_and_is_refused(hasher: PasswordHasher) -> None:
    """bcrypt refuses NUL: a login with one must be a plain failure, not a server error."""
    hashed = hasher.hash("correct horse battery")
    assert not hasher.verify("correct horse battery\x00", hashed)
    assert not hasher.verify("\x00", None)
    assert "NUL" in (password_problem("correct horse\x00battery") or "")


def test_password_longer_than_72_bytes_never_verifies(hasher: PasswordHasher) -> None:
    # bcrypt would compare only the first 72 bytes; a longer password must not slip through.
    base = "a" * 72
    hashed = hasher.hash(base)
    assert not hasher.verify(base + "extra", hashed)


def test_the_blocklist_is_a_real_list() -> None:
    assert len(common_passwords()) >= 10_000


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("1234567", "at least 8"),
        ("x" * 65, "at most 64"),
        ("€" * 30, "72 bytes"),  # 30 characters, 90 bytes
        ("x" * 64, None),
        ("ü" * 36, None),  # exactly 72 bytes
        ("password", "most common"),
        ("12345678", "most common"),
        ("Password1", "most common"),  # checked case-insensitively
        ("iloveyou", "most common"),
        ("correct horse battery", None),
        # Variants of listed passwords: leetspeak, case, digits and symbols at the ends.
        ("passw0rd!", "most common"),
        ("P@$$w0rd2024", "most common"),
        ("letmein123", "most common"),
        ("!!dragon99", "most common"),
        ("Tr0ub4dor&3", None),
        # The service's own name, as the password or a part of it.
        ("faceauth123", "name of this service"),
        ("my-Face_Auth-pw", "name of this service"),
    ],
)
def test_password_rules(password: str, problem: str | None) -> None:
    found = password_problem(password)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


@pytest.mark.parametrize(
    "password",
    ["jerry_s1971", "J3rrySeinfeld!", "seinfeldfan42", "jerry.seinfeld@x", "ilovejerrysein"],
)
def test_the_accounts_own_words_are_refused_as_a_part_of_the_password(password: str) -> None:
    context = ["Jerry Seinfeld", "jerry_s1971", "jerry.seinfeld"]
    assert "your name, username" in (password_problem(password, context) or "")


def test_short_words_of_the_account_do_not_refuse_good_passphrases() -> None:
    assert password_problem("a long walk to the sea", ["Al Li", "al", "al"]) is None


FIRST_USE_AFTER_START = """
from passlib.handlers import bcrypt
from face_auth.business_val.password.hashing import PasswordHasher

hasher = PasswordHasher(rounds=12)


def loading_again(*args, **kwargs):
    raise AssertionError("the first sign-in loads passlib's bcrypt backend")


bcrypt._BcryptCommon._finalize_backend_mixin = classmethod(loading_again)
assert hasher.verify("correct horse battery", hasher.hash("correct horse battery"))
"""


def test_the_bcrypt_backend_is_loaded_when_the_hasher_is_made() -> None:
    """passlib checks its bcrypt backend with a few hashes on first use (~20 ms): at start-up,
    not in the first sign-in (a fresh interpreter, where nothing has loaded it yet)."""
    done = subprocess.run(
        [sys.executable, "-c", FIRST_USE_AFTER_START], cwd=ROOT, capture_output=True, text=True,
        check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
