"""The ES256 keys that sign ID tokens, kept in one JSON key ring file (mode 0600).

The newest key signs. `rotate` adds a new key and retires the current one; a retired key's
public half stays in the JWKS until every ID token it signed has expired (the token lifetime
plus a clock leeway), then it is dropped. The running app notices a rotation (the file's
modification time) without a restart.
"""

import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, KeySet

from face_auth.utils import utc_now

ALGORITHM = "ES256"
# Relying parties allow this much clock skew (Authlib's client: 2 minutes) past `exp`.
CLOCK_LEEWAY = timedelta(minutes=5)


@dataclass(frozen=True)
class SigningKey:
    key: ECKey
    created_at: datetime
    retired_at: datetime | None = None

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    def as_record(self) -> dict[str, Any]:
        return {
            "jwk": self.key.as_dict(private=True),
            "created_at": self.created_at.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "SigningKey":
        retired = record.get("retired_at")
        return cls(
            key=ECKey.import_key(record["jwk"]),
            created_at=datetime.fromisoformat(record["created_at"]),
            retired_at=datetime.fromisoformat(retired) if retired else None,
        )


def new_key(now: datetime) -> SigningKey:
    key = ECKey.generate_key(
        "P-256", parameters={"use": "sig", "alg": ALGORITHM}, private=True, auto_kid=True
    )
    return SigningKey(key=key, created_at=now)


def _write_private(path: Path, keys: list[SigningKey]) -> None:
    """Write the ring to a new 0600 file and move it into place (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"keys": [key.as_record() for key in keys]}, handle)
    os.replace(temporary, path)


class SigningKeys:
    def __init__(self, path: Path, token_lifetime: timedelta) -> None:
        self._path = path
        self._published_after_retirement = token_lifetime + CLOCK_LEEWAY
        self._lock = threading.Lock()
        self._loaded_mtime: int | None = None
        self._keys: list[SigningKey] = []

    def _load(self) -> list[SigningKey]:
        with self._lock:
            if not self._path.exists():
                self._create()
            mtime = self._path.stat().st_mtime_ns
            if mtime != self._loaded_mtime:
                data = json.loads(self._path.read_text(encoding="utf-8"))
                self._keys = [SigningKey.from_record(record) for record in data["keys"]]
                self._loaded_mtime = mtime
            return self._keys

    def _create(self) -> None:
        """The first key, generated once; O_EXCL lets two processes starting at once agree."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"keys": [new_key(utc_now()).as_record()]}, handle)

    def current(self) -> SigningKey:
        keys = [key for key in self._load() if key.retired_at is None]
        if not keys:
            raise RuntimeError(f"no current signing key in {self._path}")
        return keys[-1]

    def signing_set(self) -> KeySet:
        """The current private key alone: joserfc puts its kid in the token header."""
        return KeySet([self.current().key])

    def published(self, now: datetime | None = None) -> list[SigningKey]:
        moment = now or utc_now()
        return [
            key
            for key in self._load()
            if key.retired_at is None or key.retired_at + self._published_after_retirement > moment
        ]

    def jwks(self, now: datetime | None = None) -> dict[str, Any]:
        return {"keys": [key.key.as_dict(private=False) for key in self.published(now)]}

    def rotate(self, now: datetime | None = None) -> SigningKey:
        """A new current key; the old one retires (still published for a while); keys whose
        tokens have all expired are dropped from the file."""
        moment = now or utc_now()
        kept = [
            key if key.retired_at is not None else SigningKey(key.key, key.created_at, moment)
            for key in self.published(moment)
        ]
        fresh = new_key(moment)
        _write_private(self._path, [*kept, fresh])
        return fresh
