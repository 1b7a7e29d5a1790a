"""The one hold rule for password and face guessing, without HTTP or a database."""

from datetime import timedelta

import pytest

from face_auth.business_val.face.attempts import FaceHoldPolicy
from face_auth.business_val.holds import TRIES_AFTER_HOLD, HoldRule
from face_auth.business_val.password.lockout import LockoutPolicy

RULE = HoldRule(first_hold=timedelta(seconds=30), max_hold=timedelta(minutes=15))


@pytest.mark.parametrize("failures", [0, 1, 4])
def test_no_hold_below_the_allowance(failures: int) -> None:
    assert RULE.hold_after(failures, allowance=5) == timedelta(0)


def test_the_failure_that_spends_the_allowance_starts_the_first_hold() -> None:
    assert RULE.hold_after(5, allowance=5) == timedelta(seconds=30)


@pytest.mark.parametrize(("failures", "seconds"), [(6, 60), (7, 120), (8, 240), (9, 480)])
def test_each_further_failure_doubles_the_hold(failures: int, seconds: int) -> None:
    assert RULE.hold_after(failures, allowance=5) == timedelta(seconds=seconds)


@pytest.mark.parametrize("failures", [10, 11, 50, 10**6])
def test_holds_are_capped(failures: int) -> None:
    assert RULE.hold_after(failures, allowance=5) == timedelta(minutes=15)


def test_one_more_try_is_allowed_after_a_hold() -> None:
    assert TRIES_AFTER_HOLD == 1


def test_the_face_policy_applies_the_same_rule_with_its_own_allowance() -> None:
    face = FaceHoldPolicy(max_failures=3, first_hold=RULE.first_hold, max_hold=RULE.max_hold)
    for failures in range(12):
        assert face.hold_after(failures) == RULE.hold_after(failures, allowance=3)


def test_the_password_policy_applies_the_same_rule() -> None:
    password = LockoutPolicy(
        max_failures=5,
        client_max_failures=20,
        registrations_per_client=3,
        window=timedelta(minutes=15),
        first_hold=RULE.first_hold,
        max_hold=RULE.max_hold,
    )
    for allowance in (5, 20):
        for failures in range(25):
            assert password.hold_after(failures, allowance) == RULE.hold_after(failures, allowance)
