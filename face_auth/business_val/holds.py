"""One hold rule for guessing a factor, password and face alike (NIST SP 800-63B 5.2.2).

A key (an account, or a client's address) allows `allowance` failed attempts. The failure that
spends them starts a hold of `first_hold`; once a hold ends, one more try is allowed
(TRIES_AFTER_HOLD), and each further failure doubles the hold, up to `max_hold`. A hold ends by
itself, so a victim is never locked out for good. The numbers come from Settings: login_* for
passwords (business_val.password.lockout), face_account_* and face_hold_* for the face step
and one-time codes (business_val.face.attempts).
"""

from dataclasses import dataclass
from datetime import timedelta

# Doubling beyond this many steps cannot matter: every hold is capped long before.
_MAX_DOUBLINGS = 32
# Tries allowed once a hold has ended, before the next failure starts a longer one.
TRIES_AFTER_HOLD = 1


@dataclass(frozen=True)
class HoldRule:
    first_hold: timedelta
    max_hold: timedelta

    def hold_after(self, failures: int, allowance: int) -> timedelta:
        """The hold that `failures` consecutive failures earn against `allowance`: none below
        it; at it `first_hold`; each further failure doubles it, up to `max_hold`."""
        if failures < allowance:
            return timedelta(0)
        doublings = min(failures - allowance, _MAX_DOUBLINGS)
        return min(self.max_hold, self.first_hold * 2**doublings)
