"""Domain errors. app.py maps each class to an HTTP response in one place.

Each error carries a stable machine `code` and a `message` safe to show to users.
"""

from collections.abc import Mapping


class FaceAuthError(Exception):
    code = "error"
    message = "Something went wrong."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message


class InvalidInput(FaceAuthError):
    """One or more fields are wrong; `fields` maps field name to its message."""

    code = "invalid_input"
    message = "Please correct the highlighted fields."

    def __init__(self, fields: Mapping[str, str], message: str | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields)


class AccountExists(FaceAuthError):
    code = "account_exists"
    message = "An account with this email or username already exists."


class InvalidCredentials(FaceAuthError):
    code = "invalid_credentials"
    message = "Email or password is incorrect."


class NotAuthenticated(FaceAuthError):
    code = "not_authenticated"
    message = "Please sign in."


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
    message = "Your session is invalid or has expired. Please sign in again."


class FactorRequired(FaceAuthError):
    """The session is valid but lacks a factor; `next_step` says which step comes next."""

    code = "factor_required"
    message = "Another sign-in step is required."

    def __init__(self, next_step: str, message: str | None = None) -> None:
        super().__init__(message)
        self.next_step = next_step


class AccountLocked(FaceAuthError):
    """Too many failed password attempts for this email or from this client: wait
    `retry_after` seconds."""

    code = "too_many_attempts"
    message = "Too many failed sign-in attempts. Try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        retry = f"Too many failed sign-in attempts. Try again in {retry_after} seconds."
        super().__init__(message or retry)
        self.retry_after = max(1, retry_after)


class CsrfFailed(FaceAuthError):
    code = "csrf_failed"
    message = "The form has expired or was not sent from this site. Reload the page and retry."


class DatabaseUnavailable(FaceAuthError):
    code = "database_unavailable"
    message = "The service is temporarily unavailable. Please try again shortly."


class NotFound(FaceAuthError):
    code = "not_found"
    message = "Not found."


class UnsupportedMediaType(FaceAuthError):
    code = "unsupported_media_type"
    message = "Send the frames as multipart/form-data (parts named 'frames') or as JSON images."


class PayloadTooLarge(FaceAuthError):
    code = "payload_too_large"
    message = "The upload is too large."


class FaceRejected(FaceAuthError):
    """Not enough usable frames; `result` is the structured outcome, per frame."""

    code = "face_rejected"
    message = "Not enough frames showed one clear face."

    def __init__(self, result: Mapping[str, object], message: str | None = None) -> None:
        super().__init__(message)
        self.result = dict(result)


class FaceMismatch(FaceRejected):
    code = "face_mismatch"
    message = "The face does not match the enrolled face."


class LivenessFailed(FaceRejected):
    """The frames did not show a live face doing what was asked; `result` says which check
    failed (its reason code) and the message says what to do."""

    code = "liveness_failed"
    message = "The pictures did not show a live face."


class ChallengeRefused(FaceAuthError):
    """The liveness challenge nonce is missing, unknown, expired, used already or belongs to
    another session; `code` says which."""

    code = "challenge_required"
    message = "Ask for a new challenge (POST /api/v1/face/challenge) and capture again."

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class TooManyAttempts(NotAuthenticated):
    code = "too_many_attempts"
    message = "Too many failed face checks. Sign in with your password again."


class ServiceBusy(FaceAuthError):
    code = "busy"
    message = "The service is busy. Please try again in a few seconds."


class FaceHeld(FaceAuthError):
    """Too many consecutive face failures on this account: the face step waits `retry_after`
    seconds (for everyone, the right face included)."""

    code = "face_held"
    message = "Too many failed face checks on this account. Try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class EnrollmentCodeRequired(FaceAuthError):
    """Putting a face on this account needs a recovery code or an administrator's code."""

    code = "enrollment_code_required"
    message = (
        "To enroll a face on this account, enter one of your recovery codes or an enrollment "
        "code from your administrator."
    )


class InvalidCode(FaceAuthError):
    code = "invalid_code"
    message = "This code is not valid. It may have been used already or have expired."


class TemplateOutdated(FaceAuthError):
    """The stored template was made by another model or preprocessing version."""

    code = "enroll_again"
    message = (
        "Your face template was made by an older version of the face model and cannot be "
        "compared. Enroll your face again (a recovery code lets you do so)."
    )
