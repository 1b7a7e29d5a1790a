"""The face step's limits: the per-account hold (FaceAttemptLimiter on the real database) and
the per-session try limit (FacePolicy), without HTTP or the models."""

from datetime import timedelta

import pytest

from face_auth.business_val.face.attempts import FaceAttemptLimiter, FaceHoldPolicy
from face_auth.business_val.face.service import FacePolicy
from face_auth.data_access import AuditRepository, Database
from face_auth.data_access.face_attempt_repository import FaceAttemptRepository
from face_auth.entity import FaceAttempts
from face_auth.exception import FaceHeld
from face_auth.utils import utc_now

HOLDS = FaceHoldPolicy(
    max_failures=3, first_hold=timedelta(seconds=60), max_hold=timedelta(seconds=600)
)
USER = "user-1"


@pytest.fixture
def limiter(database: Database) -> FaceAttemptLimiter:
    return FaceAttemptLimiter(HOLDS, FaceAttemptRepository(database), AuditRepository(database))


def fail(limiter: FaceAttemptLimiter, user: str = USER) -> FaceAttempts:
    counted = limiter.reserve(user)
    limiter.failed(user, counted)
    return counted


def test_an_attempt_is_counted_when_it_is_reserved(limiter: FaceAttemptLimiter) -> None:
    assert limiter.reserve(USER).failures == 1
    assert limiter.reserve(USER).failures == 2  # the first never reported: still counted


def test_failures_below_the_allowance_hold_nothing(limiter: FaceAttemptLimiter) -> None:
    for _ in range(HOLDS.max_failures - 1):
        assert fail(limiter).held_until is None
    limiter.check(USER)  # no FaceHeld
    assert limiter.held_until(USER) is None


def test_the_failure_that_spends_the_allowance_holds_the_account(
    limiter: FaceAttemptLimiter,
) -> None:
    for _ in range(HOLDS.max_failures - 1):
        fail(limiter)
    before = utc_now()
    counted = fail(limiter)
    assert counted.held_until is not None
    assert counted.held_until - before == pytest.approx(HOLDS.first_hold, abs=timedelta(seconds=2))
    with pytest.raises(FaceHeld) as held:
        limiter.check(USER)
    assert 55 <= held.value.retry_after <= 60


def test_a_held_account_cannot_reserve(limiter: FaceAttemptLimiter) -> None:
    for _ in range(HOLDS.max_failures):
        fail(limiter)
    with pytest.raises(FaceHeld):
        limiter.reserve(USER)


def test_a_match_resets_the_count(limiter: FaceAttemptLimiter) -> None:
    fail(limiter)
    fail(limiter)
    limiter.matched(USER)
    assert limiter.reserve(USER).failures == 1


def test_holds_are_per_account(limiter: FaceAttemptLimiter) -> None:
    for _ in range(HOLDS.max_failures):
        fail(limiter)
    limiter.check("someone-else")
    assert limiter.reserve("someone-else").failures == 1


def test_a_hold_is_audited(limiter: FaceAttemptLimiter, database: Database) -> None:
    for _ in range(HOLDS.max_failures):
        fail(limiter)
    started = [e for e in AuditRepository(database).find(USER) if e["event"] == "face_hold_started"]
    assert len(started) == 1
    assert started[0]["failures"] == HOLDS.max_failures


def test_after_attempt_counts_a_failure_and_sets_the_rules_hold() -> None:
    now = utc_now()
    state = FaceAttempts(failures=HOLDS.max_failures, version=4)
    after = HOLDS.after_attempt(state, now)
    assert after.failures == HOLDS.max_failures + 1
    assert after.held_until == now + HOLDS.first_hold * 2
    assert after.version == 4  # the swap compares against the stored version


POLICY = FacePolicy(
    frames=8,
    enroll_min_frames=5,
    verify_min_frames=3,
    match_threshold=0.7,
    max_failures=3,
    first_enroll_window=timedelta(hours=24),
)


@pytest.mark.parametrize(("attempts", "spent"), [(0, False), (2, False), (3, True), (4, True)])
def test_a_session_is_spent_at_its_try_limit(attempts: int, spent: bool) -> None:
    assert POLICY.session_spent(attempts) is spent


@pytest.mark.parametrize(("attempts", "left"), [(0, 3), (1, 2), (3, 0), (7, 0)])
def test_tries_left_never_go_below_zero(attempts: int, left: int) -> None:
    assert POLICY.tries_left(attempts) == left
