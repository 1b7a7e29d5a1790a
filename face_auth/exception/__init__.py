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
    code = "too_many_attempts"
    message = "Too many failed sign-in attempts for this email. Try again later."


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


class TooManyAttempts(NotAuthenticated):
    code = "too_many_attempts"
    message = "Too many failed face checks. Sign in with your password again."


class ServiceBusy(FaceAuthError):
    code = "busy"
    message = "The service is busy. Please try again in a few seconds."
