"""Limits on guessing the face factor, per account (NIST SP 800-63B, 5.2.3).

Someone who knows the password can log in again and again; the per-session limit (the face
step's tries per password login) does not stop that. So every account counts its consecutive
face failures across logins, and the rule below holds its face step off once they pile up.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from face_auth.business_val.holds import HoldRule
from face_auth.business_val.observer import AuthObserver, NullObserver
from face_auth.data_access import AuditRepository
from face_auth.data_access.face_attempt_repository import FaceAttemptRepository
from face_auth.entity import FaceAttempts
from face_auth.exception import FaceHeld, ServiceBusy
from face_auth.logger import get_logger, log_event
from face_auth.utils import utc_now

logger = get_logger(__name__)

# Compare-and-swap retries before a reservation gives up (only under heavy contention).
_MAX_SWAPS = 20


@dataclass(frozen=True)
class FaceHoldPolicy:
    """The numbers come from Settings (face_account_max_failures, face_hold_seconds,
    face_hold_max_seconds)."""

    max_failures: int
    first_hold: timedelta
    max_hold: timedelta

    def hold_after(self, failures: int) -> timedelta:
        """The one hold rule (business_val.holds) with `max_failures` as the allowance."""
        return HoldRule(self.first_hold, self.max_hold).hold_after(failures, self.max_failures)

    def after_attempt(self, state: FaceAttempts, now: datetime) -> FaceAttempts:
        """The state once one more attempt is counted as a failure (until a match resets it)."""
        failures = state.failures + 1
        hold = self.hold_after(failures)
        return FaceAttempts(
            failures=failures, held_until=now + hold if hold else None, version=state.version
        )


def seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


class FaceAttemptLimiter:
    """Applies FaceHoldPolicy to one account's stored state. An attempt is counted (as a
    failure) when it is reserved, before its comparison, so concurrent attempts on any number
    of sessions, workers or replicas cannot outrun the count; a match resets it."""

    def __init__(
        self,
        policy: FaceHoldPolicy,
        attempts: FaceAttemptRepository,
        audit: AuditRepository,
        observer: AuthObserver | None = None,
    ) -> None:
        self._policy = policy
        self._attempts = attempts
        self._audit = audit
        self._observer = observer or NullObserver()

    @property
    def policy(self) -> FaceHoldPolicy:
        return self._policy

    def held_until(self, user_id: str) -> datetime | None:
        return self._attempts.held_until(user_id, utc_now())

    def check(self, user_id: str) -> None:
        """Raise FaceHeld while the account's face step is held off."""
        now = utc_now()
        held_until = self._attempts.held_until(user_id, now)
        if held_until is not None:
            raise self._refuse(user_id, held_until, now)

    def reserve(self, user_id: str) -> FaceAttempts:
        """Count one attempt before its comparison; FaceHeld while held. Returns the state
        the attempt leaves if it fails (its `failures` and any hold already set)."""
        for _ in range(_MAX_SWAPS):
            now = utc_now()
            state = self._attempts.get(user_id)
            if state.held_until is not None and state.held_until > now:
                raise self._refuse(user_id, state.held_until, now)
            counted = self._policy.after_attempt(state, now)
            if self._attempts.swap(user_id, state, counted):
                return counted
        raise ServiceBusy()

    def failed(self, user_id: str, counted: FaceAttempts) -> None:
        """The reserved attempt did not match: it stays counted. Report a hold it started."""
        if counted.held_until is None:
            return
        seconds = seconds_until(counted.held_until, utc_now())
        details = {"failures": counted.failures, "hold_seconds": seconds}
        self._audit.record("face_hold_started", utc_now(), user_id, **details)
        log_event(logger, "face_hold_started", user_id=user_id, **details)
        self._observer.security_event("face_hold_started")

    def matched(self, user_id: str) -> None:
        self._attempts.reset(user_id)

    def _refuse(self, user_id: str, held_until: datetime, now: datetime) -> FaceHeld:
        seconds = seconds_until(held_until, now)
        self._audit.record("face_attempt_held", now, user_id, retry_after=seconds)
        log_event(logger, "face_attempt_held", user_id=user_id, retry_after=seconds)
        self._observer.login_attempt("face", "held")
        return FaceHeld(
            seconds,
            f"Too many failed face checks on this account. Try again in {seconds} seconds.",
        )
