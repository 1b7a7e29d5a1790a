"""Names shared across layers: cookie names, token factors, collection names."""

from typing import Final

APP_NAME: Final = "face_auth"

ACCESS_COOKIE: Final = "access_token"
CSRF_COOKIE: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"
CSRF_FORM_FIELD: Final = "csrf_token"

FACTOR_PASSWORD: Final = "pwd"  # noqa: S105 - a factor name (RFC 8176 amr), not a password
FACTOR_FACE: Final = "face"

NEXT_ENROLL_FACE: Final = "enroll_face"
NEXT_VERIFY_FACE: Final = "verify_face"
NEXT_LOGIN: Final = "login"
NEXT_APPLICATION: Final = "application"
# Enrollment needs a recovery code or an administrator's enrollment code first.
NEXT_ENROLLMENT_CODE: Final = "enrollment_code"

USERS_COLLECTION: Final = "users"
EMBEDDINGS_COLLECTION: Final = "embeddings"
SESSIONS_COLLECTION: Final = "sessions"
AUDIT_COLLECTION: Final = "audit"
LOGIN_ATTEMPTS_COLLECTION: Final = "login_attempts"
FACE_ATTEMPTS_COLLECTION: Final = "face_attempts"
RECOVERY_CODES_COLLECTION: Final = "recovery_codes"

PASSWORD_MIN_CHARS: Final = 8
PASSWORD_MAX_CHARS: Final = 64
BCRYPT_MAX_BYTES: Final = 72
