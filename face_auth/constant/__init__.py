"""Names shared across layers: cookie names, token factors, collection names."""

from typing import Final, Literal

ACCESS_COOKIE: Final = "access_token"
CSRF_COOKIE: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"
CSRF_FORM_FIELD: Final = "csrf_token"
# Where the sign-in continues after the face step: an OpenID Connect authorization request.
RETURN_TO_COOKIE: Final = "return_to"

# The service's own names, refused inside passwords (business_val/password/hashing.py).
SERVICE_NAMES: Final = ("face_auth", "faceauth", "face-auth", "face auth")

FACTOR_PASSWORD: Final = "pwd"  # noqa: S105 - a factor name (RFC 8176 amr), not a password
FACTOR_FACE: Final = "face"

NEXT_ENROLL_FACE: Final = "enroll_face"
NEXT_VERIFY_FACE: Final = "verify_face"
NEXT_LOGIN: Final = "login"
NEXT_APPLICATION: Final = "application"
# A factor change on a session whose sign-in is older than the recent-auth window.
NEXT_REAUTHENTICATE: Final = "reauthenticate"
# Enrollment needs a recovery code or an administrator's enrollment code first.
NEXT_ENROLLMENT_CODE: Final = "enrollment_code"

# The pages the mailed links open (a link carries `?token=`).
RESET_PASSWORD_PATH: Final = "/auth/reset-password"  # noqa: S105 - a page, not a password
VERIFY_EMAIL_PATH: Final = "/auth/verify-email"

USERS_COLLECTION: Final = "users"
EMBEDDINGS_COLLECTION: Final = "embeddings"
SESSIONS_COLLECTION: Final = "sessions"
AUDIT_COLLECTION: Final = "audit"
LOGIN_ATTEMPTS_COLLECTION: Final = "login_attempts"
FACE_ATTEMPTS_COLLECTION: Final = "face_attempts"
RECOVERY_CODES_COLLECTION: Final = "recovery_codes"
# Liveness: single-use challenge nonces (TTL ~60 s) and the perceptual hashes of recently
# submitted frames (TTL: the replay window).
FACE_CHALLENGES_COLLECTION: Final = "face_challenges"
FRAME_HASHES_COLLECTION: Final = "face_frame_hashes"
# Per-user data keys (wrapped by the master key) that encrypt the face templates.
DATA_KEYS_COLLECTION: Final = "data_keys"
# Identify mode: registered kiosks (secrets stored hashed), their per-minute request counts
# (TTL), and the gallery's version counter that replicas check before each search.
KIOSKS_COLLECTION: Final = "kiosks"
KIOSK_REQUESTS_COLLECTION: Final = "kiosk_requests"
IDENTIFY_GALLERY_COLLECTION: Final = "identify_gallery"
# OpenID Connect provider: registered clients, authorization codes, access tokens, and the
# applications each user has consented to.
OAUTH_CLIENTS_COLLECTION: Final = "oauth_clients"
OAUTH_CODES_COLLECTION: Final = "oauth_codes"
OAUTH_TOKENS_COLLECTION: Final = "oauth_tokens"
OAUTH_REFRESH_TOKENS_COLLECTION: Final = "oauth_refresh_tokens"
OAUTH_GRANTS_COLLECTION: Final = "oauth_grants"
# Single-use links mailed for a password reset or an email verification (SHA-256 hashes only;
# removed by TTL once expired).
EMAIL_TOKENS_COLLECTION: Final = "email_tokens"

PASSWORD_MIN_CHARS: Final = 8
PASSWORD_MAX_CHARS: Final = 64
BCRYPT_MAX_BYTES: Final = 72

# FaceNet's engine: ONNX Runtime (the app's) or TensorFlow (the reference it must agree with).
EmbedderKind = Literal["onnx", "tensorflow"]
# What runs the landmark model with the "onnx" engine: LiteRT (the pinned .tflite itself) or
# ONNX Runtime (its conversion).
LandmarkRuntime = Literal["litert", "onnx"]
# What runs MTCNN's three networks with the "onnx" engine: LiteRT (their TFLite conversions)
# or ONNX Runtime (their ONNX conversions); both made at install from the same weights.
DetectorRuntime = Literal["litert", "onnx"]
