"""Kiosks: the clients of identify mode. An administrator registers each one (`face-auth
kiosks add`) and hands its token to the device; only a hash of the secret is stored, and a
presented token is checked in constant time. A kiosk is never a user: its token opens the
identify routes only, and a user's session never opens them."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from face_auth.data_access import AuditRepository
from face_auth.data_access.kiosk_repository import KioskRepository, KioskRequestCounter
from face_auth.entity.kiosk import Kiosk
from face_auth.exception import InvalidInput, KioskRateLimited, KioskRequired, NotFound
from face_auth.utils import utc_now

SECRET_BYTES = 32
ID_BYTES = 8
TOKEN_PREFIX = "fak_"  # noqa: S105 - the token format, not a secret
_TOKEN = re.compile(r"fak_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})")
NAME_MAX_CHARS = 100
# Compared against when the kiosk id is unknown, so that both refusals take the same work.
_NO_SUCH_HASH = hashlib.sha256(b"no such kiosk").hexdigest()


def secret_hash(secret: str) -> str:
    """SHA-256 of the secret: 256 random bits need no slow hash (nothing to guess)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewKiosk:
    kiosk: Kiosk
    # `fak_<id>.<secret>`: shown once, when the kiosk is added.
    token: str


class KioskService:
    def __init__(self, kiosks: KioskRepository, audit: AuditRepository) -> None:
        self._kiosks = kiosks
        self._audit = audit

    def add(self, name: str) -> NewKiosk:
        name = name.strip()
        if not name or len(name) > NAME_MAX_CHARS or not name.isprintable():
            raise InvalidInput({"name": f"A kiosk needs a printable name of 1 to "
                                        f"{NAME_MAX_CHARS} characters."})  # fmt: skip
        secret = secrets.token_urlsafe(SECRET_BYTES)
        while True:
            kiosk = Kiosk(kiosk_id=secrets.token_hex(ID_BYTES), name=name, created_at=utc_now())
            if self._kiosks.add(kiosk, secret_hash(secret)):
                break
        self._audit.record("kiosk_added", kiosk.created_at, None, kiosk=kiosk.kiosk_id)
        return NewKiosk(kiosk, f"{TOKEN_PREFIX}{kiosk.kiosk_id}.{secret}")

    def list(self) -> list[Kiosk]:
        return self._kiosks.list_all()

    def remove(self, kiosk_id: str) -> None:
        if not self._kiosks.remove(kiosk_id):
            raise NotFound(f"No kiosk {kiosk_id!r}.")
        self._audit.record("kiosk_removed", utc_now(), None, kiosk=kiosk_id)

    def authenticate(self, token: str | None) -> Kiosk:
        """The kiosk a bearer token belongs to; KioskRequired for anything else (a user's
        session token included)."""
        match = _TOKEN.fullmatch(token or "")
        found = self._kiosks.find(match.group(1)) if match else None
        expected = found[1] if found else _NO_SUCH_HASH
        presented = secret_hash(match.group(2)) if match else ""
        if not hmac.compare_digest(expected, presented) or found is None:
            raise KioskRequired()
        return found[0]


@dataclass(frozen=True)
class KioskRateLimit:
    """At most ``per_minute`` identify calls and challenges per kiosk per minute (a fixed
    window counted in the database, so every replica shares it)."""

    per_minute: int
    counter: KioskRequestCounter
    window: timedelta = timedelta(minutes=1)

    def take(self, kiosk: Kiosk, now: datetime | None = None) -> None:
        now = now or utc_now()
        seconds = int(self.window.total_seconds())
        start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=now.tzinfo)
        count = self.counter.count(kiosk.kiosk_id, start, start + 2 * self.window)
        if count > self.per_minute:
            retry_after = int((start + self.window - now).total_seconds()) + 1
            raise KioskRateLimited(retry_after)
