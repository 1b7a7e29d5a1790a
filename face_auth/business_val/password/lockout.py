"""Limits on guessing passwords (NIST SP 800-63B 5.2.2; OWASP ASVS V6.3).

Every attempt is reserved before bcrypt runs, under two keys: the email address (known or not,
so a hold reveals nothing) and the client's address. A key allows `max_failures` attempts; the
hold that follows is the one hold rule (business_val.holds). While it lasts every attempt, with
the right password or not, gets the same refusal before any hashing.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from face_auth.business_val.holds import TRIES_AFTER_HOLD, HoldRule
from face_auth.data_access import LoginAttemptRepository
from face_auth.exception import AccountLocked, TooManyLinkRequests
from face_auth.utils import utc_now


@dataclass(frozen=True)
class LockoutPolicy:
    """The numbers come from Settings (login_*)."""

    max_failures: int
    client_max_failures: int
    registrations_per_client: int
    # Attempts are remembered this long after the last one (or after a hold ends).
    window: timedelta
    first_hold: timedelta
    max_hold: timedelta

    def hold_after(self, failures: int, allowance: int) -> timedelta:
        """The one hold rule (business_val.holds)."""
        return HoldRule(self.first_hold, self.max_hold).hold_after(failures, allowance)


@dataclass(frozen=True)
class Reservation:
    keys: tuple[tuple[str, int], ...]  # (key, allowance) for each key the attempt was taken from


def client_key(client: str) -> str:
    return f"client:{client}"


def registration_key(client: str) -> str:
    return f"register:{client}"


def link_key(account: str) -> str:
    return f"link:{account}"


def link_client_key(client: str) -> str:
    return f"link-client:{client}"


class PasswordLockout:
    def __init__(self, policy: LockoutPolicy, attempts: LoginAttemptRepository) -> None:
        self._policy = policy
        self._attempts = attempts

    def reserve(self, account: str, client: str | None) -> Reservation:
        """Take one attempt for the account and the client, or raise AccountLocked with the
        seconds to wait. A refused key gives back what the other one took."""
        keys = [(account, self._policy.max_failures)]
        if client:
            keys.insert(0, (client_key(client), self._policy.client_max_failures))
        taken: list[tuple[str, int]] = []
        now = utc_now()
        for key, allowance in keys:
            if self._attempts.reserve(key, now, allowance, self._policy.window) is None:
                for earlier, _ in taken:
                    self._attempts.refund(earlier)
                raise AccountLocked(self._retry_after(key, now))
            taken.append((key, allowance))
        return Reservation(tuple(taken))

    def reserve_registration(self, client: str) -> Reservation:
        """Every registration from a client counts (whatever its outcome): a script cannot
        test addresses faster than `registrations_per_client` a window, then the holds."""
        key = registration_key(client)
        if self._attempts.reserve(key, utc_now(), self._policy.registrations_per_client,
                                  self._policy.window) is None:  # fmt: skip
            raise AccountLocked(
                self._retry_after(key, utc_now()),
                "Too many registrations from this address. Try again later.",
            )
        return Reservation(((key, self._policy.registrations_per_client),))

    def reserve_link_request(self, account: str, client: str | None) -> None:
        """Every request for a mailed link counts (never refunded): `max_failures` a window per
        address, `client_max_failures` per client, then the same doubling holds as passwords.
        Raises TooManyLinkRequests while either is held."""
        keys = [(link_key(account), self._policy.max_failures)]
        if client:
            keys.insert(0, (link_client_key(client), self._policy.client_max_failures))
        taken: list[tuple[str, int]] = []
        now = utc_now()
        for key, allowance in keys:
            if self._attempts.reserve(key, now, allowance, self._policy.window) is None:
                raise TooManyLinkRequests(self._retry_after(key, now))
            taken.append((key, allowance))
        self.failed(Reservation(tuple(taken)))  # counted for good: start a hold once spent

    def succeeded(self, reservation: Reservation, account: str) -> None:
        """The password was right: the account's count starts again; the client gets its
        attempt back (so its own successes do not buy it more guesses elsewhere)."""
        for key, _ in reservation.keys:
            if key == account:
                self._attempts.clear(key)
            else:
                self._attempts.refund(key)

    def failed(self, reservation: Reservation) -> datetime | None:
        """The attempt stays counted; start a hold on each key whose allowance it spent.
        Returns when such a hold ends (None when this failure started none)."""
        now = utc_now()
        held_until = None
        for key, allowance in reservation.keys:
            record = self._attempts.get(key, now)
            if record is None or record.remaining > 0:
                continue
            hold = self._policy.hold_after(record.failures, allowance)
            if hold and self._attempts.hold(
                key, record.failures, now + hold, self._policy.window, TRIES_AFTER_HOLD
            ):
                held_until = now + hold
        return held_until

    def _retry_after(self, key: str, now: datetime) -> int:
        held_until = self._attempts.locked_until(key, now)
        if held_until is None:  # its last attempts are still being checked
            return math.ceil(self._policy.first_hold.total_seconds())
        return max(1, math.ceil((held_until - now).total_seconds()))
