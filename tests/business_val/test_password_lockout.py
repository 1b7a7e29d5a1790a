"""The password lockout rule against the real database, without HTTP."""

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from face_auth.business_val.password.lockout import LockoutPolicy, PasswordLockout
from face_auth.data_access import Database, LoginAttemptRepository
from face_auth.exception import AccountLocked

POLICY = LockoutPolicy(
    max_failures=5,
    client_max_failures=8,
    registrations_per_client=3,
    window=timedelta(minutes=15),
    first_hold=timedelta(seconds=1),
    max_hold=timedelta(seconds=3),
)


@pytest.fixture
def lockout(database: Database) -> PasswordLockout:
    return PasswordLockout(POLICY, LoginAttemptRepository(database))


def fail_once(lockout: PasswordLockout, account: str, client: str | None = None) -> None:
    lockout.failed(lockout.reserve(account, client))


def test_concurrent_attempts_cannot_outrun_the_allowance(lockout: PasswordLockout) -> None:
    def attempt(_: int) -> bool:
        try:
            lockout.reserve("victim@example.com", None)  # and still being checked
        except AccountLocked:
            return False
        return True

    with ThreadPoolExecutor(max_workers=16) as pool:
        granted = sum(pool.map(attempt, range(80)))
    assert granted == POLICY.max_failures


def test_holds_grow_then_end_by_themselves(lockout: PasswordLockout) -> None:
    for _ in range(POLICY.max_failures):
        fail_once(lockout, "victim@example.com")
    with pytest.raises(AccountLocked) as held:
        lockout.reserve("victim@example.com", None)
    assert 1 <= held.value.retry_after <= 1
    time.sleep(1.1)
    fail_once(lockout, "victim@example.com")  # one more try after the hold, then a longer one
    with pytest.raises(AccountLocked) as longer:
        lockout.reserve("victim@example.com", None)
    assert longer.value.retry_after == 2
    time.sleep(2.1)
    reservation = lockout.reserve("victim@example.com", None)  # back after expiry
    lockout.succeeded(reservation, "victim@example.com")
    for _ in range(POLICY.max_failures - 1):  # success started the count again
        fail_once(lockout, "victim@example.com")
    lockout.reserve("victim@example.com", None)


def test_one_client_is_throttled_across_accounts(lockout: PasswordLockout) -> None:
    for i in range(POLICY.client_max_failures):
        fail_once(lockout, f"target{i}@example.com", client="203.0.113.9")
    with pytest.raises(AccountLocked):
        lockout.reserve("another@example.com", "203.0.113.9")
    # The refusal took nothing from the account; other clients are not affected.
    lockout.reserve("another@example.com", "198.51.100.7")


def test_a_clients_own_successes_do_not_buy_it_more_guesses(lockout: PasswordLockout) -> None:
    client = "203.0.113.10"
    for i in range(POLICY.client_max_failures - 1):
        fail_once(lockout, f"t{i}@example.com", client)
    own = lockout.reserve("me@example.com", client)
    lockout.succeeded(own, "me@example.com")  # refunds its own attempt only
    fail_once(lockout, "last@example.com", client)
    with pytest.raises(AccountLocked):
        lockout.reserve("more@example.com", client)


def test_registrations_are_limited_per_client(lockout: PasswordLockout) -> None:
    for _ in range(POLICY.registrations_per_client):
        lockout.failed(lockout.reserve_registration("203.0.113.11"))
    with pytest.raises(AccountLocked) as held:
        lockout.reserve_registration("203.0.113.11")
    assert "registrations" in held.value.message
    lockout.reserve_registration("203.0.113.12")
