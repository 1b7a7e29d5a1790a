"""The request and response bodies of the JSON API (/api/v1), in one place."""

from datetime import datetime

from pydantic import BaseModel, Field

from face_auth.business_val.face.service import FaceDecision
from face_auth.entity import User
from face_auth.face_pipeline import FrameResult
from face_auth.face_pipeline.liveness import LivenessResult


class RegistrationIn(BaseModel):
    name: str = Field(max_length=1000)
    username: str = Field(max_length=1000)
    email: str = Field(max_length=1000)
    phone: str = Field(max_length=1000)
    password: str = Field(max_length=1000)
    password_confirm: str = Field(max_length=1000)


class LoginIn(BaseModel):
    email: str = Field(max_length=1000)
    password: str = Field(max_length=1000)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(max_length=1000)
    new_password: str = Field(max_length=1000)
    new_password_confirm: str = Field(max_length=1000)


class AccountDeleteIn(BaseModel):
    password: str = Field(max_length=1000)


class ReauthenticateIn(BaseModel):
    password: str = Field(max_length=1000)


class StepUpOut(BaseModel):
    """`next`: `application` (this session may now change factors) or `verify_face` (a new
    password-only session: verify the face to get a freshly authenticated full session)."""

    next: str
    redirect: str


class UserOut(BaseModel):
    id: str
    name: str
    username: str
    email: str
    phone: str
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls(**user.model_dump(exclude={"password_hash"}))


class RegisteredOut(UserOut):
    """`email_verification_required`: a link was mailed to the address; signing in answers
    403 `email_not_verified` until it is opened (mail on only, docs/mail.md)."""

    email_verification_required: bool


class EmailIn(BaseModel):
    email: str = Field(max_length=1000)


class LinkRequestedOut(BaseModel):
    """The same for every address, known or not."""

    message: str


class PasswordResetIn(BaseModel):
    token: str = Field(max_length=200)
    new_password: str = Field(max_length=1000)
    new_password_confirm: str = Field(max_length=1000)


class PasswordResetOut(BaseModel):
    """No session is issued: sign in with the new password (`next: login`), then the face."""

    sessions_ended: int
    next: str
    redirect: str


class EmailVerifyIn(BaseModel):
    token: str = Field(max_length=200)


class UserRefOut(BaseModel):
    """All a password-only session may read: it opens only the face step."""

    id: str


class SessionOut(BaseModel):
    next: str
    factors: list[str]
    expires_at: datetime


class MeOut(BaseModel):
    user: UserOut | UserRefOut
    factors: list[str]
    has_face_template: bool
    recovery_codes_left: int
    next: str
    session_expires_at: datetime


class CsrfOut(BaseModel):
    csrf_token: str


class ApplicationOut(BaseModel):
    user: UserOut
    factors: list[str]


class CodeIn(BaseModel):
    code: str = Field(max_length=100)


class CodeUsedOut(BaseModel):
    next: str
    redirect: str
    recovery_codes_left: int


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]


def frames_body(frames: list[FrameResult]) -> list[dict[str, object]]:
    return [
        {"index": f.index, "accepted": f.accepted, "reason_code": str(f.reason_code),
         "reason": f.reason}
        for f in frames
    ]  # fmt: skip


def liveness_body(result: LivenessResult) -> dict[str, object]:
    """Which liveness checks passed, never their scores (those go to the audit log): a score
    would guide an attacker's search."""
    return {
        "passed": result.passed,
        "reason_code": str(result.code),
        "reason": result.message,
        "action": None if result.action is None else str(result.action),
        "checks": [{"check": c.name, "passed": c.passed} for c in result.checks],
    }


def face_decision_body(decision: FaceDecision) -> dict[str, object]:
    """An enrollment or verification outcome as the API answers it (`result` of a refusal):
    per frame, the score and threshold of a match only, the recovery codes shown once, and
    why a refusal was made."""
    body: dict[str, object] = {
        "accepted": decision.accepted,
        "frames_used": decision.frames_used,
        "frames_required": decision.frames_required,
        "frames": frames_body(decision.frames),
    }
    if decision.accepted and decision.similarity is not None:
        body["similarity"] = round(decision.similarity, 4)
        body["threshold"] = decision.threshold
    if decision.recovery_codes is not None:
        body["recovery_codes"] = decision.recovery_codes
    if decision.reason is not None:
        body["reason"] = decision.reason
    if decision.liveness is not None:
        body["liveness"] = liveness_body(decision.liveness)
    return body
