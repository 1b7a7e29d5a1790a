"""One-time codes that let the owner put a face on the account without passing the face step:
recovery codes (shown once at first enrollment) and an administrator's enrollment code.

Codes carry 120 random bits, so a plain SHA-256 is enough to store them (NIST SP 800-63B
5.1.2.2: look-up secrets of at least 112 bits may be hashed with an approved one-way function;
shorter ones would need a salted, slow KDF). No code is ever stored, logged or audited.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from face_auth.business_val.observer import AuthObserver, NullObserver
from face_auth.data_access import AuditRepository
from face_auth.data_access.recovery_code_repository import RecoveryCodeRepository
from face_auth.entity import CodeStatus
from face_auth.logger import get_logger, log_event
from face_auth.utils import utc_now

logger = get_logger(__name__)

# Crockford's base32: no I, L, O or U, so nothing reads as something else.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_CHARS = 24  # 5 bits each: 120 bits
GROUP_CHARS = 4
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})

RECOVERY_CODE = "recovery_code"
ENROLLMENT_CODE = "enrollment_code"


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_CHARS))
    return "-".join(raw[i : i + GROUP_CHARS] for i in range(0, CODE_CHARS, GROUP_CHARS))


def normalise_code(code: str) -> str | None:
    """The code's characters as issued (case, dashes and spaces ignored), or None if it cannot
    be one of ours."""
    text = code.upper().translate(_LOOKALIKES).replace("-", "").replace(" ", "")
    if len(text) != CODE_CHARS or any(char not in ALPHABET for char in text):
        return None
    return text


def code_hash(normalised: str) -> str:
    return hashlib.sha256(f"face_auth-code:{normalised}".encode()).hexdigest()


@dataclass(frozen=True)
class EnrollmentCode:
    code: str
    expires_at: datetime


class OneTimeCodes:
    def __init__(
        self,
        codes: RecoveryCodeRepository,
        audit: AuditRepository,
        recovery_code_count: int,
        observer: AuthObserver | None = None,
    ) -> None:
        self._codes = codes
        self._audit = audit
        self._count = recovery_code_count
        self._observer = observer or NullObserver()

    def status(self, user_id: str) -> CodeStatus:
        return self._codes.status(user_id, utc_now())

    def issue_first(self, user_id: str) -> list[str] | None:
        """The account's first recovery codes, or None if it had codes before."""
        codes = [new_code() for _ in range(self._count)]
        if not self._codes.issue_first(user_id, self._hashes(codes), utc_now()):
            return None
        self._issued(user_id, "first_enrollment")
        return codes

    def regenerate(self, user_id: str) -> list[str]:
        """A new set; every earlier code stops working."""
        codes = [new_code() for _ in range(self._count)]
        self._codes.replace(user_id, self._hashes(codes), utc_now())
        self._issued(user_id, "regenerated")
        return codes

    def issue_enrollment_code(self, user_id: str, lifetime: timedelta) -> EnrollmentCode:
        code, expires_at = new_code(), utc_now() + lifetime
        normalised = normalise_code(code)
        assert normalised is not None
        self._codes.set_enrollment_code(user_id, code_hash(normalised), expires_at)
        self._audit.record("enrollment_code_issued", utc_now(), user_id, expires_at=expires_at)
        log_event(logger, "enrollment_code_issued", user_id=user_id)
        self._observer.security_event("enrollment_code_issued")
        return EnrollmentCode(code, expires_at)

    def use(self, user_id: str, code: str) -> str | None:
        """Burn the code if it is one of the account's: which kind it was, or None."""
        normalised = normalise_code(code)
        if normalised is not None:
            hashed = code_hash(normalised)
            if self._codes.use_recovery_code(user_id, hashed):
                return self._used(user_id, RECOVERY_CODE)
            if self._codes.use_enrollment_code(user_id, hashed, utc_now()):
                return self._used(user_id, ENROLLMENT_CODE)
        self._audit.record("code_refused", utc_now(), user_id)
        log_event(logger, "code_refused", user_id=user_id)
        self._observer.security_event("code_refused")
        return None

    def _hashes(self, codes: list[str]) -> list[str]:
        return [code_hash(normalise_code(code) or "") for code in codes]

    def _issued(self, user_id: str, reason: str) -> None:
        self._audit.record("recovery_codes_issued", utc_now(), user_id, reason=reason,
                           count=self._count)  # fmt: skip
        log_event(logger, "recovery_codes_issued", user_id=user_id, reason=reason)
        self._observer.security_event("recovery_codes_issued")

    def _used(self, user_id: str, kind: str) -> str:
        left = self._codes.status(user_id, utc_now()).recovery_codes_left
        self._audit.record(f"{kind}_used", utc_now(), user_id, recovery_codes_left=left)
        log_event(logger, f"{kind}_used", user_id=user_id, recovery_codes_left=left)
        self._observer.security_event(f"{kind}_used")
        return kind
