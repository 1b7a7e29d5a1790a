"""The keys that sign ID tokens, kept in one JSON key ring file (mode 0600): an RSA key for
RS256 (the algorithm OpenID Connect Discovery requires and clients assume by default) and an
EC P-256 key for ES256, each named by its `kid`.

The newest key of each algorithm signs. `rotate` adds a new key per algorithm and retires the
current ones; a retired key's public half stays in the JWKS until every ID token it signed has
expired (the token lifetime plus a clock leeway), then it is dropped. The running app notices a
rotation (the file's modification time) without a restart. A ring written before an algorithm
was supported gets a key for it on first use.
"""

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey, import_key

from face_auth.utils import utc_now

RS256 = "RS256"
ES256 = "ES256"
# What discovery lists, RS256 first: the default for a client that does not say.
ALGORITHMS = (RS256, ES256)
DEFAULT_ALGORITHM = RS256
RSA_KEY_BITS = 2048
MAX_TOKEN_CHARS = 8192
# Relying parties allow this much clock skew (Authlib's client: 2 minutes) past `exp`.
CLOCK_LEEWAY = timedelta(minutes=5)

SigningJwk = ECKey | RSAKey


@dataclass(frozen=True)
class SigningKey:
    key: SigningJwk
    created_at: datetime
    retired_at: datetime | None = None

    @property
    def kid(self) -> str:
        return str(self.key.kid)

    @property
    def alg(self) -> str:
        return str(self.key.alg)

    def as_record(self) -> dict[str, Any]:
        return {
            "jwk": self.key.as_dict(private=True),
            "created_at": self.created_at.isoformat(),
            "retired_at": self.retired_at.isoformat() if self.retired_at else None,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "SigningKey":
        retired = record.get("retired_at")
        jwk = dict(record["jwk"])
        jwk.setdefault("alg", ES256)  # rings written before RS256 held EC keys only
        key = import_key(jwk)
        if not isinstance(key, ECKey | RSAKey):
            raise ValueError(f"not a signing key: {jwk.get('kty')}")
        return cls(
            key=key,
            created_at=datetime.fromisoformat(record["created_at"]),
            retired_at=datetime.fromisoformat(retired) if retired else None,
        )


def new_key(alg: str, now: datetime) -> SigningKey:
    parameters: dict[str, Any] = {"use": "sig", "alg": alg}
    key: SigningJwk
    if alg == RS256:
        key = RSAKey.generate_key(RSA_KEY_BITS, parameters=parameters, private=True, auto_kid=True)
    elif alg == ES256:
        key = ECKey.generate_key("P-256", parameters=parameters, private=True, auto_kid=True)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    return SigningKey(key=key, created_at=now)


def _write_private(path: Path, keys: list[SigningKey]) -> None:
    """Write the ring to a new 0600 file and move it into place (atomic on POSIX)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"keys": [key.as_record() for key in keys]}, handle)
    os.replace(temporary, path)


def _read(path: Path) -> list[SigningKey]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [SigningKey.from_record(record) for record in data["keys"]]


class SigningKeys:
    def __init__(self, path: Path, token_lifetime: timedelta) -> None:
        self._path = path
        self._published_after_retirement = token_lifetime + CLOCK_LEEWAY
        self._lock = threading.Lock()
        self._loaded_mtime: int | None = None
        self._keys: list[SigningKey] = []

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time across processes (an app and `face-auth signing-key`)."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self._path.with_name(f".{self._path.name}.lock")
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _load(self) -> list[SigningKey]:
        with self._lock:
            if not self._path.exists():
                self._complete()
            mtime = self._path.stat().st_mtime_ns
            if mtime != self._loaded_mtime:
                keys = _read(self._path)
                if self._missing_algorithms(keys):
                    self._complete()
                    keys, mtime = _read(self._path), self._path.stat().st_mtime_ns
                self._keys = keys
                self._loaded_mtime = mtime
            return self._keys

    @staticmethod
    def _missing_algorithms(keys: list[SigningKey]) -> list[str]:
        current = {key.alg for key in keys if key.retired_at is None}
        return [alg for alg in ALGORITHMS if alg not in current]

    def _complete(self) -> None:
        """Create the ring, or add a key for each algorithm it lacks (under the file lock, so
        that two processes starting at once agree on one key per algorithm)."""
        with self._writing():
            keys = _read_or_empty(self._path)
            missing = self._missing_algorithms(keys)
            if missing:
                now = utc_now()
                _write_private(self._path, [*keys, *(new_key(alg, now) for alg in missing)])

    def current(self, alg: str = DEFAULT_ALGORITHM) -> SigningKey:
        keys = [key for key in self._load() if key.retired_at is None and key.alg == alg]
        if not keys:
            raise RuntimeError(f"no current {alg} signing key in {self._path}")
        return keys[-1]

    def current_keys(self) -> list[SigningKey]:
        """The key that signs, for each algorithm."""
        return [self.current(alg) for alg in ALGORITHMS]

    def signing_set(self, alg: str = DEFAULT_ALGORITHM) -> KeySet:
        """The current private key of `alg` alone: joserfc puts its kid in the token header."""
        return KeySet([self.current(alg).key])

    def published(self, now: datetime | None = None) -> list[SigningKey]:
        moment = now or utc_now()
        return [key for key in self._load() if self._is_published(key, moment)]

    def _is_published(self, key: SigningKey, moment: datetime) -> bool:
        return key.retired_at is None or key.retired_at + self._published_after_retirement > moment

    def read_own_token(self, token: str, issuer: str) -> dict[str, Any] | None:
        """The claims of a JWT this ring signed (a published key, RS256 or ES256) for
        `issuer`, expired or not (an ID token hint may be); None for anything else."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        try:
            decoded = jwt.decode(
                token, KeySet.import_key_set(self.jwks()), algorithms=list(ALGORITHMS)
            )
        except (JoseError, ValueError, TypeError):
            return None
        claims = dict(decoded.claims)
        return claims if claims.get("iss") == issuer else None

    def jwks(self, now: datetime | None = None) -> dict[str, Any]:
        return {"keys": [key.key.as_dict(private=False) for key in self.published(now)]}

    def rotate(self, now: datetime | None = None) -> list[SigningKey]:
        """A new current key per algorithm; the old ones retire (still published for a while);
        keys whose tokens have all expired are dropped from the file. Returns the new keys."""
        moment = now or utc_now()
        self._load()  # created, with a key per algorithm
        with self._writing():
            kept = [
                key if key.retired_at is not None else SigningKey(key.key, key.created_at, moment)
                for key in _read(self._path)
                if self._is_published(key, moment)
            ]
            fresh = [new_key(alg, moment) for alg in ALGORITHMS]
            _write_private(self._path, [*kept, *fresh])
        return fresh


def _read_or_empty(path: Path) -> list[SigningKey]:
    return _read(path) if path.exists() else []
