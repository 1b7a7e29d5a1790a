"""Domain errors. app.py maps each class to an HTTP response in one place.

Each error carries a stable machine `code` and a `message` safe to show to users.
"""

from collections.abc import Mapping
from enum import StrEnum


class ErrorCode(StrEnum):
    """Every machine code the service answers with: one list, so no two errors share one."""

    ERROR = "error"
    INVALID_INPUT = "invalid_input"
    ACCOUNT_EXISTS = "account_exists"
    INVALID_CREDENTIALS = "invalid_credentials"
    NOT_AUTHENTICATED = "not_authenticated"
    INVALID_TOKEN = "invalid_token"  # noqa: S105 - an error code, not a secret
    FACTOR_REQUIRED = "factor_required"
    ACCOUNT_DISABLED = "account_disabled"
    REAUTHENTICATION_REQUIRED = "reauthentication_required"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    CSRF_FAILED = "csrf_failed"
    DATABASE_UNAVAILABLE = "database_unavailable"
    NOT_FOUND = "not_found"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    FACE_REJECTED = "face_rejected"
    FACE_MISMATCH = "face_mismatch"
    LIVENESS_FAILED = "liveness_failed"
    CHALLENGE_REQUIRED = "challenge_required"
    FACE_TRIES_SPENT = "face_tries_spent"
    BUSY = "busy"
    FACE_HELD = "face_held"
    ENROLLMENT_CODE_REQUIRED = "enrollment_code_required"
    INVALID_CODE = "invalid_code"
    ENROLL_AGAIN = "enroll_again"
    CHALLENGE_UNKNOWN = "challenge_unknown"
    CHALLENGE_NOT_YOURS = "challenge_not_yours"
    CHALLENGE_USED = "challenge_used"
    CHALLENGE_EXPIRED = "challenge_expired"
    CHALLENGES_SPENT = "challenges_spent"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    INVALID_LINK = "invalid_link"
    TOO_MANY_LINK_REQUESTS = "too_many_link_requests"
    KIOSK_REQUIRED = "kiosk_required"
    KIOSK_RATE_LIMITED = "kiosk_rate_limited"
    IDENTIFY_CONSENT_NEEDS_FACE = "identify_consent_needs_face"


class FaceAuthError(Exception):
    code: str = ErrorCode.ERROR
    message = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class InvalidInput(FaceAuthError):
    """One or more fields are wrong; `fields` maps field name to its message."""

    code: str = ErrorCode.INVALID_INPUT
    message = "Please correct the highlighted fields."

    def __init__(self, fields: Mapping[str, str], message: str | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields)


class AccountExists(FaceAuthError):
    code: str = ErrorCode.ACCOUNT_EXISTS
    message = "An account with this email or username already exists."


class InvalidCredentials(FaceAuthError):
    code: str = ErrorCode.INVALID_CREDENTIALS
    message = "Email or password is incorrect."


class NotAuthenticated(FaceAuthError):
    code: str = ErrorCode.NOT_AUTHENTICATED
    message = "Please sign in."


class InvalidToken(NotAuthenticated):
    code: str = ErrorCode.INVALID_TOKEN
    message = "Your session is invalid or has expired. Please sign in again."


class FactorRequired(FaceAuthError):
    """The session is valid but lacks a factor; `next_step` says which step comes next."""

    code: str = ErrorCode.FACTOR_REQUIRED
    message = "Another sign-in step is required."

    def __init__(self, next_step: str, message: str | None = None) -> None:
        super().__init__(message)
        self.next_step = next_step


class ReauthenticationRequired(FactorRequired):
    """A factor change (face, recovery codes, password, account deletion, a new application's
    consent) needs a sign-in within the recent-auth window: confirm the password again (and
    the face where the account has one)."""

    code: str = ErrorCode.REAUTHENTICATION_REQUIRED
    message = "For this change, confirm it is you: enter your password again."

    def __init__(self, next_step: str, message: str | None = None) -> None:
        super().__init__(next_step, message)


class AccountLocked(FaceAuthError):
    """Too many failed password attempts for this email or from this client: wait
    `retry_after` seconds."""

    code: str = ErrorCode.TOO_MANY_ATTEMPTS
    message = "Too many failed sign-in attempts. Try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        retry = f"Too many failed sign-in attempts. Try again in {retry_after} seconds."
        super().__init__(message or retry)
        self.retry_after = max(1, retry_after)


class AccountDisabled(FaceAuthError):
    """An administrator locked the account (`face-auth users lock`); told only to someone who
    gave its right password."""

    code: str = ErrorCode.ACCOUNT_DISABLED
    message = "This account is locked. Contact your administrator."


class CsrfFailed(FaceAuthError):
    code: str = ErrorCode.CSRF_FAILED
    message = "The form has expired or was not sent from this site. Reload the page and retry."


class DatabaseUnavailable(FaceAuthError):
    code: str = ErrorCode.DATABASE_UNAVAILABLE
    message = "The service is temporarily unavailable. Please try again shortly."


class NotFound(FaceAuthError):
    code: str = ErrorCode.NOT_FOUND
    message = "Not found."


class UnsupportedMediaType(FaceAuthError):
    code: str = ErrorCode.UNSUPPORTED_MEDIA_TYPE
    message = "Send the frames as multipart/form-data (parts named 'frames') or as JSON images."


class PayloadTooLarge(FaceAuthError):
    code: str = ErrorCode.PAYLOAD_TOO_LARGE
    message = "The upload is too large."


class FaceRejected(FaceAuthError):
    """Not enough usable frames; `decision` is the rules' structured outcome, per frame
    (business_val.face.service.FaceDecision; controller/schemas shapes it as JSON)."""

    code: str = ErrorCode.FACE_REJECTED
    message = "Not enough frames showed one clear face."

    def __init__(self, decision: object, message: str | None = None) -> None:
        super().__init__(message)
        self.decision = decision
        # What the controller adds for the page's next move (tries left, a hold's seconds).
        self.follow_up: dict[str, object] = {}


class FaceMismatch(FaceRejected):
    code: str = ErrorCode.FACE_MISMATCH
    message = "The face does not match the enrolled face."


class LivenessFailed(FaceRejected):
    """The frames did not show a live face doing what was asked; `result` says which check
    failed (its reason code) and the message says what to do."""

    code: str = ErrorCode.LIVENESS_FAILED
    message = "The pictures did not show a live face."


class ChallengeRefused(FaceAuthError):
    """The liveness challenge nonce is missing, unknown, expired, used already or belongs to
    another session; `code` says which."""

    code: str = ErrorCode.CHALLENGE_REQUIRED
    message = "Ask for a new challenge (POST /api/v1/face/challenge) and capture again."

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class TooManyAttempts(NotAuthenticated):
    """This password session has spent its face tries: sign in with the password again."""

    code: str = ErrorCode.FACE_TRIES_SPENT
    message = "Too many failed face checks. Sign in with your password again."


class ChallengesSpent(TooManyAttempts):
    """This password session asked for all the liveness challenges it may: the action cannot
    be re-rolled until it suits the attacker's pictures."""

    code: str = ErrorCode.CHALLENGES_SPENT
    message = "Too many liveness challenges for this sign-in. Sign in with your password again."


class ServiceBusy(FaceAuthError):
    code: str = ErrorCode.BUSY
    message = "The service is busy. Please try again in a few seconds."


class FaceHeld(FaceAuthError):
    """Too many consecutive face failures on this account: the face step waits `retry_after`
    seconds (for everyone, the right face included)."""

    code: str = ErrorCode.FACE_HELD
    message = "Too many failed face checks on this account. Try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class EnrollmentCodeRequired(FaceAuthError):
    """Putting a face on this account needs a recovery code or an administrator's code."""

    code: str = ErrorCode.ENROLLMENT_CODE_REQUIRED
    message = (
        "To enroll a face on this account, enter one of your recovery codes or an enrollment "
        "code from your administrator."
    )


class InvalidCode(FaceAuthError):
    code: str = ErrorCode.INVALID_CODE
    message = "This code is not valid. It may have been used already or have expired."


class TemplateOutdated(FaceAuthError):
    """The stored template was made by another model or preprocessing version."""

    code: str = ErrorCode.ENROLL_AGAIN
    message = (
        "Your face template was made by an older version of the face model and cannot be "
        "compared. Enroll your face again (a recovery code lets you do so)."
    )


class EmailNotVerified(FaceAuthError):
    """The password was right, but the account's email address is not verified yet: the link
    mailed at registration must be opened first (a new one can be asked for)."""

    code: str = ErrorCode.EMAIL_NOT_VERIFIED
    message = (
        "Confirm your email address first: open the link we sent you when you registered. "
        "No mail? Ask for a new link."
    )


class InvalidLink(FaceAuthError):
    """A password reset or email verification link that is unknown, used already or expired
    (which of these is not said)."""

    code: str = ErrorCode.INVALID_LINK
    message = "This link is not valid: it may have expired or been used already. Ask for a new one."


class TooManyLinkRequests(AccountLocked):
    """Too many password reset or verification mails asked for this address or from this
    client: wait `retry_after` seconds."""

    code: str = ErrorCode.TOO_MANY_LINK_REQUESTS

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        wait = f"Too many requests for a link. Try again in {max(1, retry_after)} seconds."
        super().__init__(retry_after, message or wait)


class KioskRequired(NotAuthenticated):
    """Identify calls authenticate a registered kiosk (`Authorization: Bearer <kiosk token>`,
    from `face-auth kiosks add`); a user's session is not one."""

    code: str = ErrorCode.KIOSK_REQUIRED
    message = "Identify calls need a kiosk's bearer token (face-auth kiosks add)."


class KioskRateLimited(FaceHeld):
    """This kiosk made too many identify calls this minute: wait `retry_after` seconds."""

    code: str = ErrorCode.KIOSK_RATE_LIMITED
    message = "Too many identify calls from this kiosk. Try again shortly."


class IdentifyConsentNeedsFace(FaceAuthError):
    """Opting in to identify mode needs an enrolled, usable face template."""

    code: str = ErrorCode.IDENTIFY_CONSENT_NEEDS_FACE
    message = "Enroll your face before letting kiosks recognise you."
