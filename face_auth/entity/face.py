"""What the face step's limits and one-time codes store."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class FaceAttempts(BaseModel):
    """An account's consecutive face failures across password logins. `failures` counts a
    comparison from the moment it is reserved (a success resets it); `version` makes every
    change a compare-and-swap."""

    model_config = ConfigDict(frozen=True)

    failures: int = 0
    held_until: datetime | None = None
    version: int = 0


class SessionFaceState(BaseModel):
    """The face-step state of one live session record."""

    model_config = ConfigDict(frozen=True)

    face_attempts: int = 0
    # How this password-only session was allowed to put a face on the account, if it was:
    # "recovery_code" or "enrollment_code".
    enrollment_authorized_by: str | None = None


class CodeStatus(BaseModel):
    """An account's one-time codes, as counts and dates (never the codes or their hashes)."""

    model_config = ConfigDict(frozen=True)

    recovery_codes_left: int = 0
    recovery_codes_issued_at: datetime | None = None
    enrollment_code_expires_at: datetime | None = None
