"""Re-authentication before an authentication factor changes (OWASP ASVS 5.0 V6.3, NIST SP
800-63B 4.2.3): deleting or re-enrolling the face, new recovery codes, a new password,
deleting the account, a new application's consent. They need a sign-in with both factors
(or a step-up: the password again, and the face where the account has one) within the
window; an older full session is asked to step up first."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from face_auth.entity import SessionClaims


@dataclass(frozen=True)
class RecentAuthDecision:
    recent: bool
    # Until when the session may change factors without a step-up (None: it may not now).
    until: datetime | None


@dataclass(frozen=True)
class RecentAuthPolicy:
    """The window comes from Settings (recent_auth_minutes)."""

    window: timedelta

    def decide(self, claims: SessionClaims, now: datetime) -> RecentAuthDecision:
        """The rule: a full session whose both factors were proven (auth_time, kept in its
        server-side record) no longer than `window` ago; a clock step backwards counts as
        not recent."""
        if not claims.is_full or claims.auth_time is None:
            return RecentAuthDecision(recent=False, until=None)
        until = claims.auth_time + self.window
        recent = claims.auth_time <= now < until
        return RecentAuthDecision(recent=recent, until=until if recent else None)
